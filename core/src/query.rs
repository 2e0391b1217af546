//! Query forwarding (ROUTES.md `forward_query`): append the request's query parameters
//! to the target; where a name is in both, the target's value wins.
//!
//! Parameters are compared by their decoded names (`a%5Fb` and `a_b` are one name) and
//! appended in their original encoding and order, so repeated names such as
//! `tag=a&tag=b` survive. The target's fragment stays last.

use std::collections::HashSet;

use url::Url;

/// Merge `request_query` (without the leading `?`) into `target`.
pub fn merge_query(target: &mut Url, request_query: Option<&str>) {
    let Some(request_query) = request_query.filter(|q| !q.is_empty()) else {
        return;
    };
    let existing = target.query().unwrap_or("");
    let taken: HashSet<String> = url::form_urlencoded::parse(existing.as_bytes())
        .map(|(name, _)| name.into_owned())
        .collect();
    let mut merged = String::with_capacity(existing.len() + request_query.len() + 1);
    merged.push_str(existing);
    for pair in request_query.split('&').filter(|p| !p.is_empty()) {
        let raw_name = pair.split('=').next().unwrap_or(pair);
        let name = url::form_urlencoded::parse(raw_name.as_bytes())
            .next()
            .map(|(n, _)| n.into_owned())
            .unwrap_or_default();
        if taken.contains(&name) {
            continue;
        }
        if !merged.is_empty() {
            merged.push('&');
        }
        merged.push_str(pair);
    }
    if !merged.is_empty() {
        target.set_query(Some(&merged));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_table() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("https://t.com/x", None, "https://t.com/x"),
            ("https://t.com/x", Some(""), "https://t.com/x"),
            ("https://t.com/x", Some("a=1"), "https://t.com/x?a=1"),
            ("https://t.com/x?a=1", Some("b=2"), "https://t.com/x?a=1&b=2"),
            ("https://t.com/x?a=1", Some("a=9&b=2"), "https://t.com/x?a=1&b=2"),
            ("https://t.com/x?a_b=1", Some("a%5Fb=9"), "https://t.com/x?a_b=1"),
            ("https://t.com/x?q=a+b", Some("q=c"), "https://t.com/x?q=a+b"),
            ("https://t.com/x", Some("tag=a&tag=b"), "https://t.com/x?tag=a&tag=b"),
            ("https://t.com/x", Some("flag&&x=%20y"), "https://t.com/x?flag&x=%20y"),
            ("https://t.com/x#top", Some("a=1"), "https://t.com/x?a=1#top"),
            ("https://t.com/x?utm=t#f", Some("utm=r&z=1"), "https://t.com/x?utm=t&z=1#f"),
        ];
        for (to, q, want) in cases {
            let mut url = Url::parse(to).unwrap();
            merge_query(&mut url, *q);
            assert_eq!(url.as_str(), *want, "{to} + {q:?}");
        }
    }

    #[test]
    fn hostile_query_cannot_change_scheme_or_host() {
        let mut url = Url::parse("https://t.com/x").unwrap();
        merge_query(&mut url, Some("a=@evil.com/#x&b=%0D%0ASet-Cookie:1&c=//evil.com"));
        assert_eq!(url.host_str(), Some("t.com"));
        assert_eq!(url.scheme(), "https");
        assert!(!url.as_str().contains('\r') && !url.as_str().contains('\n'));
    }
}
