//! Settings from the environment, with every default in one place.

use std::time::Duration;

use tokio_postgres::config::Config as PgConfig;

use crate::admission::PassSecret;
use crate::authentication::tokens::{SigningKey, TokenSettings};
use crate::authentication::AdminToken;

const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 8080;
/// PostgreSQL serialises a flash sale on one row lock, so more connections
/// only queue inside the server: in bench/RESULTS.md one transaction per
/// booking books most at 4, and batched booking uses one connection per hot
/// event whatever the size.
const DEFAULT_POOL_SIZE: usize = 4;
const DEFAULT_POOL_WAIT_MS: u64 = 2_000;
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_LOCK_TIMEOUT_MS: u64 = 3_000;
const DEFAULT_STARTUP_DB_WAIT_MS: u64 = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 24 * 60 * 60;
/// Requests for one event booked per transaction (1 turns batching off).
const DEFAULT_BATCH_MAX: usize = 256;
/// How often a live view (`GET /events/{id}/live`) reads its event: one read
/// per tick per watched event, however many viewers.
const DEFAULT_LIVE_TICK_MS: u64 = 1_000;
/// Seats freed by an expiring hold are offered to the waiting list within
/// this interval (the issue's bound is 2 s).
const DEFAULT_HOLD_SWEEP_MS: u64 = 1_000;
/// Share of the request timeout a batched booking may be expected to wait in
/// its event's queue (at the measured batch speed) before it is refused
/// `503 too_busy` at once: the rest is left for its own batch and the answer.
const DEFAULT_QUEUE_WAIT_FRACTION: f64 = 0.8;
/// Issuer and audience of buyer tokens, when not set.
const DEFAULT_TOKEN_ISSUER: &str = "flashbook";
const DEFAULT_TOKEN_AUDIENCE: &str = "flashbook";
/// How long a token from `POST /sessions` stays valid: long enough for a
/// sale, short enough that a leaked one soon stops working.
const DEFAULT_TOKEN_TTL_SECS: u64 = 60 * 60;
/// Sign-ups and sign-ins one client address may make a minute (all at once,
/// then spread out): a person needs a few, a script making accounts is
/// slowed to this.
const DEFAULT_ACCOUNT_RATE_PER_MINUTE: usize = 20;
/// Open live views one replica serves at once; more are answered `503`.
/// Each costs one connection and a few KiB, never a database read.
const DEFAULT_LIVE_MAX_VIEWERS: usize = 1_000;
/// Live views one client (bearer token, else address) may hold open at once
/// on a replica: a dashboard is one; a client opening hundreds is a flood.
const DEFAULT_LIVE_MAX_VIEWERS_PER_CLIENT: usize = 8;
/// Requests per second, and the burst above it, one bearer token may send:
/// a buyer's whole flow (hold, confirm, polls) is a few requests a second.
const DEFAULT_TOKEN_RATE: Rate = Rate {
    per_second: 20,
    burst: 40,
};
/// Requests per second, and the burst, from one peer address (all its
/// tokens together). A crowd behind one NAT or proxy is many buyers, so it
/// is high: the one-shot proof's 10,000 attempts from one address in about
/// 2.5 s fit the burst, and one address alone still cannot take more than
/// about half of what two cores serve (README, "Abuse limits").
const DEFAULT_ADDRESS_RATE: Rate = Rate {
    per_second: 2_000,
    burst: 20_000,
};

/// Shortest secret (admin token, pass secret, token key) the service starts with: 32
/// bytes, as many as its HMAC-SHA256 keys and `ci/lib/secrets.sh` make.
pub const MIN_SECRET_BYTES: usize = 32;
/// Secrets this repository once published as defaults (docker-compose.yml
/// and the README before issue 21): anyone can read them, so a service
/// configured with one refuses to start whatever their length.
const PUBLISHED_SECRETS: &[&str] = &["change-me-admin-token", "change-me-pass-secret"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Most booking requests for one event booked in one transaction;
    /// 1 books each request in its own transaction.
    pub batch_max: usize,
    /// Bearer token for admin routes; `None` makes start-up generate one.
    pub admin_token: Option<AdminToken>,
    /// Key of the waiting room's admission passes; `None` makes start-up
    /// generate one (then passes are good on this process only).
    pub pass_secret: Option<PassSecret>,
    /// Buyer tokens: keys, issuer, audience, lifetime.
    pub tokens: TokenSettings,
    /// Sign-ups and sign-ins a client address may make a minute.
    pub account_rate_per_minute: usize,
    /// `host:port` of a listener of its own for `GET /metrics`; `None`
    /// serves it on the API port.
    pub metrics_addr: Option<String>,
    pub limits: Limits,
    pub database: DatabaseSettings,
}

