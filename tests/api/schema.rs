//! The schema as its own second line: the per-user limit refused by the
//! database itself, even to writes that bypass the seat functions, and every
//! SQL function's text equal to its one reference file.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flashbook::db::DbError;
use serde_json::json;
use tokio_postgres::error::SqlState;

use crate::helpers::{created_id, spawn_app, TestApp};

const INSERT_BOOKING: &str =
    "INSERT INTO bookings (event_id, user_id, quantity) VALUES ($1, $2, $3)";
const INSERT_HOLD: &str = "INSERT INTO holds (event_id, user_id, quantity, expires_at, created_at)
                           VALUES ($1, $2, $3, clock_timestamp() + $4::float8 * interval '1 second',
                                   clock_timestamp() + ($4::float8 - 3600) * interval '1 second')";

/// Two transactions each add one seat for a buyer one seat below the limit,
/// straight into the tables; both are open before either commits. The
/// second is made to wait for the first and then refused by the constraint.
/// A trigger that only summed the rows would pass both: each would miss the
/// other's uncommitted row.
#[tokio::test]
async fn concurrent_direct_inserts_cannot_put_a_buyer_over_the_limit() {
    for second_table in ["bookings", "holds"] {
        let app = spawn_app().await;
        let event = app
            .create_sale_with(10, json!({"max_per_user": 2, "hold_seconds": 60}))
            .await;
        let user = app.insert_users(1).await[0];
        assert_eq!(app.book_seats(event, user, 1).await.status(), 201);

        let mut first = app.db().await;
        let mut second = app.db().await;
        let first = first.transaction().await.unwrap();
        let second = second.transaction().await.unwrap();
        first
            .execute(INSERT_BOOKING, &[&event, &user, &1])
            .await
            .expect("the first transaction's seat is within the limit");
        let second_insert = async {
            match second_table {
                "bookings" => second.execute(INSERT_BOOKING, &[&event, &user, &1]).await,
                _ => {
                    second
                        .execute(INSERT_HOLD, &[&event, &user, &1, &3600.0])
                        .await
                }
            }
        };
        let commit_first = async {
            wait_until_one_waits_for_a_lock(&app).await;
            first.commit().await.unwrap();
        };
        let (refused, ()) = tokio::join!(second_insert, commit_first);

        let error = refused.expect_err("the second seat would pass max_per_user 2");
        let constraint = error.as_db_error().and_then(|db| db.constraint());
        assert_eq!(constraint, Some("seats_within_max_per_user"), "{error}");
        assert!(
            matches!(DbError::from(error), DbError::OverMaxPerUser(_)),
            "mapped to its own error"
        );
        drop(second);
        assert_eq!(user_seats(&app, event, user).await, 2, "{second_table}");
    }
}

/// What the limit counts: expired holds are free (lazy reclaim, no sweeper),
/// a confirmed hold counts once, a cancelled booking not at all.
#[tokio::test]
async fn the_schema_counts_seats_as_the_seat_functions_do() {
    let app = spawn_app().await;
    let event = app
        .create_sale_with(10, json!({"max_per_user": 2, "hold_seconds": 60}))
        .await;
    let user = app.insert_users(1).await[0];
    let db = app.db().await;

    db.execute(INSERT_HOLD, &[&event, &user, &2, &-1.0])
        .await
        .expect("a hold that has expired already");
    db.execute(INSERT_BOOKING, &[&event, &user, &2])
        .await
        .expect("an expired hold's seats are free");
    let over = db.execute(INSERT_HOLD, &[&event, &user, &1, &3600.0]).await;
    assert!(matches!(
        over.map_err(DbError::from),
        Err(DbError::OverMaxPerUser(_))
    ));
    let revive = db
        .execute(
            "UPDATE holds SET expires_at = clock_timestamp() + interval '1 hour' WHERE user_id = $1",
            &[&user],
        )
        .await;
    assert!(
        matches!(
            revive.map_err(DbError::from),
            Err(DbError::OverMaxPerUser(_))
        ),
        "an expired hold made unexpired counts again"
    );

    db.execute(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE user_id = $1",
        &[&user],
    )
    .await
    .unwrap();
    let hold = created_id(app.hold(event, user, 2).await).await;
    let confirmed = app.confirm_hold(hold).await;
    assert_eq!(confirmed.status(), 201, "a hold at the limit confirms");
    assert_eq!(user_seats(&app, event, user).await, 2);
}

