//! Read-your-writes across the isolates of one location: when a KV read must look at
//! the location's pins, and when an isolate's cache must be dropped.
//!
//! After an admin write, the worker that served it *pins* each written value in its
//! location's Cache API for [`PIN_TTL_MS`] (see `src/ryw.rs` and
//! `docs/strong-routes.md`), and stamps one location-wide *marker* with the time of
//! the write. Each isolate keeps a [`WriteMarker`] in its cache
//! ([`crate::cache::IsolateCache`]): what it last learned from the marker, re-read
//! through [`crate::store::RouteStore::last_write`] once it is older than half of
//! [`MARKER_FRESH_MS`] (by one request at a time, alongside that request's lookup, so
//! it adds no latency), and before the lookup when it is older than that (after an
//! idle spell: the cache is never trusted on a stale view). Then:
//!
//! * a marker showing a write this isolate has not seen yet **drops the isolate's
//!   cache** (writes are rare; the hot set is read again once);
//! * a KV read checks the key's pin ([`PinCheck::Always`], in parallel with KV, the pin
//!   wins) while the location has written in the last [`PIN_TTL_MS`] or the view is not
//!   fresh, and otherwise only when KV has nothing ([`PinCheck::OnMiss`]), so that a
//!   link created a moment ago is still found.
//!
//! What that promises, in the location that served the write: the writing isolate
//! sees it on its next request (it drops its copies at once); every other isolate
//! sees a new link on its next request (a miss, cached or not, always asks the pin)
//! and an update or delete within [`MARKER_FRESH_MS`]. Other locations see a write
//! when KV spreads it and their isolate cache entry expires.

/// How long a pin (and the marker) lives in the Cache API: longer than KV needs to
/// spread a write plus its edge cache lifetime.
pub const PIN_TTL_MS: i64 = 120_000;
/// Most keys a write pins one by one in its location; a bigger bulk leaves a note
/// per host instead (the worker's `ryw` module).
pub const PIN_MAX_KEYS: usize = 64;

/// How long an isolate trusts what it read of the marker.
pub const MARKER_FRESH_MS: i64 = 1_000;

/// What a KV read does about pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    /// Look up the pin in parallel with KV; the pin wins.
    Always,
    /// Look up the pin only when KV has no value.
    OnMiss,
}

/// Whether a request must read the marker before it looks anything up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// The view is fresh: no.
    No,
    /// The view is fresh but half-way to stale; this request re-reads it.
    Ahead,
    /// The view is unknown or stale: read it before trusting the cache.
    Now,
}

/// One isolate's knowledge of the location's latest admin write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteMarker {
    /// When the marker was last read (the time the read started).
    read_at_ms: Option<i64>,
    /// The latest write known: from the marker, or made by this isolate.
    last_write_ms: Option<i64>,
    /// A read ahead of expiry is in flight (so concurrent requests do not each start one).
    refreshing: bool,
}

impl WriteMarker {
    /// The age of the view at `now_ms` if it is fresh.
    fn fresh_age(&self, now_ms: i64) -> Option<i64> {
        self.read_at_ms.map(|at| now_ms - at).filter(|age| (0..MARKER_FRESH_MS).contains(age))
    }

    /// Whether a request at `now_ms` must read the marker first. Report the result
    /// with [`WriteMarker::observed`] or [`WriteMarker::refresh_failed`].
    pub fn refresh_due(&mut self, now_ms: i64) -> Refresh {
        match self.fresh_age(now_ms) {
            None => Refresh::Now,
            Some(age) if age >= MARKER_FRESH_MS / 2 && !self.refreshing => {
                self.refreshing = true;
                Refresh::Ahead
            }
            Some(_) => Refresh::No,
        }
    }

    /// What a KV read at `now_ms` does about pins.
    pub fn check(&self, now_ms: i64) -> PinCheck {
        let recent = self.last_write_ms.is_some_and(|w| now_ms < w.saturating_add(PIN_TTL_MS));
        if self.fresh_age(now_ms).is_some() && !recent {
            PinCheck::OnMiss
        } else {
            PinCheck::Always
        }
    }

