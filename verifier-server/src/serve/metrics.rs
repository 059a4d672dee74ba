//! Prometheus metrics in the text exposition format (version 0.0.4), written by hand: counters of
//! verifications by decision and reason, a latency histogram, and gauges the server adds at
//! scrape time (status list age, replay cache size, ...).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The server's counters. Reasons are a closed set of `'static` codes, so label cardinality is
/// bounded.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    rate_limited: AtomicU64,
    rejected_requests: AtomicU64,
}

/// A gauge sample added at scrape time.
pub(crate) struct Gauge {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) samples: Vec<(Option<(&'static str, String)>, f64)>,
}

impl Metrics {
    /// Counts one decision and its verification latency.
    pub(crate) fn observe(&self, decision: &'static str, reason: &'static str, took: Duration) {
        {
            let mut map = self
                .decisions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *map.entry((decision, reason)).or_insert(0) += 1;
        }
        let secs = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts a request refused by the rate limiter.
    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a malformed request (4xx).
    pub(crate) fn rejected(&self) {
        self.rejected_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// How many decisions had this decision and reason (for tests and the bench).
    pub(crate) fn decisions(&self) -> Vec<((&'static str, &'static str), u64)> {
        let map = self
            .decisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// The exposition text.
    pub(crate) fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP govid_verifications_total Gate decisions by decision and reason.\n\
             # TYPE govid_verifications_total counter\n",
        );
        for ((decision, reason), n) in self.decisions() {
            let _ = writeln!(
                out,
                "govid_verifications_total{{decision=\"{decision}\",reason=\"{}\"}} {n}",
                escape(reason)
            );
        }
        out.push_str(
            "# HELP govid_verify_duration_seconds Time to decide, from request body to decision.\n\
             # TYPE govid_verify_duration_seconds histogram\n",
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "govid_verify_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "govid_verify_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             govid_verify_duration_seconds_sum {}\n\
             govid_verify_duration_seconds_count {count}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let counters = [
            (
                "govid_rate_limited_total",
                "Requests refused by the per-client rate limit.",
                &self.rate_limited,
            ),
            (
                "govid_rejected_requests_total",
                "Malformed requests (too large, wrong content type, bad JSON).",
                &self.rejected_requests,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        for gauge in gauges {
            let _ = writeln!(
                out,
                "# HELP {} {}\n# TYPE {} gauge",
                gauge.name, gauge.help, gauge.name
            );
            for (label, value) in &gauge.samples {
                match label {
                    Some((key, v)) => {
                        let _ = writeln!(out, "{}{{{key}=\"{}\"}} {value}", gauge.name, escape(v));
                    }
                    None => {
                        let _ = writeln!(out, "{} {value}", gauge.name);
                    }
                }
            }
        }
        out
    }
}

/// Escapes a label value (`\`, `"`, newline).
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.observe("allow", "ok", Duration::from_micros(300));
        m.observe("deny", "expired", Duration::from_millis(3));
        let text = m.render(&[Gauge {
            name: "govid_status_list_age_seconds",
            help: "Age.",
            samples: vec![(Some(("uri", "https://x/\"1\"".into())), 12.0)],
        }]);
        assert!(text.contains("govid_verifications_total{decision=\"allow\",reason=\"ok\"} 1"));
        assert!(text.contains("govid_verify_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("govid_verify_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("govid_verify_duration_seconds_count 2"));
        assert!(text.contains("govid_status_list_age_seconds{uri=\"https://x/\\\"1\\\"\"} 12"));
    }
}
