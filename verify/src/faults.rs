//! `verify faults ...`: the verdicts of the fault-injection proofs
//! (`faults/run_all.sh`, `./run_tests.sh --compose --ha`), which compare
//! what every k6 client was told with what the database holds.
//!
//! ```text
//! verify faults load --scenario NAME --records FILE --summary FILE --db-url URL
//!                    [--result OUT.json] [--event-id N (1)] [--allow-status 201,409]
//!                    [--require-status S,...] [--no-response never|killed-url|allowed]
//!                    [--killed-url INDEX (1)] [--failover] [--expect-loss]
//!                    [--max-duration-ms MS] [--expect-sold-out] [--clients N]
//!                    [--idempotent] [--recovery-bound-ms MS (5000)]
//!                    [--mark NAME=EPOCH_MS]... [--service-log FILE]...
//! verify faults schemathesis --scenario NAME --output FILE --exit-status N
//!                    --alive 0|1 --service-log FILE [--result OUT.json]
//! verify faults summary RESULT.json...
//! verify faults tamper MODE RECORDS   (faults/scenarios/checker_self_test.sh)
//! ```
//!
//! `load` reads the "FB {json}" lines of faults/k6/*.js (one per HTTP
//! request, see faults/k6/records.js), the event's bookings and the one-shot
//! proof's state (the sale's own invariants), prints the scenario's figures
//! and every violated invariant, writes them to `--result` and exits 1 when
//! one is violated (2 on a usage or input error). `summary` prints one table
//! row per result file and exits 1 when any scenario failed.
//!
//! Invariants of every booking load:
//! - every booking id a client got in a 201 exists, confirmed, for that user
//!   (lost acknowledged bookings: 0), and no id was given to two users;
//! - the one-shot proof: confirmed bookings <= capacity (oversold: 0), the
//!   event's counter == confirmed rows, nobody over `max_per_user`;
//! - no booking for a user who never asked; no booking for a user who was
//!   given a final refusal (409 sold_out...) or a 503 and never a 201;
//! - only the allowed statuses; every 503 carries Retry-After;
//! - every request was recorded (records == k6's http_reqs).
//!
//! Bookings no client saw a 201 for are "lost in flight": counted, allowed.
//! `--allow-status`: the statuses booking requests may get; `--require-status`:
//! statuses that must occur at least once; `--no-response`: when a request may
//! end without an answer (`killed-url`: only on that base URL, from the
//! `kill_at` mark on); `--expect-sold-out`: exactly the capacity acknowledged
//! and confirmed; `--clients N`: N clients, each ending with one 201 or one
//! 409 sold_out; `--idempotent`: clients retried with an Idempotency-Key, so
//! one booking each; marks: `restart_start`, `restart_done`, `ready_at`,
//! `kill_at`, `db_kill_N`, `db_promoted_N`, `db_ready_N`, `db_not_ready_N`.
//!
//! With `--failover` (faults/scenarios/primary_failover.sh, the compose HA
//! proof), never a hang: every request, answered or not, ends within
//! [`FAILOVER_WAIT_BOUND_MS`] of being sent, and a request without an answer
//! was in flight during a kill window (a `db_kill_N` mark to the first 201
//! after it). With `--expect-loss` (primary_failover_async.sh), lost
//! acknowledged bookings are the expected outcome: they must be found, and
//! any other violation still fails the check.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;
use std::process::ExitCode;

use flashbook_verify::{read_state, OneShot, Proof};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_postgres::NoTls;

type Error = Box<dyn std::error::Error>;

/// The prefix of a record line in k6's console output.
const MARKER: &str = "FB ";

/// The longest a booking request may wait during a database failover. The
/// service answers 503 within its pool wait (2 s) while no primary takes
/// writes; one connection attempt to a dead node may add the connect
/// timeout (1 s in the compose stack; refused at once on loopback); 2 s more
/// for a loaded 2-core machine (k6, two services and the database pair share
/// it). Runs on the host stayed under 2 s. Below the service's own
/// whole-request bound (10 s, 503 request_timeout), so a request that ran
/// into that fails too.
const FAILOVER_WAIT_BOUND_MS: i64 = 5000;
/// A request answered by a process a moment before the kill was recorded.
const KILL_MARK_SLACK_MS: i64 = 100;

/// One request, as faults/k6/records.js wrote it.
#[derive(Debug, Clone, Deserialize)]
struct Record {
    /// Status; 0 when no answer came.
    s: i64,
    /// The problem+json code of an error answer.
    c: Option<String>,
    #[serde(default)]
    u: i64,
    /// The booking id a 201 named (-1: unreadable).
    b: Option<i64>,
    /// The index of the base URL it was sent to.
    #[serde(default)]
    n: i64,
    t0: i64,
    t1: i64,
    d: f64,
    ra: Option<String>,
    /// k6's error code (0 when an answer came).
    #[serde(default)]
    e: i64,
    /// 1 when the answer was replayed (Idempotent-Replayed).
    #[serde(default)]
    r: i64,
    /// The case of a deliberately malformed request, and whether its answer
    /// was the expected one.
    x: Option<String>,
    ok: Option<bool>,
}

impl Record {
    fn label(&self) -> String {
        match (self.s, &self.c) {
            (0, _) => "no response".to_owned(),
            (s, Some(code)) if s >= 400 => format!("{s} {code}"),
            (s, _) => s.to_string(),
        }
    }

    fn waited(&self) -> i64 {
        self.t1 - self.t0
    }

    /// An answer a client acts on, rather than retries.
    fn is_final(&self) -> bool {
        !(self.s == 0 || self.s == 503 || self.c.as_deref() == Some("request_in_progress"))
    }
}