/// Every function in the migrated database has a reference file in
/// migrations/functions/ and every reference file's function is there, with
/// the same definition: PostgreSQL prints both (pg_get_functiondef), the
/// reference as it creates it from the file in a scratch schema.
#[tokio::test]
async fn every_sql_function_is_its_reference_text() {
    let app = spawn_app().await;
    let mut db = app.db().await;
    let migrated = function_definitions(&db, "public").await;

    let scratch = db.transaction().await.unwrap();
    scratch
        .batch_execute("CREATE SCHEMA reference; SET LOCAL search_path = reference, public")
        .await
        .unwrap();
    for (name, text) in reference_files() {
        scratch
            .batch_execute(&text)
            .await
            .unwrap_or_else(|error| panic!("migrations/functions/{name}.sql: {error}"));
    }
    let references = function_definitions(&scratch, "reference").await;
    scratch.rollback().await.unwrap();

    let unreferenced: Vec<_> = migrated
        .keys()
        .filter(|name| !references.contains_key(*name))
        .collect();
    assert!(
        unreferenced.is_empty(),
        "functions without a reference file: {unreferenced:?}"
    );
    let missing: Vec<_> = references
        .keys()
        .filter(|name| !migrated.contains_key(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "reference files whose function is not in the database: {missing:?}"
    );
    for (name, definition) in &references {
        assert_eq!(
            &migrated[name], definition,
            "{name} differs from migrations/functions/{name}.sql"
        );
    }
}

/// `pg_get_functiondef` of every function in `schema`, by name and
/// arguments, without the schema prefix.
async fn function_definitions(
    db: &impl tokio_postgres::GenericClient,
    schema: &str,
) -> BTreeMap<String, String> {
    let rows = db
        .query(
            "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                    pg_get_functiondef(p.oid)
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = $1",
            &[&schema],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let definition: String = row.get(1);
            let prefix = format!("FUNCTION {schema}.");
            (row.get(0), definition.replacen(&prefix, "FUNCTION ", 1))
        })
        .collect()
}

