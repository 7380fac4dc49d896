//! Resets the database and seeds a flash sale: venues, events and users,
//! set-based in one transaction. Users go in chunks of [`USER_CHUNK`], one
//! statement each, with a progress line on stderr after each chunk when
//! there is more than one; the summary line on stdout is what scripts read.
//! With `--add` it resets nothing and only adds events to the seeded venue
//! (the checkout proof's event beside the one-shot's). With `--tokens FILE`
//! it also writes a buyer token for each user, signed with the service's key
//! (`FLASHBOOK_TOKEN_KEYS`): the seeded users have no password, and the load
//! scripts need 10,000 tokens without 10,000 password hashes. Each token is
//! verified as the service would before the file is written, and the summary
//! says how long one verification took (bench/run.sh's token cost).

use std::process::ExitCode;
use std::time::Instant;

use flashbook::authentication::tokens::Tokens;
use flashbook::configuration::Settings;
use serde::Serialize;

const USAGE: &str = "\
usage: seed [--venue-capacity N] [--event-capacity N] [--events N] [--users N]
            [--max-per-user N] [--hold-seconds N] [--offer-seconds N]
            [--tokens FILE [--token-users N]]
       seed --add [--event-capacity N] [--events N]
            [--max-per-user N] [--hold-seconds N] [--offer-seconds N]