pub async fn main(args: Vec<String>) -> ExitCode {
    let outcome = match args.first().map(String::as_str) {
        Some("load") => check_load(&args[1..]).await,
        Some("schemathesis") => check_schemathesis(&args[1..]),
        Some("summary") => summary(&args[1..]),
        Some("tamper") => tamper(&args[1..]),
        _ => Err(
            "usage: verify faults load|schemathesis|summary|tamper ... (verify/src/faults.rs)"
                .into(),
        ),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("verify faults: {error}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` options, `--flag`s and repeated options, as given.
struct Args {
    values: HashMap<String, Vec<String>>,
}

impl Args {
    fn parse(args: &[String], flags: &[&str]) -> Result<Self, Error> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut args = args.iter();
        while let Some(name) = args.next() {
            if !name.starts_with("--") {
                return Err(format!("unexpected argument {name:?}").into());
            }
            let value = if flags.contains(&name.as_str()) {
                String::new()
            } else {
                args.next().ok_or(format!("{name} needs a value"))?.clone()
            };
            values.entry(name.clone()).or_default().push(value);
        }
        Ok(Self { values })
    }

    fn flag(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map_or(&[], Vec::as_slice)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.all(name).last().map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, Error> {
        Ok(self.get(name).ok_or(format!("{name} is required"))?)
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Error> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => Ok(text
                .parse()
                .map_err(|_| format!("{name}: not a number: {text:?}"))?),
        }
    }

    fn statuses(&self, name: &str, default: &str) -> Result<Vec<i64>, Error> {
        let text = self.get(name).unwrap_or(default);
        text.split(',')
            .filter(|status| !status.is_empty())
            .map(|status| {
                Ok(status
                    .parse()
                    .map_err(|_| format!("{name}: not a status: {status:?}"))?)
            })
            .collect()
    }
}

enum Kind {
    /// An acknowledged booking missing from the database: the one violation
    /// `--expect-loss` expects.
    Lost,
    Other,
}

/// A scenario's figures (in the order found) and violations.
struct Report {
    scenario: String,
    figures: Vec<(String, Value)>,
    violations: Vec<(Kind, String)>,
}

impl Report {
    fn new(scenario: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            figures: Vec::new(),
            violations: Vec::new(),
        }
    }

    fn figure(&mut self, name: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.figures.iter_mut().find(|(known, _)| known == name) {
            Some(figure) => figure.1 = value,
            None => self.figures.push((name.to_owned(), value)),
        }
    }

    fn violate(&mut self, message: String) {
        self.violations.push((Kind::Other, message));
    }

    /// The message and up to five examples.
    fn violate_with<T: Debug>(
        &mut self,
        kind: Kind,
        message: String,
        examples: impl IntoIterator<Item = T>,
    ) {
        let examples: Vec<T> = examples.into_iter().take(5).collect();
        let message = if examples.is_empty() {
            message
        } else {
            format!("{message} (e.g. {examples:?})")
        };
        self.violations.push((kind, message));
    }

    /// `--expect-loss`: the lost acknowledged bookings become the expected
    /// outcome (a figure); finding none is the violation; every other
    /// violation stays one.
    fn expect_loss(&mut self) {
        let (lost, other): (Vec<_>, Vec<_>) = std::mem::take(&mut self.violations)
            .into_iter()
            .partition(|(kind, _)| matches!(kind, Kind::Lost));
        self.violations = other;
        let lost: Vec<String> = lost.into_iter().map(|(_, message)| message).collect();
        if lost.is_empty() {
            self.figure("expected violations (loss)", "none");
            self.violate(
                "no acknowledged booking was lost: the check could not tell a lossy failover"
                    .to_owned(),
            );
        } else {
            self.figure("expected violations (loss)", lost);
        }
    }

    /// Prints the figures, the violations and the verdict; writes the result
    /// file the summary reads. Whether the scenario passed.
    fn finish(self, result: Option<&str>) -> Result<bool, Error> {
        println!("\n  {}: figures", self.scenario);
        for (name, value) in &self.figures {
            println!("    {:.<44} {}", format!("{name} "), show(value));
        }
        let violations: Vec<String> = self
            .violations
            .into_iter()
            .map(|(_, message)| message)
            .collect();
        for violation in &violations {
            println!("  VIOLATION: {violation}");
        }
        let ok = violations.is_empty();
        println!("  {}: {}", self.scenario, if ok { "PASS" } else { "FAIL" });
        if let Some(path) = result {
            let figures: serde_json::Map<String, Value> = self.figures.into_iter().collect();
            let result = json!({"scenario": self.scenario, "ok": ok, "figures": figures, "violations": violations});
            std::fs::write(path, result.to_string())
                .map_err(|error| format!("cannot write {path}: {error}"))?;
        }
        Ok(ok)
    }
}

/// A figure as the tables show it: text without quotes, nothing as "-".
fn show(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() => format!("{float:.0}"),
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

fn read_records(path: &str) -> Result<Vec<Record>, Error> {
    let text = std::fs::read(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    String::from_utf8_lossy(&text)
        .lines()
        .enumerate()
        .filter_map(|(number, line)| Some((number + 1, line.strip_prefix(MARKER)?)))
        .map(|(number, json)| {
            serde_json::from_str(json)
                .map_err(|error| format!("{path}:{number}: unreadable record: {error}").into())
        })
        .collect()
}

/// `--mark NAME=EPOCH_MS`s.
fn marks(args: &Args) -> Result<HashMap<String, i64>, Error> {
    args.all("--mark")
        .iter()
        .map(|mark| {
            let (name, value) = mark.split_once('=').unwrap_or((mark, ""));
            let value = value
                .trim()
                .parse()
                .map_err(|_| format!("--mark {mark:?}: expected NAME=EPOCH_MS"))?;
            Ok((name.to_owned(), value))
        })
        .collect()
}

fn counts<'a>(labels: impl Iterator<Item = String> + 'a) -> Value {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for label in labels {
        *counts.entry(label).or_default() += 1;
    }
    json!(counts)
}

fn percentile(values: &[f64], fraction: f64) -> Option<f64> {
    let mut ordered = values.to_vec();
    ordered.sort_by(f64::total_cmp);
    let index = ((fraction * ordered.len() as f64) as usize).min(ordered.len().checked_sub(1)?);
    Some(ordered[index])
}

fn max_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.max_by(f64::total_cmp)
}

async fn check_load(args: &[String]) -> Result<bool, Error> {
    let args = Args::parse(
        args,
        &[
            "--failover",
            "--expect-loss",
            "--expect-sold-out",
            "--idempotent",
        ],
    )?;
    let scenario = args.required("--scenario")?;
    let db_url = args.required("--db-url")?;
    let event_id: i64 = args.number("--event-id", 1)?;
    let killed_url: i64 = args.number("--killed-url", 1)?;
    let recovery_bound_ms: i64 = args.number("--recovery-bound-ms", 5000)?;
    let max_duration_ms: Option<f64> = args.get("--max-duration-ms").map(str::parse).transpose()?;
    let no_response = args.get("--no-response").unwrap_or("never");
    if !["never", "killed-url", "allowed"].contains(&no_response) {
        return Err(format!(
            "--no-response must be never, killed-url or allowed, not {no_response:?}"
        )
        .into());
    }
    let (idempotent, failover) = (args.flag("--idempotent"), args.flag("--failover"));
    let expect_sold_out = args.flag("--expect-sold-out");
    let clients: Option<usize> = args.get("--clients").map(str::parse).transpose()?;
    let marks = marks(&args)?;
    let records = read_records(args.required("--records")?)?;
    let summary_path = args.required("--summary")?;
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(summary_path)
            .map_err(|error| format!("cannot read {summary_path}: {error}"))?,
    )?;
    let mut report = Report::new(scenario);
    // Deliberately malformed requests, and booking attempts.
    let (bad, good): (Vec<&Record>, Vec<&Record>) = records.iter().partition(|r| r.x.is_some());

    report.figure("requests sent", records.len());
    if summary["http_reqs"].as_u64() != Some(records.len() as u64) {
        report.violate(format!(
            "k6 sent {} requests but recorded {}",
            summary["http_reqs"],
            records.len()
        ));
    }
    report.figure(
        "load duration s",
        (summary["duration_ms"].as_f64().unwrap_or(0.0) / 100.0).round() / 10.0,
    );
    let mut users: BTreeMap<i64, Vec<&Record>> = BTreeMap::new();
    for record in &good {
        users.entry(record.u).or_default().push(record);
    }
    report.figure("booking requests", good.len());
    report.figure("clients (users)", users.len());
    report.figure("statuses", counts(good.iter().map(|r| r.label())));

    // ---- statuses, Retry-After, durations
    let allowed = args.statuses("--allow-status", "201,409")?;
    let unexpected: Vec<_> = good
        .iter()
        .filter(|r| r.s != 0 && !allowed.contains(&r.s))
        .collect();
    if !unexpected.is_empty() {
        report.violate_with(
            Kind::Other,
            format!(
                "{} answers with a status outside {allowed:?}",
                unexpected.len()
            ),
            unexpected.iter().map(|r| (r.u, r.s, r.c.clone())),
        );
    }
    let no_retry_after = records
        .iter()
        .filter(|r| r.s == 503 && r.ra.is_none())
        .count();
    report.figure("503 without Retry-After", no_retry_after);
    if no_retry_after > 0 {
        report.violate(format!("{no_retry_after} 503 answers without Retry-After"));
    }
    let unanswered: Vec<&Record> = good.iter().copied().filter(|r| r.s == 0).collect();
    if failover {
        never_a_hang(&mut report, &marks, &good);
    } else if no_response == "never" && !unanswered.is_empty() {
        let codes: BTreeSet<i64> = unanswered.iter().map(|r| r.e).collect();
        report.violate(format!(
            "{} requests got no response (k6 error codes {codes:?})",
            unanswered.len()
        ));
    } else if no_response == "killed-url" {
        let kill_at = *marks
            .get("kill_at")
            .ok_or("--no-response killed-url needs --mark kill_at=...")?;
        // A request in flight on the killed process may fail a moment before
        // the kill is recorded; anything earlier, or on the survivor, is a bug.
        let stray: Vec<_> = unanswered
            .iter()
            .filter(|r| r.n != killed_url || r.t1 < kill_at - KILL_MARK_SLACK_MS)
            .map(|r| (r.u, r.n, r.e))
            .collect();
        if !stray.is_empty() {
            let message = format!(
                "{} requests got no response outside the killed process",
                stray.len()
            );
            report.violate_with(Kind::Other, message, stray);
        }
    }
    let durations: Vec<f64> = good.iter().filter(|r| r.s != 0).map(|r| r.d).collect();
    report.figure("max duration ms", max_of(durations.iter().copied()));
    report.figure("p99 duration ms", percentile(&durations, 0.99));
    if let Some(longest) = max_of(good.iter().filter(|r| r.s == 503).map(|r| r.d)) {
        report.figure("max 503 duration ms", longest);
    }
    if let Some(bound) = max_duration_ms {
        let slow: Vec<_> = good
            .iter()
            .filter(|r| r.s != 0 && r.d > bound)
            .map(|r| (r.u, r.s, r.d))
            .collect();
        if !slow.is_empty() {
            report.violate_with(
                Kind::Other,
                format!("{} requests took longer than {bound} ms", slow.len()),
                slow,
            );
        }
    }
    for status in args.statuses("--require-status", "")? {
        if !good.iter().any(|r| r.s == status) {
            report.violate(format!(
                "no request got {status}: the scenario did not do what it is for"
            ));
        }
    }

    // ---- what clients were told
    let mut acked: BTreeMap<Option<i64>, BTreeSet<i64>> = BTreeMap::new(); // booking id -> users told it
    for record in good.iter().filter(|r| r.s == 201) {
        acked.entry(record.b).or_default().insert(record.u);
    }
    report.figure("201 responses", good.iter().filter(|r| r.s == 201).count());
    report.figure("acknowledged bookings", acked.len());
    let unreadable = |id: &Option<i64>| matches!(id, None | Some(-1));
    let shared: Vec<_> = acked
        .iter()
        .filter(|(id, told)| told.len() > 1 || unreadable(id))
        .collect();
    if !shared.is_empty() {
        // After a failover to a standby that missed commits the new primary
        // hands the lost ids out again: one user told each is a lost booking.
        let kind = if shared.iter().any(|(id, _)| unreadable(id)) {
            Kind::Other
        } else {
            Kind::Lost
        };
        let message = format!(
            "{} booking ids missing or told to several users",
            shared.len()
        );
        report.violate_with(kind, message, shared.iter().map(|(id, told)| (id, told)));
    }

    // ---- what the database holds
    let (bookings, sale) = read_sale(db_url, event_id, expect_sold_out).await?;
    let confirmed: HashMap<i64, i64> = bookings
        .iter()
        .filter(|(_, _, status)| status == "confirmed")
        .map(|&(id, user, _)| (id, user))
        .collect();
    let mut rows_per_user: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, user, _) in &bookings {
        *rows_per_user.entry(*user).or_default() += 1;
    }
    report.figure("capacity", sale.state.capacity);
    report.figure("bookings in DB", sale.state.confirmed);
    report.figure("event counter", sale.state.counter);

    // Per (booking id, user) told: after a failover to a standby that missed
    // commits, the new primary hands the lost ids out again, to other users.
    let lost: Vec<_> = acked
        .iter()
        .flat_map(|(id, told)| told.iter().map(move |user| (*id, *user)))
        .filter(|(id, user)| id.and_then(|id| confirmed.get(&id)) != Some(user))
        .collect();
    report.figure("lost acknowledged", lost.len());
    if !lost.is_empty() {
        let message = format!(
            "{} acknowledged bookings are not confirmed in the database",
            lost.len()
        );
        report.violate_with(Kind::Lost, message, lost);
    }
    report.figure(
        "oversold",
        (sale.state.confirmed - sale.state.capacity).max(0),
    );
    report.figure("users over max_per_user", sale.state.users_over_limit);
    for failure in &sale.failures {
        report.violate(format!("verify: {failure}"));
    }
    if expect_sold_out && acked.len() as i64 != sale.state.capacity {
        report.violate(format!(
            "the sale did not sell exactly its capacity: {} acknowledged, capacity {}",
            acked.len(),
            sale.state.capacity
        ));
    }
    if idempotent {
        let twice: Vec<_> = rows_per_user
            .iter()
            .filter(|(_, &rows)| rows > 1)
            .map(|(user, _)| user)
            .collect();
        if !twice.is_empty() {
            report.violate_with(
                Kind::Other,
                format!(
                    "{} idempotent clients have several booking rows",
                    twice.len()
                ),
                twice,
            );
        }
    }
    let phantom: Vec<_> = rows_per_user
        .keys()
        .filter(|user| !users.contains_key(user))
        .collect();
    if !phantom.is_empty() {
        report.violate_with(
            Kind::Other,
            format!("{} bookings for users who never asked", phantom.len()),
            phantom,
        );
    }

    let mut in_flight: Vec<i64> = confirmed
        .keys()
        .copied()
        .filter(|id| !acked.contains_key(&Some(*id)))
        .collect();
    in_flight.sort_unstable();
    report.figure("lost in flight", in_flight.len());
    // Among them: clients answered 503, which the README promises means
    // "nothing was booked", although the booking committed.
    let answered_503 = |id: &i64| {
        users
            .get(&confirmed[id])
            .is_none_or(|asked| asked.iter().all(|r| r.s == 503))
    };
    let told_503: Vec<_> = in_flight
        .iter()
        .filter(|id| answered_503(id))
        .map(|id| (id, confirmed[id]))
        .collect();
    report.figure("  of which answered 503", told_503.len());
    if !told_503.is_empty() && !idempotent {
        let message = format!(
            "{} clients were answered 503 (nothing booked, says the README) but their booking committed (booking id, user)",
            told_503.len()
        );
        report.violate_with(Kind::Other, message, told_503);
    }
    let mut final_refusals = Vec::new();
    let mut gave_up = 0;
    for (user, attempts) in &users {
        match attempts.iter().rfind(|r| r.is_final()) {
            None => gave_up += 1,
            Some(last)
                if !attempts.iter().any(|r| r.s == 201) && rows_per_user.contains_key(user) =>
            {
                final_refusals.push((user, last.label()))
            }
            Some(_) => {}
        }
    }
    if !final_refusals.is_empty() {
        let message = format!(
            "{} users were refused but hold a booking",
            final_refusals.len()
        );
        report.violate_with(Kind::Other, message, final_refusals);
    }
    if let Some(clients) = clients {
        // Every client stops at its first final answer: one 201 or one 409
        // sold_out each.
        let created = good.iter().filter(|r| r.s == 201).count();
        let sold_out = good.iter().filter(|r| r.label() == "409 sold_out").count();
        for (label, actual, expected) in [
            ("clients", users.len(), clients),
            ("clients that gave up", gave_up, 0),
            ("201 responses", created, acked.len()),
            (
                "409 sold_out",
                sold_out,
                clients.saturating_sub(acked.len()),
            ),
        ] {
            if actual != expected {
                report.violate(format!("{label}: {actual}, expected {expected}"));
            }
        }
    }
    if idempotent {
        report.figure("retries", good.len() - users.len());
        report.figure("replayed answers", good.iter().map(|r| r.r).sum::<i64>());
        // Replayed by another process than the client first asked: the key
        // lives in the database, not in a process.
        let elsewhere = users
            .values()
            .flat_map(|attempts| attempts.iter().filter(|r| r.r != 0 && r.n != attempts[0].n))
            .count();
        report.figure("  of which by the other process", elsewhere);
        // With a key, a client that kept retrying got the truth (a 201 with
        // its one booking, or a refusal and no booking: checked above); only
        // one that gave up can have a booking it never heard of.
        report.figure("clients that gave up", gave_up);
    }

    recovery(&mut report, &marks, &good, killed_url, recovery_bound_ms);
    check_malformed(&mut report, &bad);
    for log in args.all("--service-log") {
        check_service_log(&mut report, log)?;
    }
    if args.flag("--expect-loss") {
        report.expect_loss();
    }
    report.finish(args.get("--result"))
}

