//! `verify`: the exact-sale check of `flashbook::verify` against a database,
//! for the shell proofs (`run_tests.sh`, `faults/`, `bench/`).

use std::process::ExitCode;

use flashbook::configuration::Settings;
use flashbook::verify::{
    self, Check, CheckoutState, CheckoutSummary, Expected, K6Summary, QueueState, QueueSummary,
    SaleState, Verdict,
};
use serde_json::json;
use tokio_postgres::NoTls;

const USAGE: &str = "\
usage: verify [--event-id N] [--capacity N] [--sold-out] [--k6-summary FILE]
              [--attempts N] [--title TEXT] [--json]
       verify --checkout [--event-id N] [--capacity N] [--k6-summary FILE]
              [--title TEXT] [--json]
       verify --queue [--event-id N] [--capacity N] [--k6-summary FILE]
              [--title TEXT] [--json]

Checks one event in the database: its counter equals its confirmed seats, it
sold no more than its capacity, and nobody holds more than its max_per_user.
  --event-id N       the event (default 1)
  --capacity N       the event's capacity must be N
  --sold-out         every seat must be sold
  --k6-summary FILE  the JSON summary k6/booking.js wrote: its 201s must equal the
                     confirmed bookings, no status but 201 and 409 sold_out or
                     already_booked, no failed k6 threshold
  --attempts N       the load made N attempts, each by a different user: every
                     answer but a 201 must be 409 sold_out
  --title TEXT       the table's heading
  --json             print one JSON object instead of the table
  --checkout         check a sale through holds and the waiting list instead
                     (k6/checkout.js): confirmed seats equal the capacity and
                     the counter, no unexpired hold is left, nobody is over
                     max_per_user, offers went in list order; with
                     --k6-summary (the JSON k6/checkout.js wrote): its 201
                     confirms and their seats equal the database's, no answer
                     outside the API's, no failed k6 threshold
  --queue            check a sale behind the waiting room instead
                     (k6/queue.js): confirmed seats equal the capacity and
                     the counter, every booking made with a pass, no pass
                     issued before its place's turn, places 1..tickets once
                     each; with --k6-summary (the JSON k6/queue.js wrote):
                     its joins, 201s and used passes equal the database's,
                     every buyer ended booked, sold out or still queued, no
                     unexpected answer, no failed k6 threshold
Prints the table and PASS, or FAIL: <every mismatch>. Exit status: 0 pass,
1 fail, 2 usage or database error.
Database settings come from DATABASE_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE.";

struct Options {
    event_id: i64,
    expected: Expected,
    k6_summary: Option<String>,
    title: String,
    json: bool,
    checkout: bool,
    queue: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("verify: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!(
                "verify: {}",
                flashbook::telemetry::error_chain(error.as_ref())
            );
            ExitCode::from(2)
        }
    }
}

/// Returns whether every check passed.
async fn run(options: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    if options.checkout {
        return run_checkout(options).await;
    }
    if options.queue {
        return run_queue(options).await;
    }
    let summary = read_summary(options, "k6/booking.js", K6Summary::from_json)?;
    let client = connect().await?;
    let state = SaleState::read(&client, options.event_id)
        .await?
        .ok_or_else(|| format!("event {} is not in the database", options.event_id))?;
    let verdict = verify::check(
        &state,
        summary.as_ref().map(|summary| &summary.responses),
        &options.expected,
    );
    let mut failures = verdict.failures();
    if let Some(summary) = &summary {
        failures.extend(thresholds_failure(&summary.failed_thresholds));
    }
    if options.json {
        let report = json!({
            "event_id": state.event_id,
            "capacity": state.capacity,
            "counter": state.counter,
            "confirmed": state.confirmed,
            "confirmed_seats": state.confirmed_seats,
            "users_over_limit": state.users_over_limit,
            "checks": verdict.checks,
            "k6": summary,
            "failures": failures,
            "ok": failures.is_empty(),
        });
        println!("{report}");
    } else {
        print_table(&options.title, &verdict, summary.as_ref());
        if failures.is_empty() {
            println!("PASS");
        } else {
            println!("FAIL: {}", failures.join("; "));
        }
    }
    Ok(failures.is_empty())
}

/// The checkout mode: the second proof's table (or JSON) and verdict.
async fn run_checkout(options: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    let summary = read_summary(options, "k6/checkout.js", CheckoutSummary::from_json)?;
    let client = connect().await?;
    let state = CheckoutState::read(&client, options.event_id)
        .await?
        .ok_or_else(|| format!("event {} is not in the database", options.event_id))?;
    let checks = verify::check_checkout(&state, summary.as_ref(), options.expected.capacity);
    let mut failures = verify::failures(&checks);
    if let Some(summary) = &summary {
        failures.extend(thresholds_failure(&summary.failed_thresholds));
    }
    if options.json {
        let report = json!({
            "state": state,
            "checks": checks,
            "k6": summary,
            "failures": failures,
            "ok": failures.is_empty(),
        });
        println!("{report}");
    } else {
        print_checks(&options.title, &checks);
        let row = |label: &str, value: String| println!("{label:<28} {value:>10}");
        row("event max_per_user", state.max_per_user.to_string());
        row("confirmed bookings", state.confirmed_bookings.to_string());
        row("waiting-list entries", state.waitlist_entries.to_string());
        row("waiting-list offers", state.waitlist_offers.to_string());
        if let Some(summary) = &summary {
            row("201 holds (k6)", summary.holds.to_string());
            row("holds refused (k6)", summary.holds_refused.to_string());
            row("holds walked away (k6)", summary.walked_away.to_string());
            row(
                "waiting list joined (k6)",
                summary.waitlist_joined.to_string(),
            );
            row("offers seen (k6)", summary.offers_seen.to_string());
            row("offers declined (k6)", summary.offers_declined.to_string());
            row(
                "confirms too late (k6)",
                summary.confirm_too_late.to_string(),
            );
            row("buyers at a bound (k6)", summary.gave_up.to_string());
            row(
                "k6 load duration",
                format!("{:.2} s", summary.duration_seconds),
            );
            row(
                "throughput",
                format!("{:.0} req/s", summary.requests_per_second),
            );
        }
        if failures.is_empty() {
            println!("PASS");
        } else {
            println!("FAIL: {}", failures.join("; "));
        }
    }
    Ok(failures.is_empty())
}

