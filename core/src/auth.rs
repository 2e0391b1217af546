//! Bearer tokens: the admin API's `ADMIN_TOKEN` and explain's `EXPLAIN_TOKEN`, compared
//! in constant time.

use crate::error::Error;

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Whether `authorization` is `Bearer <token>` for a non-empty `token`.
pub fn bearer_matches(token: &str, authorization: Option<&str>) -> bool {
    let given = authorization.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
    !token.is_empty() && given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
}

/// Whether the admin API is on (`ADMIN_TOKEN` set: else 404, it does not exist) and
/// the request carries its token (else 401).
pub fn authorize(admin_token: Option<&str>, authorization: Option<&str>) -> Result<(), Error> {
    match admin_token.filter(|t| !t.is_empty()) {
        None => Err(Error::NotFound),
        Some(token) if bearer_matches(token, authorization) => Ok(()),
        Some(_) => Err(Error::Unauthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn auth() {
        assert_eq!(authorize(None, Some("Bearer x")), Err(Error::NotFound));
        assert_eq!(authorize(Some(""), Some("Bearer ")), Err(Error::NotFound));
        assert_eq!(authorize(Some("tok"), None), Err(Error::Unauthorized));
        assert_eq!(authorize(Some("tok"), Some("Bearer tok2")), Err(Error::Unauthorized));
        assert_eq!(authorize(Some("tok"), Some("tok")), Err(Error::Unauthorized));
        assert_eq!(authorize(Some("tok"), Some("Bearer tok")), Ok(()));
        assert!(!bearer_matches("", Some("Bearer ")));
    }
}
