//! Read-your-writes in the location that served an admin write.
//!
//! KV is eventually consistent: a write can take 60 s or more to reach every
//! location, and a location that recently read the key as missing keeps serving that
//! miss for up to the edge cache lifetime. So after the shard has stored a write, the
//! edge script that forwarded the admin request (the control script hands the writes
//! back: [`crate::forward`]) puts, in this location's Cache API, for
//! [`TTL_SECS`] (longer than KV needs to catch up):
//!
//! * a *pin* per written key with the new value (or a tombstone), for writes of up
//!   to [`PIN_MAX_KEYS`] keys;
//! * for bigger bulks, one *note* per host instead: while it lives, KV reads of that
//!   host's keys in this location ask the host's shard (which has every key of the
//!   bulk at once, before KV does);
//! * the location's write *marker*, stamped with the time.
//!
//! Isolates read the marker about twice a second ([`Pins::last_write`]) and KV reads
//! made by [`crate::store`] check pins when told to; the rules, and what they
//! promise, are `redirector_core::ryw`'s. Every entry is signed with a key derived
//! from `ADMIN_TOKEN` and carries its expiry (`redirector_core::ryw::signed`): the
//! Cache API is shared by every worker on the zone, and an entry this worker did not
//! write is ignored. Other locations see a write when KV propagates.
//!
//! (The Cache API is per data center and does not work on `*.workers.dev` hosts; on
//! those, read-your-writes falls back to KV's own behaviour.)

use futures_util::future::join_all;
use redirector_core::key::shard_of;
use redirector_core::ryw::signed::{PinFields, PinSigner};
use redirector_core::ryw::{PIN_MAX_KEYS, PIN_TTL_MS};
use redirector_core::forward::Written;
use worker::{console_error, console_warn, Cache, Headers, Response, ResponseBuilder};

use crate::now_ms;

/// How long a write is pinned in this location, in seconds.
pub const TTL_SECS: i64 = PIN_TTL_MS / 1000;
const TOMBSTONE: &str = "deleted";
/// The marker's name: not a route key (those contain a `/` or start with `rules:`).
const MARKER: &str = "~last-write";

/// This location's pins, for one env, signed with this worker's key.
pub struct Pins {
    env: String,
    /// `None` when the admin API is off: no pins are written, none is trusted.
    signer: Option<PinSigner>,
}

/// An entry read back and verified.
struct Entry {
    kind: String,
    body: String,
}


impl Pins {
    pub fn new(env: &str, admin_token: Option<&str>) -> Self {
        Self { env: env.to_string(), signer: PinSigner::new(admin_token) }
    }

    fn cache_url(&self, name: &str) -> String {
        let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        format!("https://ryw.redirector.invalid/{}/{name}", self.env)
    }

    /// The entry under `name`, if this worker wrote it and it has not expired.
    async fn read(&self, name: &str) -> Result<Option<Entry>, String> {
        let Some(signer) = &self.signer else { return Ok(None) };
        let Some(mut res) = Cache::default().get(self.cache_url(name), true).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let header = |h: &str| res.headers().get(h).ok().flatten().unwrap_or_default();
        let (kind, expires, signature) = (header("x-ryw"), header("x-ryw-exp"), header("x-ryw-sig"));
        let body = res.text().await.map_err(|e| e.to_string())?;
        let expires_ms = expires.parse::<i64>().unwrap_or(0);
        let fields = PinFields { env: &self.env, name, kind: &kind, expires_ms, body: &body };
        if !signer.verify(&fields, &signature, now_ms()) {
            console_warn!("read-your-writes: ignored an entry this worker did not sign ({name})");
            return Ok(None);
        }
        Ok(Some(Entry { kind, body }))
    }

    /// The time of this location's latest admin write, from its marker (`None`: none
    /// in the last [`TTL_SECS`]).
    pub async fn last_write(&self) -> Result<Option<i64>, String> {
        Ok(self.read(MARKER).await?.filter(|e| e.kind == "marker").and_then(|e| e.body.parse::<i64>().ok()))
    }

    /// The pinned value for `key`: `Some(Some(v))` written, `Some(None)` deleted,
    /// `None` when nothing is pinned (or the cache cannot be read).
    pub async fn pinned(&self, key: &str) -> Option<Option<String>> {
        match self.read(key).await.ok()?? {
            Entry { kind, .. } if kind == TOMBSTONE => Some(None),
            Entry { kind, body } if kind == "put" => Some(Some(body)),
            _ => None,
        }
    }

    /// Whether a bulk too big to pin key by key was written to `shard` lately.
    pub async fn noted(&self, shard: &str) -> bool {
        matches!(self.read(&format!("~note:{shard}")).await, Ok(Some(e)) if e.kind == "note")
    }

    /// Pin every write in this location (or note each host of a big bulk), then
    /// stamp the marker. Failures are logged: the write itself stands.
    pub async fn pin(&self, writes: &[Written]) {
        if self.signer.is_none() {
            return;
        }
        let now = now_ms();
        if writes.len() <= PIN_MAX_KEYS {
            join_all(writes.iter().map(|w| {
                let kind = if w.value.is_some() { "put" } else { TOMBSTONE };
                self.put(&w.key, kind, w.value.as_deref().unwrap_or_default(), now)
            }))
            .await;
        } else {
            let mut shards: Vec<&str> = writes.iter().map(|w| shard_of(&w.key)).collect();
            shards.sort_unstable();
            shards.dedup();
            let notes: Vec<String> = shards.iter().map(|s| format!("~note:{s}")).collect();
            join_all(notes.iter().map(|name| self.put(name, "note", "", now))).await;
        }
        self.put(MARKER, "marker", &now.to_string(), now).await;
    }

    async fn put(&self, name: &str, kind: &str, body: &str, now: i64) {
        let Some(signer) = &self.signer else { return };
        let expires_ms = now + PIN_TTL_MS;
        let signature = signer.sign(&PinFields { env: &self.env, name, kind, expires_ms, body });
        let headers = Headers::new();
        let _ = headers.set("cache-control", &format!("max-age={TTL_SECS}"));
        let _ = headers.set("x-ryw", kind);
        let _ = headers.set("x-ryw-exp", &expires_ms.to_string());
        let _ = headers.set("x-ryw-sig", &signature);
        let res: Response = ResponseBuilder::new().with_status(200).with_headers(headers).fixed(body.as_bytes().to_vec());
        if let Err(e) = Cache::default().put(self.cache_url(name), res).await {
            console_error!("read-your-writes pin failed for {name}: {e}");
        }
    }
}