    /// A marker read that started at `started_ms` found the latest write at
    /// `last_write_ms` (`None`: no marker, so no write for [`PIN_TTL_MS`]). True when
    /// that write is newer than any this isolate knew of: its cache must go.
    pub fn observed(&mut self, started_ms: i64, last_write_ms: Option<i64>) -> bool {
        self.refreshing = false;
        self.read_at_ms = Some(self.read_at_ms.map_or(started_ms, |at| at.max(started_ms)));
        let newer = last_write_ms > self.last_write_ms;
        self.last_write_ms = self.last_write_ms.max(last_write_ms);
        newer
    }

    /// The marker could not be read: the view stays as it was (pins are checked on
    /// every KV read once it is stale).
    pub fn refresh_failed(&mut self) {
        self.refreshing = false;
    }

    /// This isolate has just written (and pinned) at `now_ms`.
    pub fn wrote(&mut self, now_ms: i64) {
        self.last_write_ms = self.last_write_ms.max(Some(now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000_000;

    fn quiet_at(t: i64) -> WriteMarker {
        let mut m = WriteMarker::default();
        assert_eq!(m.refresh_due(t), Refresh::Now);
        assert!(!m.observed(t, None));
        m
    }

    #[test]
    fn unknown_view_is_read_first_and_checks_pins() {
        let mut m = WriteMarker::default();
        assert_eq!(m.refresh_due(T), Refresh::Now);
        assert_eq!(m.check(T), PinCheck::Always);
        m.refresh_failed();
        assert_eq!(m.refresh_due(T + 1), Refresh::Now, "a failed read is tried again");
        assert_eq!(m.check(T + 1), PinCheck::Always);
    }

    #[test]
    fn quiet_location_checks_pins_only_on_a_miss_while_the_view_is_fresh() {
        let mut m = quiet_at(T);
        assert_eq!((m.refresh_due(T + 1), m.check(T + 1)), (Refresh::No, PinCheck::OnMiss));
        // From half its freshness on, one request re-reads it; the view still holds.
        assert_eq!(m.refresh_due(T + MARKER_FRESH_MS / 2), Refresh::Ahead);
        assert_eq!(m.refresh_due(T + MARKER_FRESH_MS / 2 + 1), Refresh::No, "one at a time");
        assert_eq!(m.check(T + MARKER_FRESH_MS - 1), PinCheck::OnMiss);
        // Not re-read in time: stale, every request reads it and pins are checked.
        assert_eq!(m.refresh_due(T + MARKER_FRESH_MS), Refresh::Now);
        assert_eq!(m.check(T + MARKER_FRESH_MS), PinCheck::Always);
        assert!(!m.observed(T + MARKER_FRESH_MS / 2, None));
        assert_eq!(m.check(T + MARKER_FRESH_MS), PinCheck::OnMiss);
    }

    #[test]
    fn a_new_write_elsewhere_drops_the_cache_and_turns_pin_checks_on() {
        let mut m = quiet_at(T);
        let w = T + 300;
        assert!(m.observed(T + 600, Some(w)), "newer than anything known: drop the cache");
        assert_eq!(m.check(T + 601), PinCheck::Always);
        assert!(!m.observed(T + 900, Some(w)), "the same write again: keep the cache");
        // Once every pin has expired, only misses look.
        assert!(!m.observed(w + PIN_TTL_MS, None));
        assert_eq!(m.check(w + PIN_TTL_MS), PinCheck::OnMiss);
    }

    #[test]
    fn own_write_is_seen_at_once_and_not_forgotten_by_an_older_view() {
        let mut m = quiet_at(T);
        m.wrote(T + 100);
        assert_eq!(m.check(T + 101), PinCheck::Always);
        // A marker read that raced the write (and found nothing) does not undo it.
        assert!(!m.observed(T + 50, None));
        assert_eq!(m.check(T + 200), PinCheck::Always);
        let late = T + 100 + PIN_TTL_MS;
        m.observed(late - 500, None);
        assert_eq!(m.check(late - 1), PinCheck::Always);
        assert_eq!(m.check(late), PinCheck::OnMiss);
    }

    #[test]
    fn clock_going_backwards_is_not_fresh() {
        let mut m = quiet_at(T);
        assert_eq!(m.refresh_due(T - 1), Refresh::Now);
        assert_eq!(m.check(T - 1), PinCheck::Always);
    }
}

/// Pins and the marker live in the zone's Cache API, which every worker on the zone
/// can write. So each entry is signed with a key only this worker has (derived from
/// its `ADMIN_TOKEN`: only admin writes make pins, and they need that secret) and
/// carries its own expiry: an entry another worker put there, or an old entry put back,
/// is ignored.
pub mod signed {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    type HmacSha256 = Hmac<Sha256>;

    /// What an entry says, all of it covered by the signature.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PinFields<'a> {
        pub env: &'a str,
        /// The route key (or the marker's or a shard note's name).
        pub name: &'a str,
        /// `put`, `deleted`, `marker` or `note`.
        pub kind: &'a str,
        pub expires_ms: i64,
        pub body: &'a str,
    }

    /// Signs and checks entries; made once per isolate.
    #[derive(Clone)]
    pub struct PinSigner {
        key: [u8; 32],
    }

    impl std::fmt::Debug for PinSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("PinSigner(..)")
        }
    }