/// The event's bookings (id, user, status) and the one-shot proof's
/// verdict on it, without a k6 summary.
async fn read_sale(
    db_url: &str,
    event_id: i64,
    sold_out: bool,
) -> Result<
    (
        Vec<(i64, i64, String)>,
        flashbook_verify::Verdict<flashbook_verify::SaleState, flashbook_verify::Responses>,
    ),
    Error,
> {
    let config: tokio_postgres::Config = db_url.parse()?;
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT id, user_id, status FROM bookings WHERE event_id = $1",
            &[&event_id],
        )
        .await?;
    let bookings = rows
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let state = read_state::<OneShot>(&client, event_id)
        .await?
        .ok_or(format!("event {event_id} is not in the database"))?;
    let proof = OneShot {
        capacity: None,
        sold_out,
        attempts: None,
    };
    Ok((bookings, proof.verdict(state, None)))
}

/// (kill, end) of each database kill (`db_kill_N` marks): from the kill to
/// the end of the first 201 of a request sent after it, the moment the sale
/// was going again.
fn kill_windows(marks: &HashMap<String, i64>, good: &[&Record]) -> Vec<(usize, i64, Option<i64>)> {
    (1..)
        .map_while(|number| Some((number, *marks.get(&format!("db_kill_{number}"))?)))
        .map(|(number, kill_at)| {
            let back = good
                .iter()
                .filter(|r| r.s == 201 && r.t0 >= kill_at)
                .map(|r| r.t1)
                .min();
            (number, kill_at, back)
        })
        .collect()
}

