//! What a load's clients were told, as the proofs' k6 scripts summarise it
//! (the JSON their `handleSummary` writes): counts by metric, the run's
//! duration and request rate, a latency trend, and the thresholds it failed.
//! Each proof picks its own counts ([`crate::Proof::told`]); the rest is read
//! here, once.

use serde::Serialize;
use serde_json::Value;

/// The `metrics` object of a k6 summary.
pub struct Metrics<'a>(&'a Value);

impl Metrics<'_> {
    pub fn value(&self, metric: &str, key: &str) -> Option<f64> {
        self.0[metric]["values"][key].as_f64()
    }

    /// A counter's count: 0 when the load never counted it (k6 leaves out
    /// metrics that were never added to).
    pub fn count(&self, metric: &str) -> i64 {
        self.value(metric, "count").unwrap_or(0.0) as i64
    }

    pub fn sum(&self, metrics: &[&str]) -> i64 {
        metrics.iter().map(|metric| self.count(metric)).sum()
    }

    /// "metric:expression" for every threshold k6 reports as failed.
    fn failed_thresholds(&self) -> Vec<String> {
        let Some(metrics) = self.0.as_object() else {
            return Vec::new();
        };
        metrics
            .iter()
            .filter_map(|(metric, body)| Some((metric, body["thresholds"].as_object()?)))
            .flat_map(|(metric, thresholds)| {
                thresholds
                    .iter()
                    .filter(|(_, result)| result["ok"] == Value::Bool(false))
                    .map(move |(expression, _)| format!("{metric}:{}", expression.replace(' ', "")))
            })
            .collect()
    }
}

/// One load: what its clients were told (the proof's `Told`) and how it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Load<Told> {
    #[serde(flatten)]
    pub told: Told,
    pub duration_seconds: f64,
    pub requests_per_second: f64,
    /// The 95th and 99th percentile of the proof's latency trend, when it
    /// has one.
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub failed_thresholds: Vec<String>,
}

impl<Told> Load<Told> {
    /// Parses a k6 summary; `latency` names the trend whose percentiles are
    /// reported, `told` picks the proof's counts.
    pub fn from_json(
        text: &str,
        latency: Option<&str>,
        told: impl FnOnce(&Metrics) -> Told,
    ) -> Result<Self, serde_json::Error> {
        let summary: Value = serde_json::from_str(text)?;
        let metrics = Metrics(&summary["metrics"]);
        let percentile = |key| latency.and_then(|trend| metrics.value(trend, key));
        Ok(Self {
            told: told(&metrics),
            duration_seconds: summary["state"]["testRunDurationMs"]
                .as_f64()
                .unwrap_or(0.0)
                / 1000.0,
            requests_per_second: metrics.value("http_reqs", "rate").unwrap_or(0.0),
            p95_ms: percentile("p(95)"),
            p99_ms: percentile("p(99)"),
            failed_thresholds: metrics.failed_thresholds(),
        })
    }

    /// A failed k6 threshold fails the proof: the scripts state there what
    /// no answer may break.
    pub fn thresholds_failure(&self) -> Option<String> {
        (!self.failed_thresholds.is_empty())
            .then(|| format!("k6 thresholds failed: {}", self.failed_thresholds.join(",")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_read_with_its_failed_thresholds() {
        let load = Load::from_json(
            r#"{"state": {"testRunDurationMs": 2500},
                "metrics": {
                  "status_201": {"values": {"count": 1000}},
                  "http_reqs": {"values": {"count": 10000, "rate": 4000.5}},
                  "booking_duration": {"values": {"p(95)": 300.0, "p(99)": 350.0}},
                  "unexpected_status": {"values": {"rate": 0.01},
                                        "thresholds": {"rate == 0": {"ok": false},
                                                       "rate < 1": {"ok": true}}}}}"#,
            Some("booking_duration"),
            |metrics| metrics.sum(&["status_201", "never_counted"]),
        )
        .unwrap();
        assert_eq!(load.told, 1000);
        assert_eq!(
            (load.duration_seconds, load.requests_per_second),
            (2.5, 4000.5)
        );
        assert_eq!((load.p95_ms, load.p99_ms), (Some(300.0), Some(350.0)));
        assert_eq!(load.failed_thresholds, ["unexpected_status:rate==0"]);
        assert_eq!(
            load.thresholds_failure().as_deref(),
            Some("k6 thresholds failed: unexpected_status:rate==0")
        );
    }

    #[test]
    fn a_load_without_a_latency_trend_reports_none() {
        let load = Load::from_json(r#"{"metrics": {}}"#, None, |_| ()).unwrap();
        assert_eq!((load.p95_ms, load.p99_ms), (None, None));
        assert_eq!(load.thresholds_failure(), None);
    }
}