    impl PinSigner {
        /// The signer for a worker whose admin token is `admin_token` (`None` when
        /// the admin API is off: then there are no pins to trust).
        pub fn new(admin_token: Option<&str>) -> Option<Self> {
            let token = admin_token.filter(|t| !t.is_empty())?;
            let mut mac = HmacSha256::new_from_slice(token.as_bytes()).ok()?;
            mac.update(b"redirector read-your-writes pins v1");
            Some(Self { key: mac.finalize().into_bytes().into() })
        }

        fn mac(&self, pin: &PinFields<'_>) -> HmacSha256 {
            // Infallible: HMAC takes keys of any length.
            let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
            for part in [pin.env, pin.name, pin.kind, &pin.expires_ms.to_string(), pin.body] {
                mac.update(&(part.len() as u64).to_be_bytes());
                mac.update(part.as_bytes());
            }
            mac
        }

        /// The signature to store with the entry (hex).
        pub fn sign(&self, pin: &PinFields<'_>) -> String {
            self.mac(pin).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
        }

        /// Whether an entry read back was signed by this worker and has not expired
        /// (the comparison takes the same time wherever the signatures differ).
        pub fn verify(&self, pin: &PinFields<'_>, signature: &str, now_ms: i64) -> bool {
            if now_ms >= pin.expires_ms || signature.len() != 64 {
                return false;
            }
            let Some(bytes) = (0..32).map(|i| u8::from_str_radix(signature.get(2 * i..2 * i + 2)?, 16).ok()).collect::<Option<Vec<u8>>>() else {
                return false;
            };
            self.mac(pin).verify_slice(&bytes).is_ok()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Bug: pins were plain Cache API entries, so any other worker on the zone
        /// could put one and change redirects for 120 s without the admin token.
        #[test]
        fn only_this_workers_unexpired_entries_verify() {
            let signer = PinSigner::new(Some("admin-token")).unwrap();
            let pin = PinFields { env: "prod", name: "go.example.com/x", kind: "put", expires_ms: 2_000, body: "\"https://e.com\"" };
            let sig = signer.sign(&pin);
            assert!(signer.verify(&pin, &sig, 1_999));
            assert!(!signer.verify(&pin, &sig, 2_000), "expired");
            let forged = PinFields { body: "\"https://evil.example\"", ..pin };
            assert!(!signer.verify(&forged, &sig, 1_000), "another body");
            assert!(!signer.verify(&PinFields { expires_ms: 9_999, ..pin }, &sig, 1_000), "a stretched expiry");
            assert!(!signer.verify(&PinFields { name: "go.example.com/y", ..pin }, &sig, 1_000), "another key");
            assert!(!signer.verify(&PinFields { env: "dev", ..pin }, &sig, 1_000), "another env");
            let other = PinSigner::new(Some("another-token")).unwrap();
            assert!(!other.verify(&pin, &sig, 1_000), "another worker's key");
            assert!(!signer.verify(&pin, "zz", 1_000));
            assert!(!signer.verify(&pin, &"g".repeat(64), 1_000));
            assert!(PinSigner::new(None).is_none() && PinSigner::new(Some("")).is_none());
        }
    }
}
