//! Prometheus text metrics for HTTP requests, kept in memory per process
//! (each replica is scraped on its own).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counts and latencies by method, route and status.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    photos: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts how a photo's completion ended: `processed`, `deduplicated`, or
    /// the code it was refused with.
    pub fn photo(&self, outcome: &'static str) {
        if let Ok(mut m) = self.photos.lock() {
            *m.entry(outcome).or_default() += 1;
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let Ok(mut m) = self.series.lock() else {
            return;
        };
        let s = m
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP anjian_build_info Version of the running binary.\n# TYPE anjian_build_info gauge\n");
        let _ = writeln!(
            out,
            "anjian_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out.push_str("# HELP anjian_photos_total Photo completions by outcome.\n# TYPE anjian_photos_total counter\n");
        let photos = self.photos.lock().map(|m| m.clone()).unwrap_or_default();
        for (outcome, n) in &photos {
            let _ = writeln!(out, "anjian_photos_total{{outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP anjian_http_requests_total HTTP requests answered.\n# TYPE anjian_http_requests_total counter\n");
        let series = self.series.lock().map(|m| m.clone()).unwrap_or_default();
        for ((method, route, status), s) in &series {
            let _ = writeln!(
                out,
                "anjian_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP anjian_http_request_duration_seconds Time to answer.\n# TYPE anjian_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(String, String), Series> = BTreeMap::new();
        for ((method, route, _), s) in &series {
            let agg = by_route.entry((method.clone(), route.clone())).or_default();
            agg.count += s.count;
            agg.sum += s.sum;
            for i in 0..BUCKETS.len() {
                agg.buckets[i] += s.buckets[i];
            }
        }
        for ((method, route), s) in &by_route {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "anjian_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "anjian_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "anjian_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "anjian_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_counts_and_buckets() {
        let m = super::Metrics::default();
        m.observe("GET", "/api/v1/villages", 200, 0.003);
        m.observe("GET", "/api/v1/villages", 200, 0.3);
        let t = m.render();
        assert!(t.contains(
            "anjian_http_requests_total{method=\"GET\",route=\"/api/v1/villages\",status=\"200\"} 2"
        ));
        assert!(t.contains("le=\"0.005\"} 1"));
        assert!(t.contains("le=\"+Inf\"} 2"));
    }
}