/// Every `migrations/functions/<name>.sql` on disk (not the build's list, so
/// that a file the build missed is missed here too).
fn reference_files() -> Vec<(String, String)> {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/functions");
    let mut files: Vec<_> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sql"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// Waits (at most 10 s) until a session of this test's database waits for a
/// lock.
async fn wait_until_one_waits_for_a_lock(app: &TestApp) {
    let db = app.db().await;
    let started = Instant::now();
    loop {
        let waiting: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second transaction never waited for the first: nothing serialised the two checks"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The buyer's confirmed seats plus unexpired held seats, committed.
async fn user_seats(app: &TestApp, event: i64, user: i64) -> i32 {
    app.db()
        .await
        .query_one(
            "SELECT user_seats($1, $2, clock_timestamp())",
            &[&event, &user],
        )
        .await
        .unwrap()
        .get(0)
}

/// `events.held_open`, which `held_seats()` reads instead of summing every
/// hold, follows every kind of write to holds: the seat functions' (holds, a
/// confirmation, a release, the sweep) and direct statements (rows of two
/// events in one statement, an update of quantities, a delete, a truncate).
#[tokio::test]
async fn the_held_seats_count_follows_every_write_to_holds() {
    let app = spawn_app().await;
    let settings = json!({"max_per_user": 4, "hold_seconds": 60});
    let event = app.create_sale_with(20, settings.clone()).await;
    let other = app.create_sale_with(20, settings).await;
    let events = [event, other];
    let users = app.insert_users(3).await;
    let db = app.db().await;

    let confirmed = created_id(app.hold(event, users[0], 2).await).await;
    let released = created_id(app.hold(event, users[1], 1).await).await;
    assert_held_count(&db, &events, "two holds through the API").await;
    assert_eq!(app.confirm_hold(confirmed).await.status(), 201);
    assert_held_count(&db, &events, "a confirmation").await;
    let release = app
        .as_buyer(
            reqwest::Method::DELETE,
            users[1],
            &format!("/holds/{released}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(release.status(), 200);
    assert_held_count(&db, &events, "a release").await;

    db.execute(
        "INSERT INTO holds (event_id, user_id, quantity, expires_at, created_at)
         VALUES ($1, $3, 1, clock_timestamp() - interval '1 second', clock_timestamp() - interval '1 minute'),
                ($1, $3, 3, clock_timestamp() + interval '1 hour', clock_timestamp()),
                ($2, $4, 2, clock_timestamp() + interval '1 hour', clock_timestamp())",
        &[&event, &other, &users[2], &users[0]],
    )
    .await
    .unwrap();
    assert_held_count(&db, &events, "one statement's holds of two events").await;
    let held: i32 = db
        .query_one("SELECT held_seats($1, clock_timestamp())", &[&event])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 3, "the held seats leave out the hold past expires_at");
    db.execute("SELECT expire_holds($1)", &[&event])
        .await
        .unwrap();
    assert_held_count(&db, &events, "the sweep").await;
    db.execute(
        "UPDATE holds SET quantity = quantity - 1 WHERE status = 'held'",
        &[],
    )
    .await
    .unwrap();
    assert_held_count(&db, &events, "an update of quantities").await;
    db.execute(
        "DELETE FROM holds WHERE event_id = $1 AND status = 'held'",
        &[&other],
    )
    .await
    .unwrap();
    assert_held_count(&db, &events, "a delete").await;
    db.execute("TRUNCATE holds CASCADE", &[]).await.unwrap();
    assert_held_count(&db, &events, "a truncate").await;
}

/// Each event's `held_open` equals the seats of its holds with status
/// 'held'.
async fn assert_held_count(db: &tokio_postgres::Client, events: &[i64], after: &str) {
    let rows = db
        .query(
            "SELECT e.id, e.held_open,
                    (SELECT coalesce(sum(h.quantity), 0)::INTEGER FROM holds h
                      WHERE h.event_id = e.id AND h.status = 'held')
               FROM events e WHERE e.id = ANY ($1) ORDER BY e.id",
            &[&events],
        )
        .await
        .unwrap();
    for row in rows {
        let (id, counted, summed): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(counted, summed, "event {id}'s held seats after {after}");
    }
}

/// Bookings and holds name an event and a user that exist, checked per
/// statement (check_seat_references) where foreign keys checked each row:
/// a statement with one row naming a missing user or event is refused as a
/// whole, under the foreign key's old name; and events and users, which
/// that check does not lock, cannot be deleted or renumbered.
#[tokio::test]
async fn bookings_and_holds_name_events_and_users_that_exist() {
    let app = spawn_app().await;
    let event = app.create_sale_with(10, json!({"max_per_user": 2})).await;
    let user = app.insert_users(1).await[0];
    let missing = user + 1_000;
    let db = app.db().await;

    let two_bookings =
        "INSERT INTO bookings (event_id, user_id, quantity) VALUES ($1, $2, 1), ($3, $4, 1)";
    for (table, statement, rows) in [
        ("bookings", two_bookings, [event, user, event, missing]),
        ("bookings", two_bookings, [event, user, missing, user]),
        (
            "holds",
            "INSERT INTO holds (event_id, user_id, quantity, expires_at)
             VALUES ($1, $2, 1, now() + interval '1 minute'), ($3, $4, 1, now() + interval '1 minute')",
            [event, user, event, missing],
        ),
    ] {
        let error = db
            .execute(statement, &[&rows[0], &rows[1], &rows[2], &rows[3]])
            .await
            .expect_err("a row names a missing event or user");
        let column = if rows[2] == missing { "event_id" } else { "user_id" };
        assert_foreign_key_refusal(&error, &format!("{table}_{column}_fkey"));
    }
    let rows: i64 = db
        .query_one(
            "SELECT (SELECT count(*) FROM bookings) + (SELECT count(*) FROM holds)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        rows, 0,
        "each refused statement wrote nothing, not even its good row"
    );

    db.execute(INSERT_BOOKING, &[&event, &user, &1])
        .await
        .unwrap();
    assert_each_refused(
        &db,
        &[
            ("DELETE FROM users WHERE id = $1", user),
            ("DELETE FROM events WHERE id = $1", event),
            ("UPDATE users SET id = DEFAULT WHERE id = $1", user),
        ],
        &SqlState::RESTRICT_VIOLATION,
    )
    .await;
}

/// `error` is the database's refusal under the foreign key `constraint`'s
/// name, as the foreign key itself refused.
fn assert_foreign_key_refusal(error: &tokio_postgres::Error, constraint: &str) {
    let db_error = error.as_db_error().expect("refused by the database");
    assert_eq!(db_error.code(), &SqlState::FOREIGN_KEY_VIOLATION, "{error}");
    assert_eq!(db_error.constraint(), Some(constraint));
}

/// Each `(statement, id)`, run with `id`, is refused with `code`.
async fn assert_each_refused(
    db: &tokio_postgres::Client,
    statements: &[(&str, i64)],
    code: &SqlState,
) {
    for &(statement, id) in statements {
        let error = db.execute(statement, &[&id]).await.expect_err(statement);
        assert_eq!(error.code(), Some(code), "{statement}: {error}");
    }
}

/// A used pass names the booking or hold it made, checked per statement
/// (check_pass_references) where foreign keys checked each row: a statement
/// with one ticket naming a missing booking or hold is refused as a whole,
/// under the foreign key's old name. A booking or hold a ticket names is
/// neither deleted nor renumbered (keep_pass_references); one that no
/// ticket names still can be.
#[tokio::test]
async fn used_passes_name_bookings_and_holds_that_exist() {
    let app = spawn_app().await;
    let event = app.create_sale_with(10, json!({"max_per_user": 2})).await;
    let users = app.insert_users(2).await;
    let db = app.db().await;
    let mut bookings = Vec::new();
    for user in &users {
        let row = db
            .query_one(
                &format!("{INSERT_BOOKING} RETURNING id"),
                &[&event, user, &1],
            )
            .await
            .unwrap();
        bookings.push(row.get::<_, i64>(0));
    }
    let hold: i64 = db
        .query_one(
            &format!("{INSERT_HOLD} RETURNING id"),
            &[&event, &users[0], &1, &3600.0],
        )
        .await
        .unwrap()
        .get(0);
    db.execute(
        "INSERT INTO queue_tickets (ticket, event_id, user_id, early, place, pass_expires_at)
         VALUES ('pass-a', $1, $2, FALSE, 1, now() + interval '1 hour'),
                ('pass-b', $1, $3, FALSE, 2, now() + interval '1 hour')",
        &[&event, &users[0], &users[1]],
    )
    .await
    .unwrap();
    let use_passes = |column: &str| {
        format!(
            "UPDATE queue_tickets SET pass_used_at = now(), pass_used_for = 'booking',
                    pass_outcome = 'booked', {column} = CASE ticket WHEN 'pass-a' THEN $1::BIGINT ELSE $2::BIGINT END
              WHERE ticket IN ('pass-a', 'pass-b')"
        )
    };
    let missing = bookings[1] + hold + 1_000;
    for (column, named) in [("booking_id", bookings[0]), ("hold_id", hold)] {
        let error = db
            .execute(&use_passes(column), &[&named, &missing])
            .await
            .expect_err("pass-b names a missing row");
        assert_foreign_key_refusal(&error, &format!("queue_tickets_{column}_fkey"));
    }
    let used: i64 = db
        .query_one(
            "SELECT count(*) FROM queue_tickets WHERE pass_used_at IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(used, 0, "each refused statement wrote nothing");

    db.execute(
        "UPDATE queue_tickets SET pass_used_at = now(), pass_used_for = 'booking',
                pass_outcome = 'booked', booking_id = $1 WHERE ticket = 'pass-a'",
        &[&bookings[0]],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE queue_tickets SET pass_used_at = now(), pass_used_for = 'hold',
                pass_outcome = 'held', hold_id = $1 WHERE ticket = 'pass-b'",
        &[&hold],
    )
    .await
    .unwrap();
    assert_each_refused(
        &db,
        &[
            ("DELETE FROM bookings WHERE id = $1", bookings[0]),
            (
                "UPDATE bookings SET id = DEFAULT WHERE id = $1",
                bookings[0],
            ),
            ("DELETE FROM holds WHERE id = $1", hold),
        ],
        &SqlState::FOREIGN_KEY_VIOLATION,
    )
    .await;
    let deleted = db
        .execute("DELETE FROM bookings WHERE id = $1", &[&bookings[1]])
        .await
        .unwrap();
    assert_eq!(deleted, 1, "no ticket names the other booking");
}
