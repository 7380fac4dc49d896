//! Database access: the connection pool, migrations, and one module per table
//! family with its SQL beside it. Every function here returns [`DbError`];
//! the HTTP edge (`crate::http::error`) decides what a client is told.

pub mod bookings;
pub mod changes;
pub mod events;
pub mod holds;
mod migrations;
pub mod pipelined;
pub mod seats;
pub mod users;
pub mod venues;
pub mod waiting_room;

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{
    Manager, ManagerConfig, Object, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use crate::configuration::DatabaseSettings;
use crate::domain::Resource;

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in a database call, in the terms its callers act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection in time, a lost connection, a statement or lock
    /// timeout, a server shutting down or not (yet) accepting writes: the
    /// same call may well succeed shortly.
    #[error("the database is busy or unreachable")]
    Unavailable(#[source] Cause),
    #[error("{0} not found")]
    NotFound(Resource),
    /// The schema refused a write that would give a buyer more seats of an
    /// event than its `max_per_user`, or lower it below a buyer's seats
    /// (constraint `seats_within_max_per_user`,
    /// migrations/functions/check_seats_within_max_per_user.sql).
    #[error("a buyer would have more seats than the event's max_per_user")]
    OverMaxPerUser(#[source] Cause),
    /// A failure retrying will not fix: a bug, or a schema this code does
    /// not match (an unexpected column type or value).
    #[error("database call failed")]
    Failed(#[source] Cause),
}

impl DbError {
    pub fn unexpected(what: impl Into<String>) -> Self {
        DbError::Failed(what.into().into())
    }

    /// The same error for another caller (every request of a failed batch).
    /// The cause is kept as text: it is logged once, by the first.
    pub fn replicate(&self) -> Self {
        match self {
            DbError::Unavailable(cause) => DbError::Unavailable(cause.to_string().into()),
            DbError::NotFound(resource) => DbError::NotFound(*resource),
            DbError::OverMaxPerUser(cause) => DbError::OverMaxPerUser(cause.to_string().into()),
            DbError::Failed(cause) => DbError::Failed(cause.to_string().into()),
        }
    }

    /// A fixed name for the kind of failure, for the `kind` label of
    /// `flashbook_db_errors_total`: the variant, refined by the pool's
    /// timeout or the SQLSTATE class. Never free text.
    pub fn kind(&self) -> &'static str {
        match self {
            DbError::NotFound(_) => "not_found",
            DbError::OverMaxPerUser(_) => "over_max_per_user",
            DbError::Unavailable(cause) | DbError::Failed(cause) => {
                if let Some(error) = cause.downcast_ref::<PoolError>() {
                    return match error {
                        PoolError::Timeout(_) => "pool_timeout",
                        PoolError::Backend(_) => "connect",
                        PoolError::Closed => "pool_closed",
                        _ => "pool",
                    };
                }
                match cause
                    .downcast_ref::<tokio_postgres::Error>()
                    .map(tokio_postgres::Error::code)
                {
                    Some(None) => "connection",
                    Some(Some(code)) => sqlstate_class(code),
                    None if matches!(self, DbError::Unavailable(_)) => "unavailable",
                    None => "unexpected",
                }
            }
        }
    }
}

/// The SQLSTATE class (its first two characters) by name, after Appendix A
/// of the PostgreSQL manual; the classes this service can meet, then "other".
fn sqlstate_class(code: &SqlState) -> &'static str {
    if *code == SqlState::QUERY_CANCELED {
        return "query_canceled";
    }
    if *code == SqlState::LOCK_NOT_AVAILABLE {
        return "lock_not_available";
    }
    match &code.code()[..2] {
        "08" => "connection_exception",
        "22" => "data_exception",
        "23" => "integrity_constraint_violation",
        "25" => "invalid_transaction_state",
        "40" => "transaction_rollback",
        "42" => "syntax_error_or_access_rule_violation",
        "53" => "insufficient_resources",
        "54" => "program_limit_exceeded",
        "55" => "object_not_in_prerequisite_state",
        "57" => "operator_intervention",
        "58" => "system_error",
        "P0" => "plpgsql_error",
        "XX" => "internal_error",
        _ => "other",
    }
}

impl From<PoolError> for DbError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Timeout(_) | PoolError::Backend(_) | PoolError::Closed => {
                DbError::Unavailable(Box::new(error))
            }
            other => DbError::Failed(Box::new(other)),
        }
    }
}