/// A failover proof's promise: every request gets an answer within
/// [`FAILOVER_WAIT_BOUND_MS`] (k6's own timeout is longer, so a request that
/// hangs shows here as a long wait, answered or not), and a request gets no
/// answer only when it was in flight during a kill window.
fn never_a_hang(report: &mut Report, marks: &HashMap<String, i64>, good: &[&Record]) {
    report.figure("wait bound ms", FAILOVER_WAIT_BOUND_MS);
    report.figure("max wait ms", good.iter().map(|r| r.waited()).max());
    let slow: Vec<_> = good
        .iter()
        .filter(|r| r.waited() > FAILOVER_WAIT_BOUND_MS)
        .map(|r| (r.u, r.s, r.waited()))
        .collect();
    if !slow.is_empty() {
        let message = format!(
            "{} requests waited longer than the bound of {FAILOVER_WAIT_BOUND_MS} ms (user, status, waited ms)",
            slow.len()
        );
        report.violate_with(Kind::Other, message, slow);
    }
    let windows = kill_windows(marks, good);
    if windows.is_empty() {
        report.violate(
            "--failover without a db_kill_1 mark: no kill window to judge answers by".to_owned(),
        );
    }
    // A window with no 201 after it is a violation of its own (failovers()).
    let in_window: Vec<(i64, i64)> = windows
        .iter()
        .filter_map(|&(_, kill, back)| Some((kill - KILL_MARK_SLACK_MS, back?)))
        .collect();
    let unanswered: Vec<_> = good.iter().filter(|r| r.s == 0).collect();
    report.figure("no response (allowed in kill windows)", unanswered.len());
    let stray: Vec<_> = unanswered
        .iter()
        .filter(|r| {
            !in_window
                .iter()
                .any(|&(start, end)| r.t1 >= start && r.t0 <= end)
        })
        .map(|r| (r.u, r.e, r.t0, r.t1))
        .collect();
    if !stray.is_empty() {
        let message = format!(
            "{} requests got no answer outside the kill windows {in_window:?} (user, k6 error, sent, ended)",
            stray.len()
        );
        report.violate_with(Kind::Other, message, stray);
    }
}

