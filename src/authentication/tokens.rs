//! Buyer tokens: the JWT a buyer sends as `Authorization: Bearer <token>`,
//! which says who the buyer is (the HTTP edge's `Buyer` extractor checks
//! it; nothing in a request body does).
//!
//! Two kinds of key, each found by the token's `kid` and each pinned to one
//! algorithm, so a token cannot choose how it is checked (`alg: none`, or an
//! HS256 token "signed" with an RSA public key, finds no key that accepts it):
//! - the embedded issuer's HS256 keys (`FLASHBOOK_TOKEN_KEYS`,
//!   `kid:secret,...`): the first signs (`POST /sessions`, the seed), all
//!   verify, so a key is rotated by putting the new one first and removing
//!   the old one once its tokens have expired;
//! - an external OIDC provider's public keys (`FLASHBOOK_TOKEN_JWKS_FILE`, a
//!   JWKS document of RS256 and ES256 keys), verify only.
//!
//! Every token needs `exp`, `iss` (`FLASHBOOK_TOKEN_ISSUER`), `aud`
//! (`FLASHBOOK_TOKEN_AUDIENCE`) and the claim [`USER_CLAIM`], the flashbook
//! user id: an external provider adds it to its tokens (a claim mapper from
//! the user's attribute), so no request needs a database round trip to learn
//! who its buyer is. Verifying is one header parse, one map lookup and one
//! HMAC (or signature) check: cheap enough for every booking.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claim that carries the flashbook user id (a positive integer).
pub const USER_CLAIM: &str = "flashbook_user_id";

/// One HS256 key of the embedded issuer. `Debug` never prints the secret.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    secret: Vec<u8>,
}

impl SigningKey {
    pub fn new(kid: String, secret: Vec<u8>) -> Self {
        Self { kid, secret }
    }

    /// A random key for a process started without `FLASHBOOK_TOKEN_KEYS`.
    pub fn generate() -> Self {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Self::new("generated".to_owned(), secret.into_bytes())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}: <redacted>)", self.kid)
    }
}

/// What the token settings say (`crate::configuration` reads them).
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The embedded issuer's keys, the signing one first; `None` makes
    /// start-up generate one.
    pub keys: Option<Vec<SigningKey>>,
    /// An external provider's JWKS document (its public keys).
    pub jwks_file: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
    /// How long a token the embedded issuer signs stays valid.
    pub lifetime: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the JWKS file {path}")]
    JwksFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the JWKS file {path} is not a JWKS document")]
    JwksDocument {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("JWKS key {kid:?}: {reason}")]
    JwksKey { kid: String, reason: String },
    #[error("the embedded issuer needs at least one key")]
    NoSigningKey,
    #[error("key id {0:?} is used twice")]
    DuplicateKid(String),
    #[error("cannot sign a token")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Why a presented token was refused; all are a `401` to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the request has more than one Authorization header")]
    SeveralAuthorizations,
    #[error("the token has no kid")]
    MissingKid,
    #[error("the token's kid names no key of this service")]
    UnknownKid,
    #[error("the token's alg is not its key's")]
    WrongAlgorithm,
    #[error("the token's signature is not valid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (its nbf is still to come)")]
    NotYetValid,
    #[error("the token's issuer or audience is not this service's")]
    WrongIssuerOrAudience,
    #[error("the token lacks a claim it needs (exp, iss, aud, flashbook_user_id)")]
    MissingClaim,
}

/// A key that verifies, with the one algorithm it accepts.
struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

/// The claims the embedded issuer writes.
#[derive(Serialize)]
struct IssuedClaims<'a> {
    sub: String,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    flashbook_user_id: i64,
}

/// The one claim read from a verified token (`exp`, `iss` and `aud` are
/// checked by the validation).
#[derive(Deserialize)]
struct UserClaim {
    flashbook_user_id: i64,
}

