//! Buyer identity: sign-up and sign-in, the bearer token that says who the
//! buyer is, and what a buyer may see and change (their own rows only).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, created_id, spawn_app, spawn_app_with, AppOptions, TestApp, ADMIN_TOKEN,
};

const TEST_SECRET: &str = "test-signing-key-of-at-least-32-bytes";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Valid claims for user 1 of the test service, to spoil one at a time.
fn claims() -> Value {
    json!({"iss": "flashbook", "aud": "flashbook", "exp": now() + 600, "flashbook_user_id": 1})
}

/// A token signed with `key` under `kid` and `algorithm`: a forgery unless
/// it is the service's own key.
fn sign(algorithm: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs256(kid: &str, secret: &str, claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        Some(kid),
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        claims,
    )
}

async fn me(app: &TestApp, token: &str) -> Response {
    app.http
        .get(app.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A refused token: `401 invalid_token` with `WWW-Authenticate: Bearer`.
async fn assert_token_refused(app: &TestApp, token: &str, why: &str) {
    let response = me(app, token).await;
    let challenge = response.headers().get("www-authenticate").cloned();
    assert!(
        challenge.is_some_and(|value| value.to_str().unwrap().starts_with("Bearer")),
        "{why}: no Bearer challenge"
    );
    assert_problem(response, 401, "invalid_token").await;
}

#[tokio::test]
async fn sign_up_answers_alike_for_new_and_taken_emails() {
    let app = spawn_app().await;
    let sign_up = |email: &str, name: &str, password: &str| {
        app.post(
            "/users",
            json!({"email": email, "name": name, "password": password}),
        )
    };
    let new = sign_up("Ada@Example.com", "Ada", "first password").await;
    assert_eq!(new.status(), StatusCode::ACCEPTED);
    let new: Value = new.json().await.unwrap();
    let taken = sign_up("ada@example.com", "Mallory", "second password").await;
    assert_eq!(taken.status(), StatusCode::ACCEPTED);
    assert_eq!(taken.json::<Value>().await.unwrap(), new);

    // The account kept its first name and password.
    let session = app
        .post(
            "/sessions",
            json!({"email": "ADA@example.com", "password": "first password"}),
        )
        .await;
    assert_eq!(session.status(), 200);
    let session: Value = session.json().await.unwrap();
    let read: Value = me(&app, session["token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read["email"].as_str(), read["name"].as_str()),
        (Some("ada@example.com"), Some("Ada"))
    );
    assert_eq!(read["id"], session["user_id"]);
    assert!(read.get("password_hash").is_none() && read.get("password").is_none());
    let stolen = app
        .post(
            "/sessions",
            json!({"email": "ada@example.com", "password": "second password"}),
        )
        .await;
    assert_problem(stolen, 401, "invalid_credentials").await;

    for (password, code) in [
        ("short", "invalid_password"),
        (&"x".repeat(129)[..], "invalid_password"),
    ] {
        assert_problem(sign_up("b@example.com", "B", password).await, 422, code).await;
    }
    assert_problem(
        sign_up("nope", "B", "long enough").await,
        422,
        "invalid_field",
    )
    .await;
    let with_id =
        json!({"email": "c@example.com", "name": "C", "password": "long enough", "id": 1});
    assert_problem(app.post("/users", with_id).await, 422, "invalid_body").await;
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let buyer = app.sign_up("known@example.com").await;
    assert_eq!(me(&app, &buyer.token).await.status(), 200);
    let mut answers = Vec::new();
    for (email, password) in [
        ("known@example.com", "not the password"),
        ("unknown@example.com", "a password for tests"),
        ("not an email", "a password for tests"),
        ("known@example.com", "short"),
    ] {
        let response = app
            .post("/sessions", json!({"email": email, "password": password}))
            .await;
        let mut body = assert_problem(response, 401, "invalid_credentials").await;
        body.as_object_mut().unwrap().remove("detail");
        answers.push(body);
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    // Seeded users have no password: no password signs them in.
    let seeded = app.insert_users(1).await[0];
    let email: String = app
        .db()
        .await
        .query_one("SELECT email FROM users WHERE id = $1", &[&seeded])
        .await
        .unwrap()
        .get(0);
    let response = app
        .post(
            "/sessions",
            json!({"email": email, "password": "anything at all"}),
        )
        .await;
    assert_problem(response, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn sign_ups_and_sign_ins_are_rate_limited_per_client() {
    let app = spawn_app_with(AppOptions {
        account_rate_per_minute: Some(3),
        ..AppOptions::default()
    })
    .await;
    for n in 0..2 {
        let body =
            json!({"email": format!("u{n}@example.com"), "name": "U", "password": "long enough"});
        assert_eq!(app.post("/users", body).await.status(), 202);
    }
    let session = json!({"email": "u0@example.com", "password": "long enough"});
    assert_eq!(app.post("/sessions", session.clone()).await.status(), 200);
    let limited = app.post("/sessions", session).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_problem(limited, 429, "too_many_requests").await;
    let body = json!({"email": "u9@example.com", "name": "U", "password": "long enough"});
    assert_problem(app.post("/users", body).await, 429, "too_many_requests").await;
    // Buyers with tokens are not slowed by it.
    let event = app.create_sale(5).await;
    assert_eq!(app.book(event, 1).await.status(), 201);
}

#[tokio::test]
async fn missing_and_invalid_tokens_are_401() {
    let app = spawn_app().await;
    let user = app.insert_users(1).await[0];
    let valid = app.token(user);
    assert_eq!(me(&app, &valid).await.status(), 200);

    let missing = app.get("/me").await;
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_problem(missing, 401, "unauthorized").await;

    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let mut wrong_issuer = claims();
    wrong_issuer["iss"] = json!("someone-else");
    let mut wrong_audience = claims();
    wrong_audience["aud"] = json!("another-service");
    let mut no_user = claims();
    no_user.as_object_mut().unwrap().remove("flashbook_user_id");
    let mut no_expiry = claims();
    no_expiry.as_object_mut().unwrap().remove("exp");
    let mut no_issuer = claims();
    no_issuer.as_object_mut().unwrap().remove("iss");
    let mut not_yet_valid = claims();
    not_yet_valid["nbf"] = json!(now() + 3600);
    let (header, payload, _) = {
        let mut parts = valid.split('.');
        (parts.next().unwrap(), parts.next().unwrap(), ())
    };
    let unsigned_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"test","typ":"JWT"}"#);
    let admin_key = EncodingKey::from_secret(ADMIN_TOKEN.as_bytes()).unwrap();
    for (token, why) in [
        ("garbage".to_owned(), "garbled"),
        (format!("{header}.{payload}.c2lnbmF0dXJl"), "bad signature"),
        (format!("{unsigned_header}.{payload}."), "alg none"),
        (hs256("test", TEST_SECRET, &expired), "expired"),
        (hs256("test", TEST_SECRET, &wrong_issuer), "wrong iss"),
        (hs256("test", TEST_SECRET, &wrong_audience), "wrong aud"),
        (hs256("test", TEST_SECRET, &no_user), "no user claim"),
        (hs256("test", TEST_SECRET, &no_expiry), "no exp"),
        (hs256("test", TEST_SECRET, &no_issuer), "no iss"),
        (
            hs256("test", TEST_SECRET, &not_yet_valid),
            "nbf an hour away",
        ),
        (hs256("other", TEST_SECRET, &claims()), "unknown kid"),
        (
            hs256("test", "another-secret-of-at-least-32-bytes", &claims()),
            "wrong key",
        ),
        (
            sign(Algorithm::HS256, None, &admin_key, &claims()),
            "no kid",
        ),
        (
            sign(
                Algorithm::HS384,
                Some("test"),
                &EncodingKey::from_secret(TEST_SECRET.as_bytes()).unwrap(),
                &claims(),
            ),
            "another HMAC",
        ),
        (ADMIN_TOKEN.to_owned(), "the admin token"),
    ] {
        assert_token_refused(&app, &token, why).await;
    }
    // The scheme's name in any case (RFC 9110); but one Authorization
    // header, not two (which one a proxy reads is a guess).
    for scheme in ["bearer", "BEARER"] {
        let response = app
            .http
            .get(app.url("/me"))
            .header("Authorization", format!("{scheme} {valid}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "scheme {scheme}");
    }
    let response = app
        .http
        .get(app.url("/me"))
        .header("Authorization", format!("Bearer {valid}"))
        .header("Authorization", format!("Bearer {}", app.token(user + 1)))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "invalid_token").await;
    // A buyer token is not the admin token.
    let response = app
        .http
        .post(app.url("/venues"))
        .bearer_auth(&valid)
        .json(&json!({"name": "Arena", "capacity": 10}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;
}

#[tokio::test]
async fn keys_rotate_new_first_old_kept_until_removed() {
    let old = spawn_app().await;
    let old_token = old.token(old.insert_users(1).await[0]);
    let new_key = "new:a-newer-signing-key-of-at-least-32-bytes";
    let both = spawn_app_with(AppOptions {
        token_keys: Some(format!("{new_key},test:{TEST_SECRET}")),
        ..AppOptions::default()
    })
    .await;
    let user = both.insert_users(1).await[0];
    let new_token = both.token(user);
    assert_eq!(
        me(&both, &old_token).await.status(),
        200,
        "old kid still accepted"
    );
    assert_eq!(me(&both, &new_token).await.status(), 200, "new kid signs");
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("new"));
    let retired = spawn_app_with(AppOptions {
        token_keys: Some(new_key.to_owned()),
        ..AppOptions::default()
    })
    .await;
    assert_token_refused(&retired, &old_token, "removed kid").await;
    assert_eq!(
        me(&retired, &new_token).await.status(),
        404,
        "valid token, user of another database"
    );
}

#[tokio::test]
async fn an_external_providers_tokens_are_checked_with_its_public_keys() {
    // The provider's key pair, made here: P-256 from 32 random bytes.
    let secret: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|id| *id.as_bytes())
        .collect();
    let private = p256::SecretKey::from_slice(&secret).unwrap();
    let private = EncodingKey::from_ec_der(private.to_pkcs8_der().unwrap().as_bytes());
    let mut public = Jwk::from_encoding_key(&private, Algorithm::ES256).unwrap();
    public.common.key_id = Some("provider-1".to_owned());
    let jwks = JwkSet {
        keys: vec![public.clone()],
    };
    let file = std::env::temp_dir().join(format!("flashbook-jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_string(&jwks).unwrap()).unwrap();
    let app = spawn_app_with(AppOptions {
        jwks_file: Some(file.to_string_lossy().into_owned()),
        ..AppOptions::default()
    })
    .await;
    std::fs::remove_file(&file).unwrap();
    let user = app.insert_users(1).await[0];
    let mut claims = claims();
    claims["flashbook_user_id"] = json!(user);
    claims["sub"] = json!("provider|ada");
    let token = sign(Algorithm::ES256, Some("provider-1"), &private, &claims);
    let read: Value = me(&app, &token).await.json().await.unwrap();
    assert_eq!(read["id"], user);
    let event = app.create_sale(3).await;
    let booked = app
        .http
        .post(app.url("/bookings"))
        .bearer_auth(&token)
        .json(&json!({"event_id": event}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201);

    // The key's algorithm is pinned: an HS256 token "signed" with the public
    // key's bytes under its kid is refused (the HS/RS confusion), and so is
    // an unknown provider kid.
    let public_bytes = serde_json::to_vec(&public).unwrap();
    let confused = sign(
        Algorithm::HS256,
        Some("provider-1"),
        &EncodingKey::from_secret(&public_bytes).unwrap(),
        &claims,
    );
    assert_token_refused(&app, &confused, "HS256 under an ES256 key").await;
    let stranger = sign(Algorithm::ES256, Some("provider-2"), &private, &claims);
    assert_token_refused(&app, &stranger, "unknown provider kid").await;
}

/// A booking and a waiting-list entry of `owner`, a hold of `other`.
struct TwoBuyers {
    event: i64,
    owner: i64,
    other: i64,
    booking: i64,
    hold: i64,
    entry: i64,
}

async fn two_buyers(app: &TestApp) -> TwoBuyers {
    let event = app
        .create_sale_with(2, json!({"max_per_user": 1, "hold_seconds": 600}))
        .await;
    let users = app.insert_users(2).await;
    let (owner, other) = (users[0], users[1]);
    let booking = created_id(app.book(event, owner).await).await;
    let hold = created_id(app.hold(event, other, 1).await).await;
    // A sold-out event, where the owner waits: their entry is a row too.
    let entry_event = app.create_sale(1).await;
    assert_eq!(app.book(entry_event, other).await.status(), 201);
    let entry = created_id(app.join_waitlist(entry_event, owner, 1).await).await;
    TwoBuyers {
        event,
        owner,
        other,
        booking,
        hold,
        entry,
    }
}

#[tokio::test]
async fn another_buyers_rows_are_404_and_stay_unchanged() {
    let app = spawn_app().await;
    let rows = two_buyers(&app).await;
    let TwoBuyers {
        event,
        owner,
        other,
        booking,
        hold,
        entry,
    } = rows;
    let snapshot = || async {
        let db = app.db().await;
        let row = db
            .query_one(
                "SELECT (SELECT status FROM bookings WHERE id = $1),
                        (SELECT status FROM holds WHERE id = $2),
                        (SELECT status FROM waitlist_entries WHERE id = $3),
                        (SELECT booked FROM events WHERE id = $4)",
                &[&booking, &hold, &entry, &event],
            )
            .await
            .unwrap();
        let state: (String, String, String, i32) = (row.get(0), row.get(1), row.get(2), row.get(3));
        state
    };
    let before = snapshot().await;
    // The hold is `other`'s, the booking and the entry `owner`'s: each
    // tried by the one who does not own it.
    for (method, path, intruder, code) in [
        (
            Method::GET,
            format!("/bookings/{booking}"),
            other,
            "booking_not_found",
        ),
        (
            Method::DELETE,
            format!("/bookings/{booking}"),
            other,
            "booking_not_found",
        ),
        (
            Method::GET,
            format!("/holds/{hold}"),
            owner,
            "hold_not_found",
        ),
        (
            Method::POST,
            format!("/holds/{hold}/confirm"),
            owner,
            "hold_not_found",
        ),
        (
            Method::DELETE,
            format!("/holds/{hold}"),
            owner,
            "hold_not_found",
        ),
        (
            Method::GET,
            format!("/waitlist/{entry}"),
            other,
            "waitlist_entry_not_found",
        ),
        (
            Method::DELETE,
            format!("/waitlist/{entry}"),
            other,
            "waitlist_entry_not_found",
        ),
    ] {
        let response = app
            .as_buyer(method.clone(), intruder, &path)
            .send()
            .await
            .unwrap();
        assert_problem(response, 404, code).await;
        // With a key too: the refusal is stored for the intruder only.
        let keyed = app
            .as_buyer(method.clone(), intruder, &path)
            .header("Idempotency-Key", format!("{method}-{path}"))
            .send()
            .await
            .unwrap();
        assert_problem(keyed, 404, code).await;
    }
    assert_eq!(snapshot().await, before, "nothing changed");
    // The owners still act on their own rows.
    assert_eq!(
        app.get_as(owner, &format!("/bookings/{booking}"))
            .await
            .status(),
        200
    );
    assert_eq!(app.confirm_hold(hold).await.status(), 201);
    assert_eq!(
        app.delete_as(owner, &format!("/waitlist/{entry}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_ticket_is_shown_to_its_holder_only() {
    let app = spawn_app().await;
    let event = app.create_sale(10).await;
    let users = app.insert_users(2).await;
    let opens_at = chrono::Utc::now() + chrono::Duration::seconds(3600);
    let room = json!({"admission_per_second": 10, "pass_seconds": 60, "opens_at": opens_at});
    let response = app
        .http
        .put(app.url(&format!("/events/{event}/waiting-room")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&room)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let app = &app;
    let join = |user: i64| async move {
        let path = format!("/events/{event}/queue");
        let response = app.as_buyer(Method::POST, user, &path).send().await;
        response.unwrap().json::<Value>().await.unwrap()
    };
    let joined = join(users[0]).await;
    assert_eq!(joined["user_id"], users[0]);
    let path = format!("/queue/{}", joined["ticket"].as_str().unwrap());
    assert_problem(app.get_as(users[1], &path).await, 404, "ticket_not_found").await;
    assert_eq!(app.get_as(users[0], &path).await.status(), 200);
    // The other buyer's join is a ticket of their own.
    assert_ne!(join(users[1]).await["ticket"], joined["ticket"]);
}

#[tokio::test]
async fn a_buyers_lists_are_their_own_and_everyones_are_the_admins() {
    let app = spawn_app().await;
    let rows = two_buyers(&app).await;
    let mine: Value = app
        .get_as(rows.owner, "/me/bookings")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|booking| booking["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [rows.booking]);
    let theirs: Value = app
        .get_as(rows.other, "/me/bookings")
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|booking| booking["user_id"] == rows.other));

    for path in [
        format!("/users/{}", rows.owner),
        format!("/users/{}/bookings", rows.owner),
        format!("/events/{}/bookings", rows.event),
    ] {
        assert_problem(app.get(&path).await, 401, "unauthorized").await;
        assert_problem(app.get_as(rows.owner, &path).await, 403, "forbidden").await;
        assert_eq!(app.get_as_admin(&path).await.status(), 200, "{path}");
    }
}