/// The queue mode: the third proof's table (or JSON) and verdict.
async fn run_queue(options: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    let summary = read_summary(options, "k6/queue.js", QueueSummary::from_json)?;
    let client = connect().await?;
    let state = QueueState::read(&client, options.event_id)
        .await?
        .ok_or_else(|| format!("event {} is not in the database", options.event_id))?;
    let checks = verify::check_queue(&state, summary.as_ref(), options.expected.capacity);
    let mut failures = verify::failures(&checks);
    if let Some(summary) = &summary {
        failures.extend(thresholds_failure(&summary.failed_thresholds));
    }
    if options.json {
        let report = json!({
            "state": state,
            "checks": checks,
            "k6": summary,
            "failures": failures,
            "ok": failures.is_empty(),
        });
        println!("{report}");
    } else {
        print_checks(&options.title, &checks);
        let row = |label: &str, value: String| println!("{label:<28} {value:>10}");
        row("tickets joined early", state.early_tickets.to_string());
        row("passes issued", state.passes_issued.to_string());
        row("passes used", state.passes_used.to_string());
        if let Some(summary) = &summary {
            row("buyers (k6)", summary.buyers.to_string());
            row("booked (k6)", summary.buyers_booked.to_string());
            row("sold out (k6)", summary.buyers_sold_out.to_string());
            row("still queued (k6)", summary.buyers_still_queued.to_string());
            row(
                "k6 load duration",
                format!("{:.2} s", summary.duration_seconds),
            );
            row(
                "throughput",
                format!("{:.0} req/s", summary.requests_per_second),
            );
        }
        if failures.is_empty() {
            println!("PASS");
        } else {
            println!("FAIL: {}", failures.join("; "));
        }
    }
    Ok(failures.is_empty())
}

/// Reads and parses `--k6-summary` when given; `script` names the k6 script
/// whose JSON the parser expects.
fn read_summary<T>(
    options: &Options,
    script: &str,
    parse: fn(&str) -> Result<T, serde_json::Error>,
) -> Result<Option<T>, String> {
    let Some(path) = &options.k6_summary else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the k6 summary {path}: {error}"))?;
    parse(&text)
        .map(Some)
        .map_err(|error| format!("the k6 summary {path} is not the JSON {script} writes: {error}"))
}

async fn connect() -> Result<tokio_postgres::Client, Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let (client, connection) = settings.database.connection.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

fn thresholds_failure(failed: &[String]) -> Option<String> {
    (!failed.is_empty()).then(|| format!("k6 thresholds failed: {}", failed.join(",")))
}

fn print_checks(title: &str, checks: &[Check]) {
    println!("{title:<28} {:>10} {:>10}", "actual", "expected");
    for check in checks {
        let mark = if check.ok { "ok" } else { "MISMATCH" };
        println!(
            "{:<28} {:>10} {:>10}  {mark}",
            check.label, check.actual, check.expected
        );
    }
}

fn print_table(title: &str, verdict: &Verdict, summary: Option<&K6Summary>) {
    print_checks(title, &verdict.checks);
    if let Some(summary) = summary {
        let measured = [
            (
                "k6 load duration",
                format!("{:.2} s", summary.duration_seconds),
            ),
            (
                "throughput",
                format!("{:.0} req/s", summary.requests_per_second),
            ),
            ("booking latency p95", format!("{:.1} ms", summary.p95_ms)),
            ("booking latency p99", format!("{:.1} ms", summary.p99_ms)),
        ];
        for (label, value) in measured {
            println!("{label:<28} {value:>10}");
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        event_id: 1,
        expected: Expected::default(),
        k6_summary: None,
        title: "flashbook sale check".to_owned(),
        json: false,
        checkout: false,
        queue: false,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--sold-out" => options.expected.sold_out = true,
            "--json" => options.json = true,
            "--checkout" => options.checkout = true,
            "--queue" => options.queue = true,
            "--event-id" => options.event_id = positive(&flag, args.next())?,
            "--capacity" => options.expected.capacity = Some(positive(&flag, args.next())?),
            "--attempts" => options.expected.attempts = Some(positive(&flag, args.next())?),
            "--k6-summary" => {
                options.k6_summary = Some(args.next().ok_or(format!("{flag} needs a file"))?)
            }
            "--title" => options.title = args.next().ok_or(format!("{flag} needs a text"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if (options.checkout || options.queue)
        && (options.expected.sold_out || options.expected.attempts.is_some())
    {
        return Err("--sold-out and --attempts are one-shot checks; --checkout \
                    and --queue always expect a sold-out event"
            .to_owned());
    }
    if options.checkout && options.queue {
        return Err("--checkout and --queue are two different checks: pick one".to_owned());
    }
    Ok(options)
}

fn positive(flag: &str, value: Option<String>) -> Result<i64, String> {
    let value = value.ok_or(format!("{flag} needs a value"))?;
    value
        .parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or(format!("{flag} must be a positive integer, got {value:?}"))
}
