//! `db::pipelined`: a transaction that did not end by a commit or a rollback
//! (a panic, a dropped future, a failed `COMMIT` round trip) never goes back
//! to the pool inside its transaction: its connection is closed instead.

use std::time::{Duration, Instant};

use flashbook::db::{self, pipelined::PipelinedTransaction, DbError};

use crate::helpers::{settings_for, spawn_app, AppOptions};

#[tokio::test]
async fn a_transaction_dropped_before_its_end_closes_its_connection() {
    let app = spawn_app().await;
    // One connection: a connection given back would be the next one handed out.
    let options = AppOptions {
        pool_size: Some(1),
        ..AppOptions::default()
    };
    let pool = db::connect_and_migrate(&settings_for(&app.database_url, &options).database)
        .await
        .unwrap();
    let transaction = PipelinedTransaction::new(db::client(&pool).await.unwrap());
    let backend = async {
        let row = transaction
            .client()
            .query_one("SELECT pg_backend_pid()", &[])
            .await?;
        Ok::<i32, DbError>(row.get(0))
    };
    let first_backend = transaction.begin_with(backend).await.unwrap();
    drop(transaction);

    let client = db::client(&pool).await.unwrap();
    let next_backend: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(
        next_backend, first_backend,
        "the unfinished transaction's connection went back to the pool"
    );
    // The old backend ends with its connection, and its transaction with it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)",
                &[&first_backend],
            )
            .await
            .unwrap()
            .get(0);
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backend {first_backend} still runs after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