Deletes ALL venues, events, users, bookings, holds, waiting lists and idempotency keys,
then creates one venue, events with ids 1..=events and users with ids 1..=users.
  --venue-capacity N   seats in the venue (default 1000)
  --event-capacity N   seats on sale per event (default: the venue's capacity)
  --events N           events to create (default 1)
  --users N            users to create, emails user<N>@example.com (default 10000)
  --max-per-user N     seats one user may have per event, 1-100 (default 1)
  --hold-seconds N     how long a hold keeps its seats (default 600)
  --offer-seconds N    how long a waiting-list offer stays open (default 900)
  --tokens FILE        write [{user_id, token}, ...] for users 1..=users as JSON
                       to FILE: buyer tokens signed with the first key of
                       FLASHBOOK_TOKEN_KEYS (which must be set, as the service's),
                       valid FLASHBOOK_TOKEN_TTL_SECS (default 3600). The seeded
                       users have no password: tokens are how they book.
                       Each is verified first; the summary line gives the
                       microseconds one verification took
  --token-users N      with --tokens: tokens for users 1..=N only (default: every user)
  --add                delete nothing: add the events to the seeded venue (id 1,
                       whose capacity bounds --event-capacity) and create no
                       users; prints the new ids
The sale settings default to the schema's column defaults (migrations/V6__buyer_flow.sql).
Database settings come from DATABASE_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE.";

/// Idempotency keys go too: a stored outcome would replay a booking that no
/// longer exists.
const RESET: &str =
    "TRUNCATE idempotency_keys, queue_tickets, waiting_rooms, waitlist_entries, holds, bookings,
              events, users, venues RESTART IDENTITY";
const INSERT_VENUE: &str = "INSERT INTO venues (name, capacity) VALUES ('Seed Arena', $1)";
/// Events of venue 1, numbered on from those it has, with the schema's
/// defaults for the sale settings.
const INSERT_EVENTS: &str = "
    INSERT INTO events (venue_id, name, starts_at, capacity)
    SELECT 1, 'Flash sale ' || (n + (SELECT count(*) FROM events)), now() + interval '30 days', $2
      FROM generate_series(1, $1::INTEGER) AS n
    RETURNING id";
/// The sale settings given on the command line (NULL: keep the default).
const SET_SALE_SETTINGS: &str = "
    UPDATE events SET max_per_user = coalesce($2, max_per_user),
                      hold_seconds = coalesce($3, hold_seconds),
                      offer_seconds = coalesce($4, offer_seconds)
     WHERE id = ANY ($1)";
/// Venue 1's capacity, locked until the `--add` transaction ends.
const SELECT_VENUE: &str = "SELECT capacity FROM venues WHERE id = 1 FOR UPDATE";
/// Users `$1..=$2`; ids follow `n` because the reset restarts the sequence.
const INSERT_USERS: &str = "
    INSERT INTO users (email, name)
    SELECT 'user' || n || '@example.com', 'User ' || n
      FROM generate_series($1::INTEGER, $2::INTEGER) AS n";

/// Users per INSERT: a few seconds each, so a long seed reports progress.
const USER_CHUNK: i32 = 100_000;

struct SeedPlan {
    venue_capacity: i32,
    /// `None`: the venue's capacity.
    event_capacity: Option<i32>,
    events: i32,
    users: i32,
    sale: SaleSettings,
    /// Add events to the seeded venue; reset nothing.
    add: bool,
    /// Where to write the users' tokens.
    tokens: Option<String>,
    /// Tokens for users 1..=this (`None`: every user).
    token_users: Option<i32>,
}

/// One line of the tokens file.
#[derive(Serialize)]
struct UserToken {
    user_id: i64,
    token: String,
}

/// The buyer-flow settings of the created events; `None` keeps the schema's
/// default.
#[derive(Default)]
struct SaleSettings {
    max_per_user: Option<i32>,
    hold_seconds: Option<i32>,
    offer_seconds: Option<i32>,
}

impl SaleSettings {
    /// ", max_per_user 4, hold 5 s, offer 5 s" for the settings given.
    fn describe(&self) -> String {
        [
            self.max_per_user.map(|n| format!(", max_per_user {n}")),
            self.hold_seconds.map(|n| format!(", hold {n} s")),
            self.offer_seconds.map(|n| format!(", offer {n} s")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    flashbook::telemetry::init_logger("warn", &[]);
    let plan = match parse_args(std::env::args().skip(1)) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("seed: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let seeded = if plan.add {
        add(&plan).await
    } else {
        seed(&plan).await
    };
    match seeded {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "seed: {}",
                flashbook::telemetry::error_chain(error.as_ref())
            );
            ExitCode::FAILURE
        }
    }
}

async fn seed(plan: &SeedPlan) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    // Checked before anything is reset: no keys, no tokens.
    let tokens = plan
        .tokens
        .as_ref()
        .map(|path| {
            let keys = settings
                .tokens
                .keys
                .as_deref()
                .ok_or("--tokens needs FLASHBOOK_TOKEN_KEYS, the service's signing keys")?;
            Ok::<_, Box<dyn std::error::Error>>((path, Tokens::new(&settings.tokens, keys)?))
        })
        .transpose()?;
    let pool = flashbook::db::connect_and_migrate(&settings.database).await?;
    let mut client = pool.get().await?;
    let started = Instant::now();
    let event_capacity = plan.event_capacity.unwrap_or(plan.venue_capacity);
    let transaction = client.transaction().await?;
    transaction.execute(RESET, &[]).await?;
    transaction
        .execute(INSERT_VENUE, &[&plan.venue_capacity])
        .await?;
    insert_events(&transaction, plan, event_capacity).await?;
    let mut seeded = 0;
    while seeded < plan.users {
        let last = seeded.saturating_add(USER_CHUNK).min(plan.users);
        transaction
            .execute(INSERT_USERS, &[&(seeded + 1), &last])
            .await?;
        seeded = last;
        if plan.users > USER_CHUNK {
            eprintln!("{}", progress_line(seeded, plan.users, started));
        }
    }
    transaction.commit().await?;
    let tokens_written = match tokens {
        Some((path, tokens)) => {
            let verify_us = write_tokens(
                path,
                &tokens,
                plan.token_users.unwrap_or(plan.users).min(plan.users),
            )?;
            format!(", their tokens in {path} (each verified: {verify_us:.2} us a token)")
        }
        None => String::new(),
    };
    println!(
        "seeded 1 venue (capacity {}), {} event(s) (capacity {}{}), {} users{tokens_written} in {:.3} s",
        plan.venue_capacity,
        plan.events,
        event_capacity,
        plan.sale.describe(),
        plan.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A token for each of users `1..=users` (the seed's ids), as JSON. Each is
/// verified as the service verifies a buyer's (so a file the service would
/// refuse is never written); returns the microseconds one verification took
/// on average, the figure bench/run.sh sets against a booking's CPU.
fn write_tokens(
    path: &str,
    tokens: &Tokens,
    users: i32,
) -> Result<f64, Box<dyn std::error::Error>> {
    let all = (1..=i64::from(users))
        .map(|user_id| {
            Ok(UserToken {
                user_id,
                token: tokens.issue(user_id)?.token,
            })
        })
        .collect::<Result<Vec<_>, flashbook::authentication::tokens::TokenError>>()?;
    let started = Instant::now();
    for minted in &all {
        match tokens.verify(&minted.token) {
            Ok(user_id) if user_id == minted.user_id => {}
            outcome => {
                return Err(format!(
                    "user {}'s token does not verify as theirs: {outcome:?}",
                    minted.user_id
                )
                .into())
            }
        }
    }
    let verify_us = started.elapsed().as_secs_f64() * 1e6 / all.len().max(1) as f64;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(file, &all)?;
    Ok(verify_us)
}

/// `--add`: events for the venue a previous seed made, nothing deleted.
async fn add(plan: &SeedPlan) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let pool = flashbook::db::connect_and_migrate(&settings.database).await?;
    let mut client = pool.get().await?;
    let started = Instant::now();
    let transaction = client.transaction().await?;
    let venue_capacity: i32 = transaction
        .query_opt(SELECT_VENUE, &[])
        .await?
        .ok_or("--add needs the seeded venue (id 1): run seed without --add first")?
        .try_get(0)?;
    let event_capacity = plan.event_capacity.unwrap_or(venue_capacity);
    if event_capacity > venue_capacity {
        return Err(format!(
            "--event-capacity {event_capacity} exceeds the venue's capacity {venue_capacity}"
        )
        .into());
    }
    let ids = insert_events(&transaction, plan, event_capacity).await?;
    transaction.commit().await?;
    let (first, last) = (ids.iter().min(), ids.iter().max());
    println!(
        "added {} event(s) (ids {}..{}, capacity {}{}) to venue 1 in {:.3} s",
        ids.len(),
        first.unwrap_or(&0),
        last.unwrap_or(&0),
        event_capacity,
        plan.sale.describe(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Inserts `plan.events` events with the plan's sale settings; their ids.
async fn insert_events(
    transaction: &tokio_postgres::Transaction<'_>,
    plan: &SeedPlan,
    event_capacity: i32,
) -> Result<Vec<i64>, tokio_postgres::Error> {
    let ids = transaction
        .query(INSERT_EVENTS, &[&plan.events, &event_capacity])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<Vec<i64>, _>>()?;
    let sale = &plan.sale;
    transaction
        .execute(
            SET_SALE_SETTINGS,
            &[
                &ids,
                &sale.max_per_user,
                &sale.hold_seconds,
                &sale.offer_seconds,
            ],
        )
        .await?;
    Ok(ids)
}

fn progress_line(seeded: i32, users: i32, started: Instant) -> String {
    format!(
        "seeded {seeded}/{users} users ({:.0} %, {:.1} s)",
        100.0 * f64::from(seeded) / f64::from(users),
        started.elapsed().as_secs_f64()
    )
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<SeedPlan, String> {
    let mut venue_capacity = 1_000;
    let mut event_capacity = None;
    let mut events = 1;
    let mut users = 10_000;
    let mut sale = SaleSettings::default();
    let mut add = false;
    let mut tokens = None;
    let mut token_users = None;
    // --add creates neither venue nor users: their flags would be ignored.
    let mut reset_flag = None;
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--add" => {
                add = true;
                continue;
            }
            "--tokens" => {
                tokens = Some(args.next().ok_or("--tokens needs a file")?);
                reset_flag = Some(flag.clone());
                continue;
            }
            "--venue-capacity" | "--users" => reset_flag = Some(flag.clone()),
            _ => {}
        }
        let target = match flag.as_str() {
            "--venue-capacity" => &mut venue_capacity,
            "--events" => &mut events,
            "--users" => &mut users,
            "--event-capacity" => event_capacity.get_or_insert(0),
            "--max-per-user" => sale.max_per_user.get_or_insert(0),
            "--token-users" => token_users.get_or_insert(0),
            "--hold-seconds" => sale.hold_seconds.get_or_insert(0),
            "--offer-seconds" => sale.offer_seconds.get_or_insert(0),
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        *target = value
            .parse::<i32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("{flag} must be a positive integer, got {value:?}"))?;
    }
    // The schema's CHECKs bound the sale settings too; saying so here names
    // the flag.
    if sale.max_per_user.is_some_and(|n| n > 100) {
        return Err("--max-per-user must be 1-100".to_owned());
    }
    for (flag, seconds) in [
        ("--hold-seconds", sale.hold_seconds),
        ("--offer-seconds", sale.offer_seconds),
    ] {
        if seconds.is_some_and(|n| n > 86_400) {
            return Err(format!("{flag} must be 1-86400"));
        }
    }
    if token_users.is_some() && tokens.is_none() {
        return Err("--token-users needs --tokens".to_owned());
    }
    if let (true, Some(flag)) = (add, &reset_flag) {
        return Err(format!("{flag} does not combine with --add"));
    }
    if !add && event_capacity.is_some_and(|capacity| capacity > venue_capacity) {
        return Err(format!(
            "--event-capacity {} exceeds --venue-capacity {venue_capacity}",
            event_capacity.unwrap_or(0)
        ));
    }
    Ok(SeedPlan {
        venue_capacity,
        event_capacity,
        events,
        users,
        sale,
        add,
        tokens,
        token_users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_says_how_far_the_seed_is() {
        let line = progress_line(300_000, 1_000_000, Instant::now());
        assert!(
            line.starts_with("seeded 300000/1000000 users (30 %"),
            "{line}"
        );
    }
}