fn first_201_from(good: &[&Record], from: i64, on: impl Fn(&Record) -> bool) -> Option<i64> {
    good.iter()
        .filter(|r| r.s == 201 && r.t0 >= from && on(r))
        .map(|r| r.t1)
        .min()
}

fn recovery(
    report: &mut Report,
    marks: &HashMap<String, i64>,
    good: &[&Record],
    killed_url: i64,
    bound_ms: i64,
) {
    if let (Some(&start), Some(&done)) = (marks.get("restart_start"), marks.get("restart_done")) {
        report.figure("PostgreSQL down ms", done - start);
        match marks.get("ready_at") {
            Some(ready_at) => report.figure("/ready 200 after restart ms", ready_at - start),
            None => report.violate("/ready did not answer 200 after the restart".to_owned()),
        }
        let failed = good
            .iter()
            .filter(|r| (r.s == 0 || r.s == 503) && r.t1 >= start)
            .count();
        report.figure("503/no response from restart on", failed);
        match first_201_from(good, done, |_| true) {
            None => report.violate("no booking succeeded after the restart".to_owned()),
            Some(first) => {
                report.figure("first 201 after restart ms", first - start);
                let heal = first - done;
                report.figure("recovery ms (PG up -> first 201)", heal);
                if heal > bound_ms {
                    report.violate(format!(
                        "the service took {heal} ms after PostgreSQL was back to book again (bound {bound_ms} ms)"
                    ));
                }
            }
        }
    }
    failovers(report, marks, good);
    if let Some(&kill_at) = marks.get("kill_at") {
        let unanswered = good
            .iter()
            .filter(|r| r.s == 0 && r.n == killed_url)
            .count();
        report.figure("no response (killed process's URL)", unanswered);
        match first_201_from(good, kill_at, |r| r.n != killed_url) {
            None => {
                report.violate("the surviving process booked nothing after the kill".to_owned())
            }
            Some(first) => report.figure(
                "recovery ms (kill -> first 201 on survivor)",
                first - kill_at,
            ),
        }
    }
}