/// A token signed for a buyer.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Signs and verifies buyer tokens. Built once at start-up.
pub struct Tokens {
    signing_kid: String,
    signing_key: EncodingKey,
    verifiers: HashMap<String, Verifier>,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl Tokens {
    /// The keys of `settings`: `keys` (the embedded issuer's; at least one)
    /// and the JWKS file's, read now.
    pub fn new(settings: &TokenSettings, keys: &[SigningKey]) -> Result<Self, TokenError> {
        let signing = keys.first().ok_or(TokenError::NoSigningKey)?;
        let mut verifiers = HashMap::new();
        let mut add =
            |kid: String, verifier: Verifier| match verifiers.insert(kid.clone(), verifier) {
                Some(_) => Err(TokenError::DuplicateKid(kid)),
                None => Ok(()),
            };
        for key in keys {
            let validation = validation(Algorithm::HS256, settings);
            let decoding = DecodingKey::from_secret(&key.secret).map_err(TokenError::Signing)?;
            add(
                key.kid.clone(),
                Verifier {
                    key: decoding,
                    validation,
                },
            )?;
        }
        if let Some(path) = &settings.jwks_file {
            for (kid, verifier) in read_jwks(path, settings)? {
                add(kid, verifier)?;
            }
        }
        Ok(Self {
            signing_kid: signing.kid.clone(),
            signing_key: EncodingKey::from_secret(&signing.secret).map_err(TokenError::Signing)?,
            verifiers,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            lifetime: settings.lifetime,
        })
    }

    /// A token for `user_id`, valid for the configured lifetime.
    pub fn issue(&self, user_id: i64) -> Result<IssuedToken, TokenError> {
        let now = unix_now();
        let expires_at = now + self.lifetime.as_secs();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        let claims = IssuedClaims {
            sub: user_id.to_string(),
            iss: &self.issuer,
            aud: &self.audience,
            iat: now,
            exp: expires_at,
            flashbook_user_id: user_id,
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.signing_key)
            .map_err(TokenError::Signing)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// The user id a valid token names.
    pub fn verify(&self, token: &str) -> Result<i64, TokenRefusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRefusal::Malformed)?;
        let kid = header.kid.as_deref().ok_or(TokenRefusal::MissingKid)?;
        let verifier = self.verifiers.get(kid).ok_or(TokenRefusal::UnknownKid)?;
        let data = jsonwebtoken::decode::<UserClaim>(token, &verifier.key, &verifier.validation)
            .map_err(|error| refusal(error.kind()))?;
        match data.claims.flashbook_user_id {
            id if id > 0 => Ok(id),
            _ => Err(TokenRefusal::MissingClaim),
        }
    }
}

/// The checks of a token verified with a key of `algorithm`.
fn validation(algorithm: Algorithm, settings: &TokenSettings) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // A token that says it is not valid yet (an issuer's clock ahead, or a
    // token made for later) is refused until then, within the same leeway.
    validation.validate_nbf = true;
    validation
}

fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> TokenRefusal {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::InvalidSignature => TokenRefusal::BadSignature,
        ErrorKind::ExpiredSignature => TokenRefusal::Expired,
        ErrorKind::ImmatureSignature => TokenRefusal::NotYetValid,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => {
            TokenRefusal::WrongIssuerOrAudience
        }
        ErrorKind::InvalidAlgorithm => TokenRefusal::WrongAlgorithm,
        ErrorKind::MissingRequiredClaim(_) => TokenRefusal::MissingClaim,
        // A claim of the wrong type, a user claim missing: the payload
        // does not deserialise.
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => TokenRefusal::MissingClaim,
        _ => TokenRefusal::Malformed,
    }
}

/// The RS256 and ES256 keys of a JWKS document, each pinned to its `alg`
/// (or to its type's one algorithm when it names none).
fn read_jwks(
    path: &PathBuf,
    settings: &TokenSettings,
) -> Result<Vec<(String, Verifier)>, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokenError::JwksFile {
        path: path.clone(),
        source,
    })?;
    let set: JwkSet = serde_json::from_str(&text).map_err(|source| TokenError::JwksDocument {
        path: path.clone(),
        source,
    })?;
    set.keys
        .iter()
        .map(|jwk| {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| TokenError::JwksKey {
                    kid: String::new(),
                    reason: "every key needs a kid".to_owned(),
                })?;
            let invalid = |reason: &str| TokenError::JwksKey {
                kid: kid.clone(),
                reason: reason.to_owned(),
            };
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => return Err(invalid("only RS256 and ES256 (P-256) keys are accepted")),
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|error| invalid(&error.to_string()))?;
            let verifier = Verifier {
                key,
                validation: validation(algorithm, settings),
            };
            Ok((kid, verifier))
        })
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TokenSettings {
        TokenSettings {
            keys: None,
            jwks_file: None,
            issuer: "flashbook".into(),
            audience: "flashbook".into(),
            lifetime: Duration::from_secs(60),
        }
    }

    fn key(kid: &str) -> SigningKey {
        SigningKey::new(
            kid.into(),
            format!("{kid}-secret-of-at-least-32-bytes!!").into(),
        )
    }

    #[test]
    fn a_token_names_its_user_until_its_key_is_removed() {
        let old = Tokens::new(&settings(), &[key("old")]).unwrap();
        let token = old.issue(42).unwrap().token;
        let rotated = Tokens::new(&settings(), &[key("new"), key("old")]).unwrap();
        assert_eq!(rotated.verify(&token), Ok(42));
        assert_eq!(
            old.verify(&rotated.issue(7).unwrap().token),
            Err(TokenRefusal::UnknownKid)
        );
        let retired = Tokens::new(&settings(), &[key("new")]).unwrap();
        assert_eq!(retired.verify(&token), Err(TokenRefusal::UnknownKid));
    }

    #[test]
    fn another_key_under_the_same_kid_is_a_bad_signature() {
        let forged = SigningKey::new("k".into(), vec![b'x'; 40]);
        let token = Tokens::new(&settings(), &[forged])
            .unwrap()
            .issue(1)
            .unwrap();
        let tokens = Tokens::new(&settings(), &[key("k")]).unwrap();
        assert_eq!(tokens.verify(&token.token), Err(TokenRefusal::BadSignature));
        assert_eq!(tokens.verify("not.a.jwt"), Err(TokenRefusal::Malformed));
        assert!(!format!("{:?}", key("k")).contains("secret"));
    }
}
