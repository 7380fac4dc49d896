//! The migration runner, run by every replica at start-up under one advisory
//! lock (replicas starting together take turns):
//!
//! 1. the versioned migrations, `migrations/V<n>__<name>.sql`, by refinery:
//!    tables, constraints, indexes, views, each applied once and checksummed,
//!    so their text is history and never edited;
//! 2. then, in one transaction, every SQL function's reference text,
//!    `migrations/functions/<name>.sql` (one `CREATE OR REPLACE FUNCTION`
//!    per file), on every start. The reference text is therefore what runs,
//!    whatever an older versioned migration said about the function;
//!    `tests/api/schema.rs` compares the migrated database's functions with
//!    these files. A function dropped or renamed needs a versioned
//!    migration that drops it (a reference file cannot remove anything).
//!
//! Both steps are DDL: in compose the service's role has none, and this
//! runner connects as the schema's owner (`FLASHBOOK_MIGRATION_DATABASE_URL`,
//! `db::connect_and_migrate`), whose default privileges give the service's
//! role SELECT/INSERT/UPDATE/DELETE, sequences and EXECUTE on whatever the
//! migrations create (deploy/postgres-app-role.sh).

use deadpool_postgres::Object;

use super::StartupDbError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// `(name, text)` of every `migrations/functions/<name>.sql`, in name
/// order; listed by build.rs.
const FUNCTION_REFERENCES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/function_references.rs"));

/// Serialises migrations when several replicas start at once.
const MIGRATION_LOCK_KEY: i64 = 0x666c_6173_6862_6f6f; // "flashboo"

pub(super) async fn migrate(client: &mut Object) -> Result<(), StartupDbError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(StartupDbError::Query)?;
    let outcome = apply_all(client).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(StartupDbError::Query)?;
    outcome
}

async fn apply_all(client: &mut Object) -> Result<(), StartupDbError> {
    let report = embedded::migrations::runner()
        .run_async(&mut ***client)
        .await
        .map_err(StartupDbError::Migration)?;
    for migration in report.applied_migrations() {
        log::info!("applied migration {migration}");
    }
    // One transaction: a replica never runs with some functions replaced
    // and others not.
    let transaction = client.transaction().await.map_err(StartupDbError::Query)?;
    for &(name, text) in FUNCTION_REFERENCES {
        transaction
            .batch_execute(text)
            .await
            .map_err(|source| StartupDbError::Function { name, source })?;
    }
    transaction.commit().await.map_err(StartupDbError::Query)?;
    log::info!(
        "applied the reference texts of {} SQL functions (migrations/functions/)",
        FUNCTION_REFERENCES.len()
    );
    Ok(())
}