/// Bounds the request handlers apply.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may take before it is answered `503 request_timeout`.
    pub request_timeout: Duration,
    /// How long an Idempotency-Key's outcome is kept and replayed.
    pub idempotency_ttl: Duration,
    /// Time between two snapshots of a live view.
    pub live_tick: Duration,
    /// Time between two rounds of the hold sweeper (`crate::holds`).
    pub hold_sweep: Duration,
    /// Most live views open at once on this replica.
    pub live_max_viewers: usize,
    /// Share of `request_timeout` a booking may be expected to queue
    /// (`FLASHBOOK_QUEUE_WAIT_FRACTION`, more than 0, at most 1).
    pub queue_wait_fraction: f64,
    /// Most live views one client holds open at once on this replica.
    pub live_max_viewers_per_client: usize,
    /// Requests one bearer token may send (`http::limits`).
    pub token_rate: Rate,
    /// Requests one peer address may send, whatever its tokens.
    pub address_rate: Rate,
}

/// A request rate: `per_second` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: usize,
    pub burst: usize,
}

impl Limits {
    /// The longest expected queue wait a booking request is queued for.
    pub fn queue_budget(&self) -> Duration {
        self.request_timeout.mul_f64(self.queue_wait_fraction)
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Connection parameters. Its `Debug` output redacts the password.
    pub connection: PgConfig,
    /// Where migrations run (`FLASHBOOK_MIGRATION_DATABASE_URL`): the
    /// schema owner's connection when the service's own role has no DDL
    /// rights (docker-compose.yml); `None` migrates over `connection`.
    pub migration_connection: Option<PgConfig>,
    pub pool_size: usize,
    /// Connections of the pool that reads (lists, single records) may use at
    /// once, so a flood of reads always leaves the rest to bookings; at most
    /// `pool_size` (`FLASHBOOK_POOL_READ_SIZE`, default half, at least 1).
    pub read_pool_size: usize,
    /// How long a request waits for a free connection before it is answered
    /// `503` with `Retry-After`.
    pub pool_wait: Duration,
    pub connect_timeout: Duration,
    /// Server-side bound on any one statement, so no request hangs on the database.
    pub statement_timeout: Duration,
    /// Server-side bound on waiting for a row lock.
    pub lock_timeout: Duration,
    /// How long start-up keeps retrying an unreachable database before it gives up.
    pub startup_wait: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable lookup, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let pool_size = positive(&var, "FLASHBOOK_POOL_SIZE")?.unwrap_or(DEFAULT_POOL_SIZE);
        Ok(Self {
            host: var("FLASHBOOK_HOST").unwrap_or_else(|| DEFAULT_HOST.to_owned()),
            port: parse(&var, "FLASHBOOK_PORT")?.unwrap_or(DEFAULT_PORT),
            workers: parse::<usize>(&var, "FLASHBOOK_WORKERS")?.filter(|&n| n > 0),
            batch_max: positive(&var, "FLASHBOOK_BATCH_MAX")?.unwrap_or(DEFAULT_BATCH_MAX),
            admin_token: secret(&var, "FLASHBOOK_ADMIN_TOKEN")?.map(AdminToken::new),
            pass_secret: secret(&var, "FLASHBOOK_PASS_SECRET")?.map(PassSecret::new),
            tokens: TokenSettings {
                keys: var("FLASHBOOK_TOKEN_KEYS")
                    .map(|value| token_keys("FLASHBOOK_TOKEN_KEYS", value))
                    .transpose()?,
                jwks_file: var("FLASHBOOK_TOKEN_JWKS_FILE").map(Into::into),
                issuer: var("FLASHBOOK_TOKEN_ISSUER")
                    .unwrap_or_else(|| DEFAULT_TOKEN_ISSUER.to_owned()),
                audience: var("FLASHBOOK_TOKEN_AUDIENCE")
                    .unwrap_or_else(|| DEFAULT_TOKEN_AUDIENCE.to_owned()),
                lifetime: Duration::from_secs(
                    positive(&var, "FLASHBOOK_TOKEN_TTL_SECS")?
                        .map_or(DEFAULT_TOKEN_TTL_SECS, |secs| secs as u64),
                ),
            },
            account_rate_per_minute: positive(&var, "FLASHBOOK_ACCOUNT_RATE_PER_MINUTE")?
                .unwrap_or(DEFAULT_ACCOUNT_RATE_PER_MINUTE),
            metrics_addr: var("FLASHBOOK_METRICS_ADDR")
                .map(|value| host_and_port("FLASHBOOK_METRICS_ADDR", value))
                .transpose()?,
            limits: Limits {
                request_timeout: millis(
                    &var,
                    "FLASHBOOK_REQUEST_TIMEOUT_MS",
                    DEFAULT_REQUEST_TIMEOUT_MS,
                )?,
                idempotency_ttl: Duration::from_secs(
                    positive(&var, "FLASHBOOK_IDEMPOTENCY_TTL_SECS")?
                        .map_or(DEFAULT_IDEMPOTENCY_TTL_SECS, |secs| secs as u64),
                ),
                hold_sweep: Duration::from_millis(
                    positive(&var, "FLASHBOOK_HOLD_SWEEP_MS")?
                        .map_or(DEFAULT_HOLD_SWEEP_MS, |ms| ms as u64),
                ),
                live_tick: Duration::from_millis(
                    positive(&var, "FLASHBOOK_LIVE_TICK_MS")?
                        .map_or(DEFAULT_LIVE_TICK_MS, |ms| ms as u64),
                ),
                live_max_viewers: positive(&var, "FLASHBOOK_LIVE_MAX_VIEWERS")?
                    .unwrap_or(DEFAULT_LIVE_MAX_VIEWERS),
                queue_wait_fraction: fraction(&var, "FLASHBOOK_QUEUE_WAIT_FRACTION")?
                    .unwrap_or(DEFAULT_QUEUE_WAIT_FRACTION),
                live_max_viewers_per_client: positive(
                    &var,
                    "FLASHBOOK_LIVE_MAX_VIEWERS_PER_CLIENT",
                )?
                .unwrap_or(DEFAULT_LIVE_MAX_VIEWERS_PER_CLIENT),
                token_rate: rate(
                    &var,
                    ["FLASHBOOK_RATE_PER_TOKEN", "FLASHBOOK_BURST_PER_TOKEN"],
                    DEFAULT_TOKEN_RATE,
                )?,
                address_rate: rate(
                    &var,
                    ["FLASHBOOK_RATE_PER_ADDRESS", "FLASHBOOK_BURST_PER_ADDRESS"],
                    DEFAULT_ADDRESS_RATE,
                )?,
            },
            database: DatabaseSettings {
                connection: connection_config(&var)?,
                migration_connection: var("FLASHBOOK_MIGRATION_DATABASE_URL")
                    .map(|url| database_url("FLASHBOOK_MIGRATION_DATABASE_URL", url))
                    .transpose()?,
                pool_size,
                read_pool_size: read_pool_size(&var, pool_size)?,
                pool_wait: millis(&var, "FLASHBOOK_POOL_WAIT_MS", DEFAULT_POOL_WAIT_MS)?,
                connect_timeout: millis(
                    &var,
                    "FLASHBOOK_CONNECT_TIMEOUT_MS",
                    DEFAULT_CONNECT_TIMEOUT_MS,
                )?,
                statement_timeout: millis(
                    &var,
                    "FLASHBOOK_STATEMENT_TIMEOUT_MS",
                    DEFAULT_STATEMENT_TIMEOUT_MS,
                )?,
                lock_timeout: millis(&var, "FLASHBOOK_LOCK_TIMEOUT_MS", DEFAULT_LOCK_TIMEOUT_MS)?,
                startup_wait: millis(
                    &var,
                    "FLASHBOOK_STARTUP_DB_WAIT_MS",
                    DEFAULT_STARTUP_DB_WAIT_MS,
                )?,
            },
        })
    }
}

