//! flashbook's checker, beside the service and not in it. Each of the three
//! proofs (one-shot, checkout, queue) states what its sale must have come
//! to; this crate reads the event from the database, compares, and gives a
//! table of checks and a verdict. The service's integration tests use it as
//! a dev-dependency; `run_tests.sh`, `faults/` and `bench/` call it through
//! the `verify` binary (`verify/src/main.rs`).
//!
//! Every proof has one shape, [`Proof`]:
//! 1. read: one statement (one snapshot) gives the seats every sale has
//!    ([`SaleState`]) and the proof's own columns ([`read_state`]);
//! 2. told: what the load's clients were told, from its k6 summary
//!    ([`Load`]), when there is one;
//! 3. compare: [`Proof::checks`] makes one [`Check`] per rule;
//! 4. verdict: [`Proof::verdict`] adds the k6 thresholds the load failed.

pub mod checkout;
pub mod k6;
pub mod oneshot;
pub mod queue;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

pub use checkout::{Checkout, CheckoutAnswers, CheckoutState};
pub use k6::Load;
pub use oneshot::{OneShot, Responses};
pub use queue::{Queue, QueueAnswers, QueueState};

/// A proof's rules. The value holds what the caller expects of this sale
/// (its capacity, sold out or not, ...).
pub trait Proof {
    /// What the database holds for the event: [`SaleState`] and the proof's
    /// own figures, named as [`Proof::COLUMNS`] names them.
    type State: DeserializeOwned + Serialize;
    /// What the load's clients were told, counted by answer.
    type Told: Serialize;
    /// The k6 script whose summary [`Proof::told`] reads.
    const SCRIPT: &'static str;
    /// The trend of that summary whose percentiles are reported.
    const LATENCY: Option<&'static str>;
    /// The proof's columns beside `SALE_COLUMNS` (over `events e`), each
    /// named like its field of `State`.
    const COLUMNS: &'static [&'static str];
    /// A statement run before the read (the event id as `$1`), for what the
    /// read must find settled.
    const SETTLE: Option<&'static str> = None;

    fn told(metrics: &k6::Metrics) -> Self::Told;

    /// One check per rule of the sale; those about the clients only when
    /// `told` is given.
    fn checks(&self, state: &Self::State, told: Option<&Self::Told>) -> Vec<Check>;

    /// Counts printed under the checks, for the reader: not checked.
    fn state_figures(_state: &Self::State) -> Vec<(&'static str, i64)> {
        Vec::new()
    }

    fn told_figures(_told: &Self::Told) -> Vec<(&'static str, i64)> {
        Vec::new()
    }

    fn load(text: &str) -> Result<Load<Self::Told>, serde_json::Error> {
        Load::from_json(text, Self::LATENCY, Self::told)
    }

    fn verdict(
        &self,
        state: Self::State,
        load: Option<Load<Self::Told>>,
    ) -> Verdict<Self::State, Self::Told> {
        let checks = self.checks(&state, load.as_ref().map(|load| &load.told));
        let mut failures = failures(&checks);
        failures.extend(load.as_ref().and_then(Load::thresholds_failure));
        Verdict {
            ok: failures.is_empty(),
            state,
            checks,
            load,
            failures,
        }
    }
}

/// The seats of one event, which every proof reads and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleState {
    pub event_id: i64,
    pub capacity: i64,
    /// `events.booked`, the counter the seat functions keep: confirmed seats.
    pub counter: i64,
    pub max_per_user: i64,
    /// Confirmed booking rows, and the seats in them.
    pub confirmed: i64,
    pub confirmed_seats: i64,
    /// Users whose confirmed seats exceed `max_per_user`.
    pub users_over_limit: i64,
}

/// [`SaleState`]'s columns, over `events e`.
const SALE_COLUMNS: &[&str] = &[
    "e.id::BIGINT AS event_id",
    "e.capacity::BIGINT AS capacity",
    "e.booked::BIGINT AS counter",
    "e.max_per_user::BIGINT AS max_per_user",
    "(SELECT count(*) FROM bookings b
       WHERE b.event_id = e.id AND b.status = 'confirmed') AS confirmed",
    "(SELECT coalesce(sum(b.quantity), 0)::BIGINT FROM bookings b
       WHERE b.event_id = e.id AND b.status = 'confirmed') AS confirmed_seats",
    "(SELECT count(*) FROM (SELECT user_id FROM bookings
                             WHERE event_id = e.id AND status = 'confirmed'
                             GROUP BY user_id
                            HAVING sum(quantity) > e.max_per_user) AS over) AS users_over_limit",
];

