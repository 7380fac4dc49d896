//! `verify`: one of the proofs of `flashbook_verify` against a database, for
//! the shell proofs (`run_tests.sh`, `faults/`, `bench/`).

mod faults;
mod prometheus;

use std::process::ExitCode;

use flashbook_verify::{failures, read_state, Checkout, Load, OneShot, Proof, Queue, Verdict};
use prometheus::Scrape;
use tokio_postgres::NoTls;

const USAGE: &str = "\
usage: verify [--event-id N] [--capacity N] [--sold-out] [--k6-summary FILE]
              [--attempts N] [--title TEXT] [--json]
       verify --checkout [--event-id N] [--capacity N] [--k6-summary FILE]
              [--title TEXT] [--json]
       verify --queue [--event-id N] [--capacity N] [--k6-summary FILE]
              [--title TEXT] [--json]
       verify faults load|schemathesis|summary|tamper ...  (faults/run_all.sh's
              verdicts: verify/src/faults.rs)

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
  --json             print one JSON object instead of the table: the event's
                     figures, checks, k6, failures, ok
  --prometheus URL --prometheus-replicas N --loaded-until EPOCH_S
                     also check that the seats Prometheus (at URL) says the N
                     API replicas sold, scraped after the load ended, equal
                     sum(events.booked) (verify/src/prometheus.rs)
  --checkout         check a sale through holds and the waiting list instead
                     (k6/checkout.js): confirmed seats equal the capacity and
                     the counter, no unexpired hold is left, nobody is over
                     max_per_user, offers went in list order; with
                     --k6-summary (the JSON k6/checkout.js wrote): its 201
                     confirms and their seats equal the database's, no answer
                     outside the API's, no failed k6 threshold
  --queue            check a sale behind the waiting room instead
                     (k6/queue.js): confirmed seats equal the capacity and
                     the counter, nobody is over max_per_user, every booking
                     made with a pass, no pass issued before its place's
                     turn, places 1..tickets once each; with --k6-summary
                     (the JSON k6/queue.js wrote): its joins, 201s and used
                     passes equal the database's, every buyer ended booked,
                     sold out or still queued, no unexpected answer, no
                     failed k6 threshold
Prints the table and PASS, or FAIL: <every mismatch>. Exit status: 0 pass,
1 fail, 2 usage or database error.
Database settings come from DATABASE_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    OneShot,
    Checkout,
    Queue,
}

#[derive(Debug)]
struct Options {
    mode: Mode,
    event_id: i64,
    capacity: Option<i64>,
    sold_out: bool,
    attempts: Option<i64>,
    k6_summary: Option<String>,
    title: String,
    json: bool,
    prometheus: Option<Scrape>,
}

type Error = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("faults") {
        return faults::main(args[1..].to_vec()).await;
    }
    let options = match parse_args(args.into_iter()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("verify: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let capacity = options.capacity;
    let outcome = match options.mode {
        Mode::OneShot => {
            let proof = OneShot {
                capacity,
                sold_out: options.sold_out,
                attempts: options.attempts,
            };
            prove(&proof, &options).await
        }
        Mode::Checkout => prove(&Checkout { capacity }, &options).await,
        Mode::Queue => prove(&Queue { capacity }, &options).await,
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("verify: {}", error_chain(error.as_ref()));
            ExitCode::from(2)
        }
    }
}

/// Runs one proof and prints its table (or JSON) and verdict; returns
/// whether it passed.
async fn prove<P: Proof>(proof: &P, options: &Options) -> Result<bool, Error> {
    let load = options
        .k6_summary
        .as_deref()
        .map(read_load::<P>)
        .transpose()?;
    let client = connect().await?;
    let state = read_state::<P>(&client, options.event_id)
        .await?
        .ok_or_else(|| format!("event {} is not in the database", options.event_id))?;
    let mut verdict = proof.verdict(state, load);
    if let Some(scrape) = &options.prometheus {
        let check = prometheus::seats_sold(scrape, &client).await?;
        if !check.ok {
            verdict
                .failures
                .extend(failures(std::slice::from_ref(&check)));
            verdict.ok = false;
        }
        verdict.checks.push(check);
    }
    if options.json {
        println!("{}", serde_json::to_string(&verdict)?);
    } else {
        print_table::<P>(&options.title, &verdict);
    }
    Ok(verdict.ok)
}

/// The `--k6-summary` file, as the proof's k6 script wrote it.
fn read_load<P: Proof>(path: &str) -> Result<Load<P::Told>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the k6 summary {path}: {error}"))?;
    P::load(&text).map_err(|error| {
        format!(
            "the k6 summary {path} is not the JSON {} writes: {error}",
            P::SCRIPT
        )
    })
}

/// The checks, the proof's figures, how the load ran, and the verdict line
/// (the scripts take `PASS` or `FAIL: ...` as the proof's last word).
fn print_table<P: Proof>(title: &str, verdict: &Verdict<P::State, P::Told>) {
    println!("{title:<28} {:>10} {:>10}", "actual", "expected");
    for check in &verdict.checks {
        let mark = if check.ok { "ok" } else { "MISMATCH" };
        println!(
            "{:<28} {:>10} {:>10}  {mark}",
            check.label, check.actual, check.expected
        );
    }
    let told = verdict
        .load
        .iter()
        .flat_map(|load| P::told_figures(&load.told));
    let mut figures: Vec<(&str, String)> = P::state_figures(&verdict.state)
        .into_iter()
        .chain(told)
        .map(|(label, count)| (label, count.to_string()))
        .collect();
    if let Some(load) = &verdict.load {
        figures.push((
            "k6 load duration",
            format!("{:.2} s", load.duration_seconds),
        ));
        figures.push((
            "throughput",
            format!("{:.0} req/s", load.requests_per_second),
        ));
        for (label, ms) in [("latency p95", load.p95_ms), ("latency p99", load.p99_ms)] {
            figures.extend(ms.map(|ms| (label, format!("{ms:.1} ms"))));
        }
    }
    for (label, figure) in figures {
        println!("{label:<28} {figure:>10}");
    }
    if verdict.ok {
        println!("PASS");
    } else {
        println!("FAIL: {}", verdict.failures.join("; "));
    }
}

