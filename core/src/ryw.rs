//! When a KV read must look at this location's read-your-writes pins.
//!
//! After an admin write, the worker that served it *pins* each written value in its
//! location's Cache API for [`PIN_TTL_MS`] (see `src/ryw.rs` and
//! `docs/strong-routes.md`), and records the time of the write in one location-wide
//! *marker* entry. Looking up a pin costs a Cache API read; doing that next to every
//! KV read would double the reads of a first hit for the rare case of a recent write.
//! So each isolate keeps a [`WriteMarker`]: what it last learned about the location's
//! most recent write, re-read from the Cache API at most every [`MARKER_FRESH_MS`]
//! (re-read ahead, from half that age on, by one request at a time) and only when a
//! KV read happens. [`WriteMarker::plan`] then says, per KV read:
//!
//! * [`PinCheck::Always`]: a write may have happened in the last [`PIN_TTL_MS`] (or the
//!   marker is not known to be fresh): look up the pin in parallel with KV and prefer
//!   it, exactly as if there were no marker;
//! * [`PinCheck::OnMiss`]: no write here for [`PIN_TTL_MS`] as of at most
//!   [`MARKER_FRESH_MS`] ago: trust a KV value; look up the pin only when KV has
//!   nothing, so a link created a moment ago in another isolate is still found.
//!
//! What that promises, in the location that served the write: the writing isolate
//! sees it on its next request; every isolate sees a *new* link (a KV miss, cached or
//! not) on its next request; another isolate sees an *update or delete* of a link it
//! reads from KV within [`MARKER_FRESH_MS`] (and, for a link it has cached, within the
//! isolate cache lifetime, [`crate::cache::LINK_CACHE_TTL_MS`], which is longer).

/// How long a pin (and the marker) lives in the Cache API: longer than KV needs to
/// spread a write plus its edge cache lifetime.
pub const PIN_TTL_MS: i64 = 120_000;

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

/// What a KV read should do, and whether it should also re-read the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub check: PinCheck,
    pub refresh: bool,
}

/// One isolate's knowledge of the location's latest admin write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteMarker {
    /// When the marker was last read (the time the read started).
    read_at_ms: Option<i64>,
    /// The latest write known: from the marker, or made by this isolate.
    last_write_ms: Option<i64>,
    /// A marker read is in flight (so concurrent requests do not each start one).
    refreshing: bool,
}

impl WriteMarker {
    /// The plan for a KV read at `now_ms`. Marks a refresh as in flight when it asks
    /// for one; report its result with [`WriteMarker::observed`] or
    /// [`WriteMarker::refresh_failed`].
    pub fn plan(&mut self, now_ms: i64) -> Plan {
        let age = self.read_at_ms.map(|at| now_ms - at).filter(|age| (0..MARKER_FRESH_MS).contains(age));
        // Re-read ahead of expiry (from half the freshness on), so that requests keep a
        // fresh view while the read is in flight instead of all checking pins.
        let refresh = !self.refreshing && age.is_none_or(|age| age >= MARKER_FRESH_MS / 2);
        self.refreshing |= refresh;
        let recent = self.last_write_ms.is_some_and(|w| now_ms < w.saturating_add(PIN_TTL_MS));
        let check = if age.is_some() && !recent { PinCheck::OnMiss } else { PinCheck::Always };
        Plan { check, refresh }
    }

    /// A marker read that started at `started_ms` found the latest write at
    /// `last_write_ms` (`None`: no marker, so no write for [`PIN_TTL_MS`]).
    pub fn observed(&mut self, started_ms: i64, last_write_ms: Option<i64>) {
        self.refreshing = false;
        self.read_at_ms = Some(self.read_at_ms.map_or(started_ms, |at| at.max(started_ms)));
        self.last_write_ms = self.last_write_ms.max(last_write_ms);
    }

    /// The marker could not be read: stay unsure (pins are checked on every read).
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

    #[test]
    fn unknown_marker_checks_pins_and_reads_the_marker_once() {
        let mut m = WriteMarker::default();
        assert_eq!(m.plan(T), Plan { check: PinCheck::Always, refresh: true });
        // A second request while the read is in flight checks pins but does not re-read.
        assert_eq!(m.plan(T + 1), Plan { check: PinCheck::Always, refresh: false });
        m.refresh_failed();
        assert_eq!(m.plan(T + 2), Plan { check: PinCheck::Always, refresh: true });
    }

    #[test]
    fn quiet_location_checks_pins_only_on_a_miss_while_the_marker_is_fresh() {
        let mut m = WriteMarker::default();
        m.plan(T);
        m.observed(T, None);
        assert_eq!(m.plan(T + 1), Plan { check: PinCheck::OnMiss, refresh: false });
        // From half its freshness on, one request re-reads it; the view still holds.
        assert_eq!(m.plan(T + MARKER_FRESH_MS / 2), Plan { check: PinCheck::OnMiss, refresh: true });
        assert_eq!(m.plan(T + MARKER_FRESH_MS - 1), Plan { check: PinCheck::OnMiss, refresh: false });
        // Not re-read in time: every read checks pins until it is.
        assert_eq!(m.plan(T + MARKER_FRESH_MS), Plan { check: PinCheck::Always, refresh: false });
        m.observed(T + MARKER_FRESH_MS / 2, None);
        assert_eq!(m.plan(T + MARKER_FRESH_MS - 1), Plan { check: PinCheck::OnMiss, refresh: false });
    }

    #[test]
    fn a_recent_write_anywhere_in_the_location_means_always() {
        let mut m = WriteMarker::default();
        m.plan(T);
        m.observed(T, Some(T - PIN_TTL_MS + 10));
        assert_eq!(m.plan(T + 5).check, PinCheck::Always);
        // Once every pin has expired, only misses look.
        m.observed(T + 10, None);
        assert_eq!(m.plan(T + 10).check, PinCheck::OnMiss);
    }

    #[test]
    fn own_write_is_seen_at_once_and_not_forgotten_by_an_older_marker() {
        let mut m = WriteMarker::default();
        m.plan(T);
        m.observed(T, None);
        m.wrote(T + 100);
        assert_eq!(m.plan(T + 101).check, PinCheck::Always);
        // A marker read that raced the write (and found nothing) does not undo it.
        m.observed(T + 50, None);
        assert_eq!(m.plan(T + 200).check, PinCheck::Always);
        let late = T + 100 + PIN_TTL_MS;
        m.observed(late - 500, None);
        assert_eq!(m.plan(late - 1).check, PinCheck::Always);
        assert_eq!(m.plan(late).check, PinCheck::OnMiss);
    }

    #[test]
    fn clock_going_backwards_is_not_fresh() {
        let mut m = WriteMarker::default();
        m.plan(T);
        m.observed(T, None);
        assert_eq!(m.plan(T - 1).check, PinCheck::Always);
    }
}
