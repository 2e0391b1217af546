//! The worker's admin API, as `plan` and `publish` use it (docs/strong-routes.md
//! "Admin API"): list what an env serves, apply writes in bulks, and wait until KV
//! has caught up. Writes go through the admin API, never straight to KV, so the
//! Durable Objects, read-your-writes and the bulk limits apply.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;

/// Most routes asked for per list page (the API's maximum).
pub const LIST_PAGE: usize = 500;
/// Most writes per bulk request (the API's maximum is 10 000 and 4 MiB).
pub const BULK_WRITES: usize = 10_000;
/// Largest bulk body sent, leaving room under the API's 4 MiB.
pub const BULK_BYTES: usize = 3 * 1024 * 1024;

pub struct AdminClient {
    base: Url,
    token: String,
    agent: ureq::Agent,
}

impl AdminClient {
    pub fn new(base: Url, token: String) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
        AdminClient { base, token, agent }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("/__redirector/admin/{path}"));
        url
    }

    fn call(&self, request: ureq::Request, body: Option<&Value>) -> Result<Value, String> {
        let request = request.set("authorization", &format!("Bearer {}", self.token));
        let what = format!("{} {}", request.method(), request.url());
        let answer = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match answer {
            Ok(res) => res.into_json().map_err(|e| format!("{what}: answer is not JSON ({e})")),
            Err(ureq::Error::Status(code, res)) => {
                let text = res.into_string().unwrap_or_default();
                let hint = match code {
                    401 => " (check REDIRECTOR_ADMIN_TOKEN)",
                    404 => " (is the admin API on? it needs the ADMIN_TOKEN secret)",
                    _ => "",
                };
                Err(format!("{what}: {code}{hint}: {}", text.chars().take(300).collect::<String>()))
            }
            Err(e) => Err(format!("{what}: {e}")),
        }
    }

    /// Every route the env's KV holds: canonical key -> value (JSON, or a string for
    /// a plain-text value).
    pub fn list_all(&self) -> Result<BTreeMap<String, Value>, String> {
        let mut out = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = self.url("routes");
            url.query_pairs_mut().append_pair("limit", &LIST_PAGE.to_string());
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let page = self.call(self.agent.get(url.as_str()), None)?;
            for route in page["routes"].as_array().into_iter().flatten() {
                if let Some(key) = route["key"].as_str() {
                    out.insert(key.to_string(), route["value"].clone());
                }
            }
            match page["cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Apply writes (`{"key", "value"}` or `{"key", "delete": true}`) in bulks within
    /// the API's limits; returns each bulk's answer.
    pub fn apply(&self, writes: &[Value]) -> Result<Vec<Value>, String> {
        let mut answers = Vec::new();
        for chunk in chunks(writes) {
            answers.push(self.call(self.agent.post(self.url("bulk").as_str()), Some(&Value::Array(chunk.to_vec())))?);
        }
        Ok(answers)
    }

    /// Wait until `host`'s writes have all reached KV; the time it took.
    pub fn wait_caught_up(&self, host: &str, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            let mut url = self.url("status");
            url.query_pairs_mut().append_pair("host", host);
            let status = self.call(self.agent.get(url.as_str()), None)?;
            if status["caught_up"] == json!(true) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                return Err(format!("{host}: KV not caught up after {}s: {status}", timeout.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Split writes into bulks of at most [`BULK_WRITES`] entries and [`BULK_BYTES`].
pub fn chunks(writes: &[Value]) -> Vec<&[Value]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 2);
    for (i, w) in writes.iter().enumerate() {
        let size = w.to_string().len() + 1;
        if i > start && (i - start >= BULK_WRITES || bytes + size > BULK_BYTES) {
            out.push(&writes[start..i]);
            (start, bytes) = (i, 2);
        }
        bytes += size;
    }
    if start < writes.len() {
        out.push(&writes[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulks_stay_within_the_api_limits() {
        let small: Vec<Value> = (0..25_000).map(|i| json!({"key": format!("a.com/{i}"), "value": "https://e.com"})).collect();
        let sizes: Vec<usize> = chunks(&small).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_000]);
        let big: Vec<Value> = (0..10).map(|i| json!({"key": format!("a.com/{i}"), "value": "x".repeat(900_000)})).collect();
        for c in chunks(&big) {
            assert!(Value::Array(c.to_vec()).to_string().len() <= BULK_BYTES, "{}", c.len());
        }
        assert!(chunks(&[]).is_empty());
    }
}
