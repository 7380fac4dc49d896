//! `verify --prometheus URL`: after a proof on the compose stack, the seats
//! Prometheus says the API replicas sold must equal the database's (README,
//! "Metrics"). Prometheus answers plain HTTP on the compose network; one GET
//! per query, by hand, keeps the checker free of an HTTP client crate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use flashbook_verify::Check;
use tokio_postgres::Client;

/// Seats sold over every replica: booked (one-shot bookings and confirmed
/// holds) less cancelled.
const SEATS_SOLD: &str = "sum(flashbook_seats_booked_total) - sum(flashbook_seats_cancelled_total)";
const UP: &str = r#"count(up{job="flashbook-api"} == 1)"#;
const OLDEST_SCRAPE: &str = r#"min(timestamp(up{job="flashbook-api"}))"#;
/// How long every replica has to be scraped after the load ended.
const SCRAPE_WAIT: Duration = Duration::from_secs(30);

/// Where Prometheus is and what it must have seen.
#[derive(Debug)]
pub struct Scrape {
    pub url: String,
    /// Every one of these API replicas must be up and scraped...
    pub replicas: u64,
    /// ...after this moment (epoch seconds), when the load ended.
    pub loaded_until: f64,
}

/// The check "seats sold (Prometheus)" against `sum(events.booked)`: verify
/// has just shown the proven event's counter equal to its confirmed seats.
/// An answer Prometheus cannot give is a failed check, with the reason.
pub async fn seats_sold(scrape: &Scrape, client: &Client) -> Result<Check, tokio_postgres::Error> {
    let stored: i64 = client
        .query_one("SELECT coalesce(sum(booked), 0)::BIGINT FROM events", &[])
        .await?
        .get(0);
    let mut check = Check::equal("seats sold (Prometheus)", 0, stored);
    match scraped_seats(scrape) {
        Ok(seats) => {
            check.actual = seats.to_string();
            check.ok = seats == stored;
        }
        Err(why) => {
            check.actual = "-".to_owned();
            check.expected = format!("{stored} ({why})");
            check.ok = false;
        }
    }
    Ok(check)
}

/// SEATS_SOLD once every replica has been scraped, successfully, after the
/// load ended (bounded wait).
fn scraped_seats(scrape: &Scrape) -> Result<i64, String> {
    let deadline = Instant::now() + SCRAPE_WAIT;
    loop {
        let up = query(&scrape.url, UP).unwrap_or_default();
        let oldest = query(&scrape.url, OLDEST_SCRAPE).unwrap_or_default();
        if up == Some(scrape.replicas as f64) && oldest.is_some_and(|at| at > scrape.loaded_until) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "Prometheus had no successful scrape of all {} api replicas after the load within {} s ({} up)",
                scrape.replicas,
                SCRAPE_WAIT.as_secs(),
                up.unwrap_or(0.0)
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    match query(&scrape.url, SEATS_SOLD)? {
        Some(seats) => Ok(seats.round() as i64),
        None => Err("Prometheus has no flashbook_seats_booked_total or flashbook_seats_cancelled_total from the api replicas".to_owned()),
    }
}

/// The value of an instant query's one sample, `None` when the answer is empty.
fn query(url: &str, promql: &str) -> Result<Option<f64>, String> {
    let encoded: String = promql
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    let body = get(url, &format!("/api/v1/query?query={encoded}"))?;
    let answer: serde_json::Value = serde_json::from_str(&body)
        .map_err(|error| format!("Prometheus answered no JSON: {error}"))?;
    let Some(sample) = answer["data"]["result"].get(0) else {
        return Ok(None);
    };
    let value = sample["value"][1]
        .as_str()
        .and_then(|value| value.parse().ok());
    value
        .map(Some)
        .ok_or_else(|| format!("Prometheus answered an unreadable sample: {sample}"))
}

/// One HTTP/1.0 GET (the server closes the connection after the answer).
fn get(url: &str, path: &str) -> Result<String, String> {
    let host = url
        .strip_prefix("http://")
        .ok_or("--prometheus must be an http:// URL")?
        .trim_end_matches('/');
    let fail = |error: std::io::Error| format!("could not query Prometheus at {url}: {error}");
    let mut stream = TcpStream::connect(host).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(fail)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(fail)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(fail)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("Prometheus answered {status:?} to GET {path}"));
    }
    Ok(body.to_owned())
}