async fn connect() -> Result<tokio_postgres::Client, Error> {
    let config = connection_config(|name| std::env::var(name).ok())?;
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The database to check, from the variables and with the defaults the
/// service reads (`flashbook::configuration`): `DATABASE_URL` when set,
/// else libpq's `PG*` variables. The checker keeps its own copy so that it
/// needs nothing of the service's crate.
fn connection_config(
    var: impl Fn(&str) -> Option<String>,
) -> Result<tokio_postgres::Config, String> {
    if let Some(url) = var("DATABASE_URL") {
        // The URL may hold a password: never echo it back.
        return url
            .parse()
            .map_err(|error| format!("DATABASE_URL is not a PostgreSQL URL: {error}"));
    }
    let or = |name, default: &str| var(name).unwrap_or_else(|| default.to_owned());
    let port = or("PGPORT", "5432");
    let mut config = tokio_postgres::Config::new();
    config
        .host(or("PGHOST", "localhost"))
        .port(
            port.trim()
                .parse()
                .map_err(|_| format!("PGPORT is not a port: {port:?}"))?,
        )
        .user(or("PGUSER", "postgres"))
        .dbname(or("PGDATABASE", "flashbook"));
    if let Some(password) = var("PGPASSWORD") {
        config.password(password);
    }
    Ok(config)
}

/// The error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let causes = std::iter::successors(error.source(), |cause| cause.source());
    causes.fold(error.to_string(), |line, cause| format!("{line}: {cause}"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        mode: Mode::OneShot,
        event_id: 1,
        capacity: None,
        sold_out: false,
        attempts: None,
        k6_summary: None,
        title: "flashbook sale check".to_owned(),
        json: false,
        prometheus: None,
    };
    let mut modes = Vec::new();
    let (mut prometheus, mut replicas, mut loaded_until) = (None, None, None);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--sold-out" => options.sold_out = true,
            "--json" => options.json = true,
            "--checkout" => modes.push(Mode::Checkout),
            "--queue" => modes.push(Mode::Queue),
            "--event-id" => options.event_id = positive(&flag, args.next())?,
            "--capacity" => options.capacity = Some(positive(&flag, args.next())?),
            "--attempts" => options.attempts = Some(positive(&flag, args.next())?),
            "--k6-summary" => {
                options.k6_summary = Some(args.next().ok_or(format!("{flag} needs a file"))?)
            }
            "--title" => options.title = args.next().ok_or(format!("{flag} needs a text"))?,
            "--prometheus" => prometheus = Some(args.next().ok_or(format!("{flag} needs a URL"))?),
            "--prometheus-replicas" => replicas = Some(positive(&flag, args.next())? as u64),
            "--loaded-until" => {
                let value = args.next().unwrap_or_default();
                loaded_until = Some(
                    value
                        .parse::<f64>()
                        .map_err(|_| format!("{flag} must be epoch seconds, got {value:?}"))?,
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    options.prometheus = match (prometheus, replicas, loaded_until) {
        (None, None, None) => None,
        (Some(url), Some(replicas), Some(loaded_until)) => Some(Scrape {
            url,
            replicas,
            loaded_until,
        }),
        _ => {
            return Err(
                "--prometheus, --prometheus-replicas and --loaded-until go together".to_owned(),
            )
        }
    };
    match modes[..] {
        [] => {}
        [_] if options.sold_out || options.attempts.is_some() => {
            return Err("--sold-out and --attempts are one-shot checks; --checkout \
                        and --queue always expect a sold-out event"
                .to_owned())
        }
        [mode] => options.mode = mode,
        _ => return Err("--checkout and --queue are different checks: pick one".to_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<tokio_postgres::Config, String> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        connection_config(|name| vars.get(name).map(|value| value.to_string()))
    }

    #[test]
    fn the_database_comes_from_the_url_or_the_pg_variables() {
        let url = config(&[
            ("DATABASE_URL", "postgres://app:secret@db:6543/sales"),
            ("PGDATABASE", "ignored"),
        ])
        .unwrap();
        assert_eq!(
            (url.get_dbname(), url.get_ports()),
            (Some("sales"), &[6543][..])
        );
        let pg = config(&[("PGPORT", "5433"), ("PGUSER", "fb"), ("PGPASSWORD", "pw")]).unwrap();
        assert_eq!(
            (pg.get_dbname(), pg.get_ports(), pg.get_user()),
            (Some("flashbook"), &[5433][..], Some("fb"))
        );
        assert_eq!(pg.get_password(), Some(&b"pw"[..]));
        let error = config(&[("DATABASE_URL", "postgres://u:hunter2@h:notaport/db")]).unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(config(&[("PGPORT", "x")]).is_err());
    }

    #[test]
    fn one_mode_at_a_time_and_one_shot_flags_only_in_one_shot() {
        let args = |list: &[&str]| parse_args(list.iter().map(|arg| arg.to_string()));
        assert_eq!(args(&["--queue"]).unwrap().mode, Mode::Queue);
        assert_eq!(args(&["--sold-out"]).unwrap().mode, Mode::OneShot);
        assert!(args(&["--checkout", "--queue"]).is_err());
        assert!(args(&["--checkout", "--sold-out"]).is_err());
        assert!(args(&["--event-id", "0"]).is_err());
    }
}