/// Database failovers (faults/scenarios/primary_failover*.sh): for each
/// `db_kill_N` mark, the failover time is the kill to the first 201 of a
/// request sent after it, which only the new primary can have served.
fn failovers(report: &mut Report, marks: &HashMap<String, i64>, good: &[&Record]) {
    for (number, kill_at, back) in kill_windows(marks, good) {
        let mark = |name: &str| marks.get(&format!("db_{name}_{number}")).copied();
        if let Some(promoted) = mark("promoted") {
            report.figure(
                &format!("kill {number} -> promotion seen ms"),
                promoted - kill_at,
            );
        }
        if let Some(ready) = mark("ready") {
            report.figure(&format!("kill {number} -> /ready 200 ms"), ready - kill_at);
        }
        if let Some(not_ready) = mark("not_ready") {
            report.figure(
                &format!("kill {number}: /ready 503 answers seen"),
                not_ready,
            );
            if not_ready == 0 {
                report.violate(format!(
                    "/ready never said not ready between database kill {number} and the promotion"
                ));
            }
        }
        match back {
            None => report.violate(format!("no booking succeeded after database kill {number}")),
            Some(first) => report.figure(&format!("failover {number} ms"), first - kill_at),
        }
    }
}

fn check_malformed(report: &mut Report, bad: &[&Record]) {
    if bad.is_empty() {
        return;
    }
    report.figure("malformed requests", bad.len());
    report.figure("malformed statuses", counts(bad.iter().map(|r| r.label())));
    let mut wrong: BTreeMap<&str, BTreeMap<String, i64>> = BTreeMap::new();
    for record in bad.iter().filter(|r| r.ok != Some(true)) {
        let case = record.x.as_deref().unwrap_or_default();
        *wrong
            .entry(case)
            .or_default()
            .entry(record.label())
            .or_default() += 1;
    }
    report.figure(
        "malformed answered wrong",
        wrong.values().flat_map(|c| c.values()).sum::<i64>(),
    );
    for (case, statuses) in wrong {
        report.violate(format!("malformed case {case:?} answered {statuses:?}"));
    }
}

