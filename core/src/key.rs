//! Route keys (ROUTES.md "Keys") and the Durable Object shard that owns each one.
//!
//! Keys are `<host><path>`, `*<path>`, `rules:<host>`, `rules:*`, and a host's
//! fallback `fallback:<host>` (docs/routes.md "Fallbacks"). [`parse_key`]
//! canonicalises a key as written by an operator; [`shard_of`] is the one function
//! that decides a canonical key's shard, used by the admin API, the worker's store and
//! the Durable Objects alike (a property test holds them to each other).

use crate::canon::{canonical_host, canonical_path};
use crate::error::Error;

/// KV's limit on key length; longer keys cannot exist, so they are not looked up.
pub const MAX_KEY_BYTES: usize = 512;

/// A validated, canonical route key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteKey {
    /// The canonical KV key.
    pub key: String,
    /// The shard that owns it ([`shard_of`]): its host, or `*` for any-host keys.
    pub shard: String,
    pub is_rules: bool,
}

/// The shard that owns a canonical key: the host part of `<host><path>` or
/// `rules:<host>`, which is `*` for `*<path>` and `rules:*`. One shard per host keeps a
/// host's writes in order while different hosts never contend.
pub fn shard_of(key: &str) -> &str {
    match key.strip_prefix("rules:").or_else(|| key.strip_prefix(FALLBACK_PREFIX)) {
        Some(host) => host,
        None => key.split('/').next().unwrap_or(key),
    }
}

/// Prefix of a host's fallback key: `fallback:<host>` holds a link record that
/// answers the host's unknown paths (docs/routes.md).
pub const FALLBACK_PREFIX: &str = "fallback:";

/// The fallback key of a canonical host (`fallback:<host>`).
pub fn fallback_key(host: &str) -> String {
    [FALLBACK_PREFIX, host].concat()
}

/// The Durable Object name of a shard (`shard:<host>`).
pub fn shard_object(shard: &str) -> String {
    format!("shard:{shard}")
}

/// The Durable Object name of a strong link's counter (`link:<key>`).
pub fn link_object(key: &str) -> String {
    format!("link:{key}")
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidInput { field: "key".into(), reason: reason.into() }
}

/// Parse and canonicalise a route key.
pub fn parse_key(raw: &str) -> Result<RouteKey, Error> {
    let (key, is_rules) = if let Some(host) = raw.strip_prefix("rules:") {
        let host = if host == "*" { "*".to_string() } else { canonical_host(host).map_err(|e| invalid(format!("rules host: {e}")))? };
        (format!("rules:{host}"), true)
    } else if let Some(host) = raw.strip_prefix(FALLBACK_PREFIX) {
        // No `fallback:*`: a catch-all rule at the end of `rules:*` says that already.
        if host.starts_with('*') {
            return Err(invalid("fallback keys name one host (a catch-all rule in rules:* covers any host)"));
        }
        let host = canonical_host(host).map_err(|e| invalid(format!("fallback host: {e}")))?;
        (fallback_key(&host), false)
    } else {
        let Some(slash) = raw.find('/') else {
            return Err(invalid("must be <host><path>, *<path>, rules:<host> or rules:*"));
        };
        let (host, path) = raw.split_at(slash);
        if host.contains(':') {
            return Err(invalid("keys with a 'name:' prefix other than rules: and fallback: are reserved"));
        }
        let host = if host == "*" { "*".to_string() } else { canonical_host(host).map_err(|e| invalid(format!("host: {e}")))? };
        let path = canonical_path(path).map_err(|e| invalid(format!("path: {e}")))?;
        (format!("{host}{path}"), false)
    };
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid("is longer than KV's 512-byte key limit"));
    }
    let shard = shard_of(&key).to_string();
    Ok(RouteKey { key, shard, is_rules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = parse_key("Go.Example.com/Summer/").unwrap();
        assert_eq!((k.key.as_str(), k.shard.as_str(), k.is_rules), ("go.example.com/Summer", "go.example.com", false));
        assert_eq!(parse_key("*/help").unwrap().shard, "*");
        assert_eq!(parse_key("rules:OLD.example.com").unwrap().key, "rules:old.example.com");
        assert_eq!(parse_key("rules:*").unwrap().shard, "*");
        let f = parse_key("fallback:Shop.Example.com").unwrap();
        assert_eq!((f.key.as_str(), f.shard.as_str(), f.is_rules), ("fallback:shop.example.com", "shop.example.com", false));
        assert_eq!(shard_of(&f.key), f.shard);
        for bad in ["nohost", "stats:x/y", "fallback:", "fallback:a b", "fallback:*", "go.example.com:80/x", "rules:", &format!("x.com/{}", "a".repeat(600))] {
            assert!(matches!(parse_key(bad), Err(Error::InvalidInput { .. })), "{bad}");
        }
    }

    /// Bug: `shard_of` sent every key starting with `*` to the `*` shard while
    /// `parse_key` used the canonical host, so admin writes and clicks for a host such
    /// as `*.example.com` went to different objects.
    #[test]
    fn wildcard_host_keys_and_their_clicks_share_one_shard() {
        for raw in ["*.example.com/x", "rules:*.example.com"] {
            let k = parse_key(raw).unwrap();
            assert_eq!(k.shard, "*.example.com", "{raw}");
            assert_eq!(shard_of(&k.key), k.shard, "{raw}");
        }
        assert_eq!(shard_of("*.example.com/x"), "*.example.com");
        assert_eq!(shard_of("*/x"), "*");
        assert_eq!(shard_of("rules:*"), "*");
    }
}