/// `DATABASE_URL` when set, else the standard libpq `PG*` variables.
fn connection_config(var: &impl Fn(&str) -> Option<String>) -> Result<PgConfig, ConfigError> {
    if let Some(url) = var("DATABASE_URL") {
        return database_url("DATABASE_URL", url);
    }
    let mut config = PgConfig::new();
    config
        .host(var("PGHOST").unwrap_or_else(|| "localhost".to_owned()))
        .port(parse(var, "PGPORT")?.unwrap_or(5432))
        .user(var("PGUSER").unwrap_or_else(|| "postgres".to_owned()))
        .dbname(var("PGDATABASE").unwrap_or_else(|| "flashbook".to_owned()));
    if let Some(password) = var("PGPASSWORD") {
        config.password(password);
    }
    Ok(config)
}

fn database_url(name: &'static str, url: String) -> Result<PgConfig, ConfigError> {
    url.parse()
        .map_err(|error: tokio_postgres::Error| ConfigError::Invalid {
            name,
            // The URL may hold a password: never echo it back.
            value: "<redacted>".to_owned(),
            reason: error.to_string(),
        })
}

/// A secret variable: unset is `None` (start-up generates one and warns);
/// set, it must be at least `MIN_SECRET_BYTES` long and none of the
/// `PUBLISHED_SECRETS`. The error never echoes the value.
fn secret(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = var(name) else {
        return Ok(None);
    };
    let reason = if PUBLISHED_SECRETS.contains(&value.trim()) {
        "is a default published in this repository; set a random secret \
         (ci/lib/secrets.sh makes one)"
            .to_owned()
    } else if value.len() < MIN_SECRET_BYTES {
        format!(
            "is {} bytes; a secret must be at least {MIN_SECRET_BYTES} \
             (ci/lib/secrets.sh makes one)",
            value.len()
        )
    } else {
        return Ok(Some(value));
    };
    Err(ConfigError::Invalid {
        name,
        value: "<redacted>".to_owned(),
        reason,
    })
}