/// A panic, or an error the service logged itself (an internal error is a
/// 500), is a bug whatever the clients saw. actix's own ERROR lines about
/// unparseable requests are the client's fault and are not counted.
fn check_service_log(report: &mut Report, path: &str) -> Result<(), Error> {
    let text = std::fs::read(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    let (mut panics, mut errors) = (Vec::new(), Vec::new());
    let mut statuses: BTreeMap<String, i64> = BTreeMap::new();
    for line in String::from_utf8_lossy(&text).lines() {
        // env_logger's "[TIME LEVEL TARGET] message".
        let mut head = line
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .unwrap_or("")
            .split_whitespace();
        let (level, target) = (head.nth(1), head.next());
        if line.contains("panicked") {
            panics.push(line.to_owned());
        } else if level == Some("ERROR")
            && target.is_some_and(|target| !target.starts_with("actix_http"))
        {
            errors.push(line.to_owned());
        }
        // actix's access log: `IP "REQUEST" STATUS SIZE TIMEms`.
        if let Some((_, access)) = line.split_once("actix_web::middleware::logger] ") {
            let words: Vec<&str> = access.split_whitespace().collect();
            if let [.., status, _size, time] = words[..] {
                if time.ends_with("ms")
                    && status.len() == 3
                    && status.bytes().all(|b| b.is_ascii_digit())
                {
                    *statuses.entry(status.to_owned()).or_default() += 1;
                }
            }
        }
    }
    let name = std::path::Path::new(path)
        .file_name()
        .map_or(path.into(), |name| name.to_string_lossy());
    if !statuses.is_empty() {
        let server_errors: i64 = statuses
            .iter()
            .filter(|(status, _)| status.starts_with('5') && *status != "503")
            .map(|(_, n)| n)
            .sum();
        report.figure("statuses served (access log)", json!(statuses));
        if server_errors > 0 {
            report.violate(format!(
                "{name}: {server_errors} answers 5xx other than 503"
            ));
        }
    }
    let logged = report
        .figures
        .iter()
        .find(|(known, _)| known == "panics/errors logged")
        .and_then(|(_, value)| value.as_u64())
        .unwrap_or(0);
    report.figure(
        "panics/errors logged",
        logged + (panics.len() + errors.len()) as u64,
    );
    if !panics.is_empty() {
        report.violate_with(Kind::Other, format!("{name}: the service panicked"), panics);
    }
    if !errors.is_empty() {
        report.violate_with(
            Kind::Other,
            format!("{name}: the service logged {} errors", errors.len()),
            errors,
        );
    }
    Ok(())
}

/// Figures and verdict of a Schemathesis run, from its console output
/// (`--no-color`).
fn check_schemathesis(args: &[String]) -> Result<bool, Error> {
    let args = Args::parse(args, &[])?;
    let mut report = Report::new(args.required("--scenario")?);
    let path = args.required("--output")?;
    let output = std::fs::read(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    let output = String::from_utf8_lossy(&output);
    let exit_status: i64 = args.number("--exit-status", -1)?;
    let mut cases = None;
    let mut failures: BTreeMap<String, i64> = BTreeMap::new();
    for line in output.lines().map(str::trim) {
        // "300 generated, 290 passed, ..." and "❌ Server error: 2".
        if let Some((count, _)) = line.split_once(" generated, ") {
            if cases.is_none() {
                cases = count
                    .parse::<i64>()
                    .ok()
                    .map(|count| (count, line.to_owned()));
            }
        } else if let Some((name, count)) = line
            .strip_prefix("❌ ")
            .and_then(|failure| failure.rsplit_once(": "))
        {
            if let Ok(count) = count.parse() {
                failures.insert(name.to_owned(), count);
            }
        }
    }
    let operations = output.split_once("Tested: ").and_then(|(_, rest)| {
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse::<i64>()
            .ok()
    });
    report.figure("operations tested", operations);
    report.figure("requests sent", cases.as_ref().map(|(count, _)| *count));
    report.figure("test cases", cases.as_ref().map(|(_, line)| line.clone()));
    report.figure("failures", json!(failures));
    report.figure("schemathesis exit status", exit_status);
    if exit_status != 0 {
        let named: Vec<String> = failures
            .iter()
            .map(|(name, n)| format!("{n} x {name}"))
            .collect();
        let named = if named.is_empty() {
            "see its output".to_owned()
        } else {
            named.join(", ")
        };
        report.violate(format!(
            "schemathesis exited with status {exit_status}: {named}"
        ));
    }
    if cases.is_none() {
        report.violate("schemathesis reported no test cases".to_owned());
    }
    if args.get("--alive") != Some("1") {
        report.violate("the service is no longer alive after the run (crash)".to_owned());
    }
    check_service_log(&mut report, args.required("--service-log")?)?;
    report.finish(args.get("--result"))
}

/// The summary table's columns: heading and figure.
const COLUMNS: &[(&str, &str)] = &[
    ("requests", "requests sent"),
    ("201", "201 responses"),
    ("in DB", "bookings in DB"),
    ("acked", "acknowledged bookings"),
    ("lost acked", "lost acknowledged"),
    ("oversold", "oversold"),
    ("in flight", "lost in flight"),
    ("max ms", "max duration ms"),
];

/// Figures shown as text in the last column of the summary table.
const NOTES: &[&str] = &[
    "statuses",
    "test cases",
    "cases told apart",
    "malformed answered wrong",
    "failover 1 ms",
    "failover 2 ms",
    "max wait ms",
];

/// One row per result file (a scenario with none fails), then every
/// violation; whether every scenario passed.
fn summary(paths: &[String]) -> Result<bool, Error> {
    let results: Vec<Value> = paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map_err(|error| error.to_string())
                .and_then(|text| serde_json::from_str(&text).map_err(|error| error.to_string()))
                .unwrap_or_else(|error| {
                    let name = std::path::Path::new(path).file_name().map_or(path.into(), |name| name.to_string_lossy());
                    let scenario = name.trim_end_matches(".result.json");
                    json!({"scenario": scenario, "ok": false, "figures": {}, "violations": [format!("no result: {error}")]})
                })
        })
        .collect();
    let mut header: Vec<String> = vec!["scenario".to_owned()];
    header.extend(COLUMNS.iter().map(|(heading, _)| heading.to_string()));
    header.extend(["recovery ms", "verdict", "notes"].map(String::from));
    let mut rows = vec![header];
    for result in &results {
        let figure = |name: &str| show(result["figures"].get(name).unwrap_or(&Value::Null));
        let mut row = vec![show(&result["scenario"])];
        row.extend(COLUMNS.iter().map(|(_, name)| figure(name)));
        let recovery = result["figures"].as_object().and_then(|figures| {
            figures
                .iter()
                .find(|(name, _)| name.starts_with("recovery ms") || *name == "failover 1 ms")
        });
        row.push(recovery.map_or("-".to_owned(), |(_, value)| show(value)));
        row.push(if result["ok"] == true { "PASS" } else { "FAIL" }.to_owned());
        let notes: Vec<String> = NOTES
            .iter()
            .filter(|name| result["figures"].get(**name).is_some())
            .map(|name| format!("{name} {}", figure(name)))
            .collect();
        row.push(notes.join("; "));
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (number, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &width))| {
                if i == 0 || i == columns - 1 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        println!("{}", cells.join("  ").trim_end());
        if number == 0 {
            let rule: Vec<String> = widths.iter().map(|&width| "-".repeat(width)).collect();
            println!("{}", rule.join("  "));
        }
    }
    for result in &results {
        for violation in result["violations"].as_array().into_iter().flatten() {
            println!(
                "{}: VIOLATION: {}",
                show(&result["scenario"]),
                show(violation)
            );
        }
    }
    Ok(results.iter().all(|result| result["ok"] == true))
}

