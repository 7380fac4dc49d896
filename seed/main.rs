//! Resets the database and seeds a flash sale: venues, events and users,
//! set-based in one transaction. Users go in chunks of [`USER_CHUNK`], one
//! statement each, with a progress line on stderr after each chunk when
//! there is more than one; the summary line on stdout is what scripts read.

use std::process::ExitCode;
use std::time::Instant;

use flashbook::configuration::Settings;

const USAGE: &str = "\
usage: seed [--venue-capacity N] [--event-capacity N] [--events N] [--users N]

Deletes ALL venues, events, users, bookings and idempotency keys, then creates one venue,
events with ids 1..=events and users with ids 1..=users.
  --venue-capacity N   seats in the venue (default 1000)
  --event-capacity N   seats on sale per event (default: the venue's capacity)
  --events N           events to create (default 1)
  --users N            users to create, emails user<N>@example.com (default 10000)
Database settings come from DATABASE_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE.";

/// Idempotency keys go too: a stored outcome would replay a booking that no
/// longer exists.
const RESET: &str =
    "TRUNCATE idempotency_keys, waitlist_entries, holds, bookings, events, users, venues RESTART IDENTITY";
const INSERT_VENUE: &str = "INSERT INTO venues (name, capacity) VALUES ('Seed Arena', $1)";
const INSERT_EVENTS: &str = "
    INSERT INTO events (venue_id, name, starts_at, capacity)
    SELECT 1, 'Flash sale ' || n, now() + interval '30 days', $2
      FROM generate_series(1, $1::INTEGER) AS n";
/// Users `$1..=$2`; ids follow `n` because the reset restarts the sequence.
const INSERT_USERS: &str = "
    INSERT INTO users (email, name)
    SELECT 'user' || n || '@example.com', 'User ' || n
      FROM generate_series($1::INTEGER, $2::INTEGER) AS n";

/// Users per INSERT: a few seconds each, so a long seed reports progress.
const USER_CHUNK: i32 = 100_000;

struct SeedPlan {
    venue_capacity: i32,
    event_capacity: i32,
    events: i32,
    users: i32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let plan = match parse_args(std::env::args().skip(1)) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("seed: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match seed(&plan).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seed: {}", flashbook::error::error_chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn seed(plan: &SeedPlan) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let pool = flashbook::db::connect_and_migrate(&settings.database).await?;
    let mut client = pool.get().await?;
    let started = Instant::now();
    let transaction = client.transaction().await?;
    transaction.execute(RESET, &[]).await?;
    transaction
        .execute(INSERT_VENUE, &[&plan.venue_capacity])
        .await?;
    transaction
        .execute(INSERT_EVENTS, &[&plan.events, &plan.event_capacity])
        .await?;
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
    println!(
        "seeded 1 venue (capacity {}), {} event(s) (capacity {}), {} users in {:.3} s",
        plan.venue_capacity,
        plan.events,
        plan.event_capacity,
        plan.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
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
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let target = match flag.as_str() {
            "--venue-capacity" => &mut venue_capacity,
            "--events" => &mut events,
            "--users" => &mut users,
            "--event-capacity" => event_capacity.get_or_insert(0),
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        *target = value
            .parse::<i32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("{flag} must be a positive integer, got {value:?}"))?;
    }
    let event_capacity = event_capacity.unwrap_or(venue_capacity);
    if event_capacity > venue_capacity {
        return Err(format!(
            "--event-capacity {event_capacity} exceeds --venue-capacity {venue_capacity}"
        ));
    }
    Ok(SeedPlan {
        venue_capacity,
        event_capacity,
        events,
        users,
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