/// The constraint name the per-user limit's trigger raises with.
const OVER_MAX_PER_USER: &str = "seats_within_max_per_user";

impl From<tokio_postgres::Error> for DbError {
    fn from(error: tokio_postgres::Error) -> Self {
        if error.code() == Some(&SqlState::CHECK_VIOLATION)
            && error.as_db_error().and_then(|db| db.constraint()) == Some(OVER_MAX_PER_USER)
        {
            return DbError::OverMaxPerUser(Box::new(error));
        }
        let transient = match error.code() {
            // No SQLSTATE: the connection broke or the server went away.
            None => true,
            Some(code) => {
                [
                    SqlState::QUERY_CANCELED,
                    SqlState::LOCK_NOT_AVAILABLE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                    // A standby, or a primary just demoted by a failover:
                    // the write was refused, so nothing changed.
                    SqlState::READ_ONLY_SQL_TRANSACTION,
                ]
                .contains(code)
                    || code.code().starts_with("08")
            }
        };
        if transient {
            DbError::Unavailable(Box::new(error))
        } else {
            DbError::Failed(Box::new(error))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupDbError {
    #[error("cannot connect to PostgreSQL ({target}) within {waited:?}; is it running and are DATABASE_URL / PG* set right?")]
    Unreachable {
        target: String,
        waited: Duration,
        #[source]
        source: deadpool_postgres::PoolError,
    },
    #[error("applying database migrations failed")]
    Migration(#[source] refinery::Error),
    #[error("applying the reference text of SQL function {name} (migrations/functions/{name}.sql) failed")]
    Function {
        name: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("database error during start-up")]
    Query(#[source] tokio_postgres::Error),
    #[error("invalid pool configuration")]
    Pool(#[source] deadpool_postgres::BuildError),
}

/// The connection pool, with the two figures only checkout can measure: how
/// long a request waited for a connection, and how often it gave up.
/// Derefs to deadpool's pool; take connections with [`client`], or with
/// [`read_client`] for a read.
#[derive(Clone)]
pub struct Pool {
    inner: deadpool_postgres::Pool,
    metrics: PoolMetrics,
    /// One permit per connection reads may hold at once
    /// (`FLASHBOOK_POOL_READ_SIZE`).
    reads: Arc<Semaphore>,
    wait: Duration,
}

/// Exported by `crate::metrics` as `flashbook_db_pool_wait_seconds` and
/// `flashbook_db_pool_timeouts_total`.
#[derive(Clone, Debug)]
pub struct PoolMetrics {
    pub wait: Histogram,
    pub timeouts: Counter,
}

impl PoolMetrics {
    fn new() -> Self {
        Self {
            // 10 us .. ~5 s: an idle pool answers in microseconds, a pool
            // at its limit in up to FLASHBOOK_POOL_WAIT_MS (2 s).
            wait: Histogram::new(exponential_buckets(0.000_01, 4.0, 10)),
            timeouts: Counter::default(),
        }
    }
}

impl Pool {
    pub fn metrics(&self) -> &PoolMetrics {
        &self.metrics
    }
}

impl std::ops::Deref for Pool {
    type Target = deadpool_postgres::Pool;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

/// Builds the pool, waits (bounded) for the database, and applies
/// migrations: as the schema's owner over a connection of their own when
/// `migration_connection` is set (the service's role then has no DDL
/// rights, deploy/postgres-app-role.sh), else over the pool's.
pub async fn connect_and_migrate(settings: &DatabaseSettings) -> Result<Pool, StartupDbError> {
    let pool = build_pool(settings)?;
    let mut client = wait_for_database(&pool, settings).await?;
    match &settings.migration_connection {
        Some(owner) => {
            let owner_settings = DatabaseSettings {
                connection: owner.clone(),
                migration_connection: None,
                pool_size: 1,
                read_pool_size: 1,
                ..settings.clone()
            };
            let owner_pool = build_pool(&owner_settings)?;
            let mut owner_client = wait_for_database(&owner_pool, &owner_settings).await?;
            migrations::migrate(&mut owner_client).await?;
        }
        None => migrations::migrate(&mut client).await?,
    }
    Ok(pool)
}

pub fn build_pool(settings: &DatabaseSettings) -> Result<Pool, StartupDbError> {
    let mut connection = settings.connection.clone();
    connection
        .application_name("flashbook")
        .connect_timeout(settings.connect_timeout)
        .options(format!(
            "-c statement_timeout={} -c lock_timeout={}",
            settings.statement_timeout.as_millis(),
            settings.lock_timeout.as_millis()
        ));
    let manager = Manager::from_config(
        connection,
        NoTls,
        ManagerConfig {
            // A connection the server closed (restart, crash) is noticed and
            // replaced on checkout, so the service heals without a restart.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let inner = deadpool_postgres::Pool::builder(manager)
        .max_size(settings.pool_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(settings.pool_wait))
        .create_timeout(Some(settings.connect_timeout))
        .recycle_timeout(Some(settings.connect_timeout))
        .build()
        .map_err(StartupDbError::Pool)?;
    Ok(Pool {
        inner,
        metrics: PoolMetrics::new(),
        reads: Arc::new(Semaphore::new(settings.read_pool_size)),
        wait: settings.pool_wait,
    })
}

async fn wait_for_database(
    pool: &Pool,
    settings: &DatabaseSettings,
) -> Result<Object, StartupDbError> {
    let started = Instant::now();
    loop {
        match pool.get().await {
            Ok(client) => return Ok(client),
            Err(error) if started.elapsed() < settings.startup_wait => {
                log::warn!(
                    "database not reachable yet, retrying: {}",
                    crate::telemetry::error_chain(&error)
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(source) => {
                return Err(StartupDbError::Unreachable {
                    target: describe_target(&settings.connection),
                    waited: started.elapsed(),
                    source,
                })
            }
        }
    }
}

fn describe_target(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{database}")
}

/// Reads one column. A missing column or a type this code does not expect
/// is a `Failed` call (a schema/code mismatch), never a panic.
pub fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    name: &str,
) -> Result<T, DbError> {
    row.try_get(name)
        .map_err(|error| DbError::Failed(Box::new(error)))
}

/// A pooled connection, or `Unavailable` when none is free within the pool
/// wait. Every checkout is timed for `flashbook_db_pool_wait_seconds`.
pub async fn client(pool: &Pool) -> Result<Object, DbError> {
    let started = Instant::now();
    let result = pool.inner.get().await;
    pool.metrics.wait.observe(started.elapsed().as_secs_f64());
    if let Err(PoolError::Timeout(_)) = &result {
        pool.metrics.timeouts.inc();
    }
    Ok(result?)
}

/// A connection for a read: lists and single records, which buyers and
/// crawlers can ask for far faster than bookings arrive. Reads queue for one
/// of `FLASHBOOK_POOL_READ_SIZE` permits before they queue for the pool, so
/// however many are waiting, the rest of the pool stays free for bookings.
/// Keep the permit as long as the connection (`let (client, _read) = ...`).
/// No permit within the pool wait is the pool's own timeout (`Unavailable`,
/// counted in `flashbook_db_pool_timeouts_total`).
pub async fn read_client(pool: &Pool) -> Result<(Object, ReadPermit), DbError> {
    let started = Instant::now();
    let permit =
        match tokio::time::timeout(pool.wait, Arc::clone(&pool.reads).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed; a closed one is as good as busy.
            Ok(Err(_)) | Err(_) => {
                pool.metrics.wait.observe(started.elapsed().as_secs_f64());
                pool.metrics.timeouts.inc();
                return Err(PoolError::Timeout(TimeoutType::Wait).into());
            }
        };
    Ok((client(pool).await?, ReadPermit { _permit: permit }))
}

/// One of the reads' connections, in use until dropped.
pub struct ReadPermit {
    _permit: OwnedSemaphorePermit,
}

/// Ok when the database answers and accepts writes: a standby (during a
/// failover, or a URL naming only a standby) cannot take bookings, so it is
/// `Unavailable` like an unreachable database.
pub async fn is_ready(pool: &Pool) -> Result<(), DbError> {
    let client = client(pool).await?;
    let row = client
        .query_one(
            "SELECT current_setting('transaction_read_only')::bool AS read_only",
            &[],
        )
        .await?;
    if column::<bool>(&row, "read_only")? {
        return Err(DbError::Unavailable(
            "the database is read-only (a standby): no writable primary".into(),
        ));
    }
    Ok(())
}