fn parse<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    var(name)
        .map(|value| {
            value
                .trim()
                .parse()
                .map_err(|error: T::Err| ConfigError::Invalid {
                    name,
                    reason: error.to_string(),
                    value,
                })
        })
        .transpose()
}

fn positive(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<usize>, ConfigError> {
    match parse::<usize>(var, name)? {
        Some(0) => Err(ConfigError::Invalid {
            name,
            value: "0".to_owned(),
            reason: "must be at least 1".to_owned(),
        }),
        other => Ok(other),
    }
}

/// A rate and its burst, each from its own variable. An unset burst is
/// never below the rate, so raising the rate alone raises both.
fn rate(
    var: &impl Fn(&str) -> Option<String>,
    [rate_name, burst_name]: [&'static str; 2],
    default: Rate,
) -> Result<Rate, ConfigError> {
    let per_second = positive(var, rate_name)?.unwrap_or(default.per_second);
    let burst = positive(var, burst_name)?.unwrap_or(default.burst.max(per_second));
    Ok(Rate { per_second, burst })
}

/// `FLASHBOOK_POOL_READ_SIZE`, at most the pool; by default half of it (at
/// least 1), so the other half is always there for bookings.
fn read_pool_size(
    var: &impl Fn(&str) -> Option<String>,
    pool_size: usize,
) -> Result<usize, ConfigError> {
    let name = "FLASHBOOK_POOL_READ_SIZE";
    match positive(var, name)? {
        Some(size) if size > pool_size => Err(ConfigError::Invalid {
            name,
            value: size.to_string(),
            reason: format!("must be at most FLASHBOOK_POOL_SIZE ({pool_size})"),
        }),
        Some(size) => Ok(size),
        None => Ok((pool_size / 2).max(1)),
    }
}

/// A number more than 0 and at most 1.
fn fraction(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<f64>, ConfigError> {
    match parse::<f64>(var, name)? {
        Some(value) if !(value > 0.0 && value <= 1.0) => Err(ConfigError::Invalid {
            name,
            value: value.to_string(),
            reason: "must be more than 0 and at most 1".to_owned(),
        }),
        other => Ok(other),
    }
}

/// `kid1:secret1,kid2:secret2`: the embedded issuer's keys, the signing one
/// first. Each kid once, each secret at least [`MIN_SECRET_BYTES`] long.
fn token_keys(name: &'static str, value: String) -> Result<Vec<SigningKey>, ConfigError> {
    // The value holds secrets: never echo it back.
    let invalid = |reason: String| ConfigError::Invalid {
        name,
        value: "<redacted>".to_owned(),
        reason,
    };
    let mut keys: Vec<SigningKey> = Vec::new();
    for entry in value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (kid, secret) = entry
            .split_once(':')
            .ok_or_else(|| invalid("expected kid:secret[,kid:secret...]".to_owned()))?;
        let kid = kid.trim();
        if kid.is_empty() || keys.iter().any(|key| key.kid == kid) {
            return Err(invalid(format!(
                "each key needs a kid of its own ({kid:?})"
            )));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(invalid(format!(
                "the secret of key {kid:?} is shorter than {MIN_SECRET_BYTES} bytes"
            )));
        }
        keys.push(SigningKey::new(kid.to_owned(), secret.as_bytes().to_vec()));
    }
    if keys.is_empty() {
        return Err(invalid("no key given".to_owned()));
    }
    Ok(keys)
}

/// `host:port` with a numeric port, e.g. `0.0.0.0:9464` or `localhost:9464`.
fn host_and_port(name: &'static str, value: String) -> Result<String, ConfigError> {
    let value = value.trim().to_owned();
    let valid = value
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if valid {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            value,
            reason: "expected host:port, e.g. 0.0.0.0:9464".to_owned(),
        })
    }
}

