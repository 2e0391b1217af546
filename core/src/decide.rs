//! The redirect decision for one canonical host and path: look up, choose the target
//! (conditions, canary), substitute rule placeholders, merge the query, and the
//! answer's cache policy. Used by the request flow ([`crate::handler`]) and by explain
//! ([`crate::explain`]), which shows its steps.

use std::cell::RefCell;

use url::Url;

use crate::cache::IsolateCache;
use crate::canon::{canonical_host, canonical_path, CanonError};
use crate::error::Error;
use crate::lookup::{lookup, Found, Source, Step};
use crate::pattern::{substitute, SubstituteError};
use crate::query::merge_query;
use crate::record::RecordError;
use crate::reply::{CacheFacts, Reply};
use crate::request::RequestFacts;
use crate::store::{RouteReads, StrongLinks, StrongMode, WriteView};
use crate::ua;
use crate::variant::{choose, client_cookie, client_id, ClientFacts, Variant};

/// A redirect decided for a request.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub found: Found,
    pub route_id: String,
    pub variant: Variant,
    pub status: u16,
    pub location: Url,
    /// `Set-Cookie` to send (canary records, first visit).
    pub set_cookie: Option<String>,
    /// What the cache policy depends on besides the status.
    pub cache: CacheFacts,
}

impl Redirect {
    pub fn reply(&self) -> Reply {
        let reply = Reply::redirect(self.status, self.location.as_str(), self.cache);
        match &self.set_cookie {
            Some(cookie) => reply.header("set-cookie", cookie.clone()),
            None => reply,
        }
    }
}

/// The decision, with the steps that led to it (recorded only when asked for, by
/// explain).
#[derive(Debug)]
pub struct Decision {
    pub steps: Vec<Step>,
    pub result: Result<Redirect, Error>,
}

/// Who is asking: a redirect (strong links count the click) or explain (nothing is
/// counted or stored, and the steps are recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `counts`: whether this request spends a strong link's click (people do;
    /// previews, bots and HEAD only ask, see [`crate::ua::audience`]).
    Redirect { counts: bool },
    Explain,
}

/// Look up, choose the target, substitute and merge the query.
pub async fn decide<S: RouteReads + WriteView + StrongLinks>(
    query: Option<&str>,
    host: &str,
    path: &str,
    req: &RequestFacts<'_>,
    store: &S,
    cache: &RefCell<IsolateCache>,
    purpose: Purpose,
) -> Decision {
    let mut steps = Vec::new();
    let (mode, trace) = match purpose {
        // Only people spend a strong link's clicks; previews, bots and HEAD peek.
        Purpose::Redirect { counts: true } => (StrongMode::Click, None),
        Purpose::Redirect { counts: false } => (StrongMode::Peek, None),
        Purpose::Explain => (StrongMode::Peek, Some(&mut steps)),
    };
    let result = match lookup(store, cache, host, path, req.now_ms, mode, trace).await {
        Ok(Some(found)) => redirect(found, query, req),
        Ok(None) => Err(Error::NotFound),
        Err(e) => Err(e),
    };
    Decision { steps, result }
}

fn redirect(found: Found, query: Option<&str>, req: &RequestFacts<'_>) -> Result<Redirect, Error> {
    let route_id = found.route_id();
    // Only conditions and canaries look at the client; plain records skip the work.
    let varies = !found.record.when.is_empty() || found.record.canary.is_some();
    let (cookie, accept_language) = if varies { (req.cookie.get(), req.accept_language.get()) } else { (None, None) };
    let (cid, from_cookie) = if varies { client_id(cookie.as_deref(), req.random) } else { (String::new(), true) };
    let device = if varies { ua::device_tags(req.user_agent) } else { ua::device_tags(None) };
    let client = ClientFacts { country: req.country, accept_language: accept_language.as_deref(), device, client_id: &cid };
    let choice = choose(&found.record, &route_id, &client);
    let mut location = match &found.source {
        Source::Rule { captures, .. } => substitute(choice.to, captures).map_err(|e| match e {
            SubstituteError::TooLong => Error::UriTooLong,
            SubstituteError::OriginChanged => Error::InvalidRecord {
                key: found.key.clone(),
                error: RecordError { field: "to".into(), reason: "substitution changed the origin".into() },
            },
        })?,
        Source::Exact | Source::Fallback | Source::HostFallback => choice.to.clone(),
    };
    if found.record.forward_query {
        merge_query(&mut location, query);
    }
    let set_cookie = (found.record.canary.is_some() && !from_cookie).then(|| client_cookie(&cid));
    let (status, variant) = (choice.status, choice.variant);
    let cache = CacheFacts {
        varies,
        revocable: found.revocable,
        // The record's end, or a skipped record's start, whichever comes first.
        expires_in_ms: [found.record.expires_ms, found.changes_at_ms].into_iter().flatten().min().map(|at| at - req.now_ms),
    };
    Ok(Redirect { found, route_id, variant, status, location, set_cookie, cache })
}

/// Canonical host and path of a URL's host and path, or the error that answers it.
pub fn canonical(host: &str, path: &str) -> Result<(String, String), Error> {
    let path = canonical_path(path).map_err(|e| match e {
        CanonError::PathTooLong => Error::UriTooLong,
        other => Error::BadRequest(other),
    })?;
    let host = canonical_host(host).map_err(Error::BadRequest)?;
    Ok((host, path))
}