impl SaleState {
    /// `None` when the event does not exist.
    pub async fn read(
        client: &impl GenericClient,
        event_id: i64,
    ) -> Result<Option<Self>, ReadError> {
        read_state::<OneShot>(client, event_id).await
    }

    /// The rules every sale keeps, sold out or not: the counter counts the
    /// confirmed seats, the event has the capacity the proof set up, and
    /// nobody is over `max_per_user`.
    fn kept_rules(&self, capacity: Option<i64>) -> Vec<Check> {
        let mut checks = vec![Check::equal(
            "events.booked counter",
            self.counter,
            self.confirmed_seats,
        )];
        checks.extend(
            capacity.map(|capacity| Check::equal("event capacity", self.capacity, capacity)),
        );
        checks.push(Check::equal(
            "users over max_per_user",
            self.users_over_limit,
            0,
        ));
        checks
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the database did not answer the read")]
    Database(#[from] tokio_postgres::Error),
    #[error("the database's row does not fit the proof's state")]
    Shape(#[from] serde_json::Error),
}

/// Reads `P::State` in one statement, hence one snapshot: the row is turned
/// into JSON named by the columns' aliases, which are the fields' names.
/// `None` when the event does not exist.
pub async fn read_state<P: Proof>(
    client: &impl GenericClient,
    event_id: i64,
) -> Result<Option<P::State>, ReadError> {
    if let Some(settle) = P::SETTLE {
        client.execute(settle, &[&event_id]).await?;
    }
    let columns: Vec<&str> = SALE_COLUMNS.iter().chain(P::COLUMNS).copied().collect();
    let select = format!(
        "SELECT row_to_json(state)::TEXT
           FROM (SELECT {} FROM events e WHERE e.id = $1) AS state",
        columns.join(",\n")
    );
    let Some(row) = client.query_opt(select.as_str(), &[&event_id]).await? else {
        return Ok(None);
    };
    Ok(Some(serde_json::from_str(row.try_get(0)?)?))
}

/// One row of the verdict table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub label: String,
    pub actual: String,
    pub expected: String,
    pub ok: bool,
}

impl Check {
    pub fn equal(label: &str, actual: i64, expected: i64) -> Self {
        Self {
            label: label.to_owned(),
            actual: actual.to_string(),
            expected: expected.to_string(),
            ok: actual == expected,
        }
    }

    pub fn at_most(label: &str, actual: i64, most: i64) -> Self {
        Self {
            label: label.to_owned(),
            actual: actual.to_string(),
            expected: format!("<= {most}"),
            ok: actual <= most,
        }
    }
}

/// "label is actual, expected expected" for every failed check.
pub fn failures(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|check| !check.ok)
        .map(|check| {
            format!(
                "{} is {}, expected {}",
                check.label, check.actual, check.expected
            )
        })
        .collect()
}

/// A sale of 1,000 seats that sold out, one seat a booking: the tests'
/// starting point, each breaking one rule of it.
#[cfg(test)]
const SOLD_OUT: SaleState = SaleState {
    event_id: 1,
    capacity: 1000,
    counter: 1000,
    max_per_user: 1,
    confirmed: 1000,
    confirmed_seats: 1000,
    users_over_limit: 0,
};

/// The labels of the failed checks, for the tests of each proof.
#[cfg(test)]
fn failed_labels(checks: Vec<Check>) -> Vec<String> {
    checks
        .into_iter()
        .filter(|check| !check.ok)
        .map(|check| check.label)
        .collect()
}

/// A proof's outcome. As JSON (`verify --json`) the state's fields stand at
/// the top, beside `checks`, `k6`, `failures` and `ok`.
#[derive(Debug, Serialize)]
pub struct Verdict<State, Told> {
    #[serde(flatten)]
    pub state: State,
    pub checks: Vec<Check>,
    #[serde(rename = "k6")]
    pub load: Option<Load<Told>>,
    /// The failed checks and the failed k6 thresholds.
    pub failures: Vec<String>,
    pub ok: bool,
}
