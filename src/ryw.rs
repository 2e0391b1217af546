//! Read-your-writes in the location that served an admin write.
//!
//! KV is eventually consistent: a write can take 60 s or more to reach every
//! location, and a location that recently read the key as missing keeps serving that
//! miss for up to the edge cache lifetime. So after the Durable Object has stored a
//! write and written it through to KV, the worker that served the admin request puts
//! the new value (or a tombstone) into this location's Cache API for [`TTL_SECS`],
//! longer than KV needs to catch up, and stamps the location's write *marker* with
//! the time. Isolates read the marker about twice a second ([`last_write`]) and KV
//! reads made by [`crate::store`] check pins when told to; the rules, and what they
//! promise, are [`redirector_core::ryw`]'s. Other locations see a write when KV
//! propagates.
//!
//! (The Cache API is per data center and does not work on `*.workers.dev` hosts; on
//! those, read-your-writes falls back to KV's own behaviour.)

use redirector_core::admin::Write;
use redirector_core::ryw::PIN_TTL_MS;
use worker::{console_error, Cache, Date, Headers, Response, ResponseBuilder};

/// How long a write is pinned in this location, in seconds.
pub const TTL_SECS: i64 = PIN_TTL_MS / 1000;
const TOMBSTONE: &str = "deleted";
/// The marker's cache key: not a route key (those contain a `/` or start with `rules:`).
const MARKER_KEY: &str = "~last-write";

/// The time of this location's latest admin write, from its marker (`None`: none
/// in the last [`TTL_SECS`]).
pub async fn last_write(env: &str) -> Result<Option<i64>, String> {
    let Some(mut res) = Cache::default().get(cache_url(env, MARKER_KEY), true).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    Ok(res.text().await.map_err(|e| e.to_string())?.parse::<i64>().ok())
}

fn cache_url(env: &str, key: &str) -> String {
    let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!("https://ryw.redirector.invalid/{env}/{key}")
}

/// The pinned value for `key`: `Some(Some(v))` written, `Some(None)` deleted,
/// `None` when nothing is pinned (or the cache cannot be read).
pub async fn pinned(env: &str, key: &str) -> Option<Option<String>> {
    let mut res = Cache::default().get(cache_url(env, key), true).await.ok()??;
    let deleted = res.headers().get("x-ryw").ok().flatten().as_deref() == Some(TOMBSTONE);
    if deleted {
        return Some(None);
    }
    res.text().await.ok().map(Some)
}

/// Pin every write in this location, then stamp the marker. Failures are logged:
/// the write itself stands.
pub async fn pin(env: &str, writes: &[Write]) {
    let now = Date::now().as_millis() as i64;
    for w in writes {
        let kind = if w.value.is_some() { "put" } else { TOMBSTONE };
        put(env, &w.key.key, kind, w.value.clone().unwrap_or_default()).await;
    }
    put(env, MARKER_KEY, "marker", now.to_string()).await;
}

async fn put(env: &str, key: &str, kind: &str, body: String) {
    let headers = Headers::new();
    let _ = headers.set("cache-control", &format!("max-age={TTL_SECS}"));
    let _ = headers.set("x-ryw", kind);
    let res: Response = ResponseBuilder::new().with_status(200).with_headers(headers).fixed(body.into_bytes());
    if let Err(e) = Cache::default().put(cache_url(env, key), res).await {
        console_error!("read-your-writes pin failed for {key}: {e}");
    }
}