/// `tamper MODE RECORDS`: prints the records changed one way, for
/// checker_self_test.sh:
/// - `pick` (no records): an acknowledged booking id and its user, a refused
///   user, and the start of the last 201 (a kill mark with a 201 after it,
///   long after the first request);
/// - `missing`: the last record dropped;
/// - `slow`: the first 409 waited 1 ms longer than the failover bound;
/// - `unanswered`: the first request (long before the kill mark) got no answer;
/// - `status500`: the first 409 is a 500.
fn tamper(args: &[String]) -> Result<bool, Error> {
    let [mode, path] = args else {
        return Err(
            "usage: verify faults tamper pick|missing|slow|unanswered|status500 RECORDS".into(),
        );
    };
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    let mut rows: Vec<Value> = text
        .lines()
        .filter_map(|line| line.strip_prefix(MARKER))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let first_sent = (0..rows.len())
        .min_by_key(|&i| rows[i]["t0"].as_i64())
        .ok_or("no records")?;
    let first_409 = rows
        .iter()
        .position(|row| row["s"] == 409)
        .ok_or("no 409 among the records")?;
    match mode.as_str() {
        "pick" => {
            let mut acked: Vec<&Value> = rows.iter().filter(|row| row["s"] == 201).collect();
            acked.sort_by_key(|row| row["t0"].as_i64());
            let (first, last) = (
                acked.first().ok_or("no 201")?,
                acked.last().ok_or("no 201")?,
            );
            let kill_at = last["t0"].as_i64().unwrap_or_default();
            if rows[first_sent]["t1"].as_i64().unwrap_or_default() >= kill_at - KILL_MARK_SLACK_MS {
                return Err("the load was too short for a kill after its first request".into());
            }
            println!(
                "{} {} {} {kill_at}",
                first["b"], first["u"], rows[first_409]["u"]
            );
            return Ok(true);
        }
        "missing" => {
            rows.pop();
        }
        "slow" => {
            let row = &mut rows[first_409];
            row["t1"] = json!(row["t0"].as_i64().unwrap_or_default() + FAILOVER_WAIT_BOUND_MS + 1);
        }
        "unanswered" => {
            let row = &mut rows[first_sent];
            (row["s"], row["c"], row["e"]) = (json!(0), Value::Null, json!(1000));
        }
        "status500" => (rows[first_409]["s"], rows[first_409]["c"]) = (json!(500), Value::Null),
        other => return Err(format!("unknown tamper mode {other:?}").into()),
    }
    for row in rows {
        println!("{MARKER}{row}");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_logs_count_access_statuses_panics_and_own_errors_only() {
        let path = std::env::temp_dir().join(format!("faults-log-{}.log", std::process::id()));
        std::fs::write(
            &path,
            "[2026-12-06T16:00:00Z INFO  actix_web::middleware::logger] 127.0.0.1 \"POST /bookings HTTP/1.1\" 201 40 1.2ms\n\
             [2026-12-06T16:00:00Z INFO  actix_web::middleware::logger] 127.0.0.1 \"GET /x HTTP/1.1\" 500 0 0.3ms\n\
             [2026-12-06T16:00:01Z ERROR actix_http::h1::dispatcher] stream error: bad request\n\
             [2026-12-06T16:00:02Z ERROR flashbook::http::error] internal: the pool is gone\n",
        )
        .unwrap();
        let mut report = Report::new("log");
        check_service_log(&mut report, path.to_str().unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        let figure = |name: &str| {
            report
                .figures
                .iter()
                .find(|(known, _)| known == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(
            figure("statuses served (access log)"),
            Some(json!({"201": 1, "500": 1}))
        );
        assert_eq!(figure("panics/errors logged"), Some(json!(1)));
        let messages: Vec<&str> = report
            .violations
            .iter()
            .map(|(_, message)| message.as_str())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].contains("1 answers 5xx other than 503"),
            "{messages:?}"
        );
        assert!(messages[1].contains("logged 1 errors"), "{messages:?}");
    }

    #[test]
    fn expect_loss_keeps_every_other_violation() {
        let mut report = Report::new("loss");
        report.violate_with(
            Kind::Lost,
            "1 acknowledged bookings are not confirmed".to_owned(),
            [(1, 2)],
        );
        report.violate("2 answers with a status outside [201]".to_owned());
        report.expect_loss();
        let messages: Vec<&str> = report
            .violations
            .iter()
            .map(|(_, message)| message.as_str())
            .collect();
        assert_eq!(messages, ["2 answers with a status outside [201]"]);

        let mut clean = Report::new("nothing lost");
        clean.expect_loss();
        assert_eq!(
            clean.violations.len(),
            1,
            "finding no loss is the violation"
        );
    }
}