fn millis(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(parse(var, name)?.unwrap_or(default)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.host, DEFAULT_HOST);
        assert_eq!(settings.port, DEFAULT_PORT);
        assert_eq!(settings.database.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(settings.database.connection.get_dbname(), Some("flashbook"));
        assert_eq!(settings.metrics_addr, None);
        assert_eq!(
            settings.limits.live_tick,
            Duration::from_millis(DEFAULT_LIVE_TICK_MS)
        );
        assert_eq!(settings.limits.live_max_viewers, DEFAULT_LIVE_MAX_VIEWERS);
        assert_eq!(settings.database.read_pool_size, DEFAULT_POOL_SIZE / 2);
        assert_eq!(settings.limits.token_rate, DEFAULT_TOKEN_RATE);
        assert_eq!(settings.limits.address_rate, DEFAULT_ADDRESS_RATE);
        assert_eq!(
            settings.limits.queue_budget(),
            Duration::from_millis(DEFAULT_REQUEST_TIMEOUT_MS).mul_f64(DEFAULT_QUEUE_WAIT_FRACTION)
        );
    }

    #[test]
    fn the_queue_wait_fraction_is_read_and_checked() {
        let parsed = settings(&[
            ("FLASHBOOK_QUEUE_WAIT_FRACTION", "0.5"),
            ("FLASHBOOK_REQUEST_TIMEOUT_MS", "4000"),
        ])
        .unwrap();
        assert_eq!(parsed.limits.queue_budget(), Duration::from_secs(2));
        for bad in ["0", "1.5", "-0.2", "NaN", "half"] {
            let error = settings(&[("FLASHBOOK_QUEUE_WAIT_FRACTION", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("FLASHBOOK_QUEUE_WAIT_FRACTION"),
                "{bad}"
            );
        }
    }

    #[test]
    fn metrics_address_and_live_bounds_are_read() {
        let parsed = settings(&[
            ("FLASHBOOK_METRICS_ADDR", "0.0.0.0:9464"),
            ("FLASHBOOK_LIVE_TICK_MS", "250"),
            ("FLASHBOOK_LIVE_MAX_VIEWERS", "3"),
        ])
        .unwrap();
        assert_eq!(parsed.metrics_addr.as_deref(), Some("0.0.0.0:9464"));
        assert_eq!(parsed.limits.live_tick, Duration::from_millis(250));
        assert_eq!(parsed.limits.live_max_viewers, 3);
        for bad in ["9464", ":9464", "localhost:http", "host:70000"] {
            let error = settings(&[("FLASHBOOK_METRICS_ADDR", bad)]).unwrap_err();
            assert!(
                error.to_string().contains("FLASHBOOK_METRICS_ADDR"),
                "{bad}"
            );
        }
        for (name, bad) in [
            ("FLASHBOOK_LIVE_TICK_MS", "0"),
            ("FLASHBOOK_LIVE_MAX_VIEWERS", "0"),
        ] {
            assert!(settings(&[(name, bad)]).is_err(), "{name}={bad}");
        }
    }

    #[test]
    fn token_keys_are_read_in_order_and_checked() {
        let secret = "s".repeat(MIN_SECRET_BYTES);
        let parsed = settings(&[(
            "FLASHBOOK_TOKEN_KEYS",
            &format!("new:{secret}, old:{secret}"),
        )])
        .unwrap();
        let kids: Vec<String> = parsed
            .tokens
            .keys
            .unwrap()
            .into_iter()
            .map(|key| key.kid)
            .collect();
        assert_eq!(kids, ["new", "old"]);
        assert_eq!(parsed.tokens.issuer, DEFAULT_TOKEN_ISSUER);
        assert_eq!(
            parsed.tokens.lifetime,
            Duration::from_secs(DEFAULT_TOKEN_TTL_SECS)
        );
        let short = "s".repeat(MIN_SECRET_BYTES - 1);
        for bad in [
            format!("k:{short}"),
            format!("k:{secret},k:{secret}"),
            format!(":{secret}"),
            secret.clone(),
        ] {
            let error = settings(&[("FLASHBOOK_TOKEN_KEYS", &bad)]).unwrap_err();
            assert!(!error.to_string().contains(&short[..8]), "{error}");
        }
        assert!(settings(&[]).unwrap().tokens.keys.is_none());
    }

    #[test]
    fn rates_and_the_read_share_of_the_pool_are_read_and_checked() {
        let parsed = settings(&[
            ("FLASHBOOK_RATE_PER_TOKEN", "5"),
            ("FLASHBOOK_RATE_PER_ADDRESS", "50000"),
            ("FLASHBOOK_POOL_SIZE", "8"),
            ("FLASHBOOK_POOL_READ_SIZE", "3"),
        ])
        .unwrap();
        assert_eq!(
            parsed.limits.token_rate,
            Rate {
                per_second: 5,
                burst: DEFAULT_TOKEN_RATE.burst
            }
        );
        // An unset burst is never below the rate it goes with.
        assert_eq!(
            parsed.limits.address_rate,
            Rate {
                per_second: 50_000,
                burst: 50_000
            }
        );
        assert_eq!(parsed.database.read_pool_size, 3);
        let one = settings(&[("FLASHBOOK_POOL_SIZE", "1")]).unwrap();
        assert_eq!(one.database.read_pool_size, 1);
        for bad in [
            &[("FLASHBOOK_RATE_PER_TOKEN", "0")][..],
            &[("FLASHBOOK_BURST_PER_ADDRESS", "0")],
            &[("FLASHBOOK_POOL_READ_SIZE", "5")],
            &[("FLASHBOOK_LIVE_MAX_VIEWERS_PER_CLIENT", "0")],
        ] {
            assert!(settings(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn database_url_wins_over_pg_variables() {
        let settings = settings(&[
            ("DATABASE_URL", "postgres://app:secret@db:6543/sales"),
            ("PGDATABASE", "ignored"),
        ])
        .unwrap();
        assert_eq!(settings.database.connection.get_dbname(), Some("sales"));
        assert_eq!(settings.database.connection.get_ports(), &[6543]);
    }

    #[test]
    fn migrations_run_over_their_own_url_only_when_it_is_set() {
        let url = "postgres://app:secret@db/sales";
        let single = settings(&[("DATABASE_URL", url)]).unwrap();
        assert!(single.database.migration_connection.is_none());
        let split = settings(&[
            ("DATABASE_URL", url),
            (
                "FLASHBOOK_MIGRATION_DATABASE_URL",
                "postgres://owner:hunter2@db/sales",
            ),
        ])
        .unwrap();
        let owner = split.database.migration_connection.as_ref().unwrap();
        assert_eq!(owner.get_user(), Some("owner"));
        assert_eq!(split.database.connection.get_user(), Some("app"));
        assert!(!format!("{split:?}").contains("hunter2"));
        let error = settings(&[(
            "FLASHBOOK_MIGRATION_DATABASE_URL",
            "postgres://o:hunter2@h:x/db",
        )])
        .unwrap_err();
        assert!(error
            .to_string()
            .contains("FLASHBOOK_MIGRATION_DATABASE_URL"));
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn pg_variables_are_honoured() {
        let settings = settings(&[("PGPORT", "5433"), ("PGDATABASE", "shop")]).unwrap();
        assert_eq!(settings.database.connection.get_ports(), &[5433]);
        assert_eq!(settings.database.connection.get_dbname(), Some("shop"));
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_secrets() {
        let error = settings(&[("FLASHBOOK_POOL_SIZE", "0")]).unwrap_err();
        assert!(error.to_string().contains("FLASHBOOK_POOL_SIZE"));
        let error =
            settings(&[("DATABASE_URL", "postgres://u:hunter2@h:notaport/db")]).unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
        let debug = format!(
            "{:?}",
            settings(&[
                ("PGPASSWORD", "hunter2"),
                (
                    "FLASHBOOK_ADMIN_TOKEN",
                    "hunter2-hunter2-hunter2-hunter2-hunter2"
                ),
                (
                    "FLASHBOOK_PASS_SECRET",
                    "hunter2-hunter2-hunter2-hunter2-hunter2"
                ),
                (
                    "FLASHBOOK_TOKEN_KEYS",
                    "k1:hunter2hunter2hunter2hunter2hunter2"
                )
            ])
            .unwrap()
        );
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
