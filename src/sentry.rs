//! Reports faults to Sentry when the `SENTRY_DSN` secret is set (nothing is sent
//! otherwise): one event per fault (invalid record, store or Durable Object failure),
//! tagged with environment `SENTRY_ENVIRONMENT` (the env name by default) and release
//! = git sha, posted from `ctx.waitUntil` so the response never waits for it. A failed
//! post is logged, never retried. At most
//! [`redirector_core::sentry::MAX_EVENTS_PER_MINUTE`] events per isolate and minute
//! (the rest are counted and logged once), and an event's URL has no query string.

use std::cell::RefCell;

use redirector_core::sentry::{auth_header, envelope, parse_dsn, Budget, Dsn, Event};
use redirector_core::Error;
use wasm_bindgen::JsValue;
use worker::{console_error, Context, Env, Fetch, Headers, Method, Request, RequestInit};

/// 32 random hex digits (Sentry event ids need only be unique).
fn event_id() -> String {
    (0..4).map(|_| format!("{:08x}", (js_sys::Math::random() * f64::from(u32::MAX)) as u32)).collect()
}

pub struct Fault<'a> {
    pub error: &'a Error,
    pub outcome: &'a str,
    pub route: &'a str,
    pub url: &'a str,
    pub method: &'a str,
}

/// A parsed DSN and the environment to tag events with, made once per isolate.
pub struct Reporter {
    dsn: Dsn,
    environment: String,
    budget: RefCell<Budget>,
}

impl Reporter {
    /// `None` when `SENTRY_DSN` is unset or not a DSN: then nothing is ever sent.
    pub fn from_env(env: &Env, env_name: &str) -> Option<Self> {
        let dsn = env.secret("SENTRY_DSN").ok().and_then(|s| parse_dsn(&s.to_string()))?;
        let environment = env.var("SENTRY_ENVIRONMENT").map(|v| v.to_string()).unwrap_or_else(|_| env_name.to_string());
        Some(Self { dsn, environment, budget: RefCell::default() })
    }

    pub fn report(&self, ctx: &Context, release: &str, fault: Fault<'_>) {
        let (allowed, dropped) = self.budget.borrow_mut().allow(js_sys::Date::now() as i64);
        if let Some(n) = dropped {
            console_error!("sentry: {n} fault events were not sent in the last minute (cap per isolate)");
        }
        if allowed {
            report(ctx, &self.dsn, &self.environment, release, fault);
        }
    }
}

fn report(ctx: &Context, dsn: &Dsn, environment: &str, release: &str, fault: Fault<'_>) {
    let id = event_id();
    let message = fault.error.to_string();
    let body = envelope(
        dsn,
        &Event {
            event_id: &id,
            timestamp: js_sys::Date::now() / 1000.0,
            environment,
            release,
            message: &message,
            fault: fault.outcome,
            route: fault.route,
            url: fault.url,
            method: fault.method,
        },
    );
    let request = (|| {
        let headers = Headers::new();
        headers.set("content-type", "application/x-sentry-envelope")?;
        headers.set("x-sentry-auth", &auth_header(dsn))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&body)));
        Request::new_with_init(&dsn.envelope_url, &init)
    })();
    let Ok(request) = request else {
        console_error!("sentry: could not build the request");
        return;
    };
    ctx.wait_until(async move {
        match Fetch::Request(request).send().await {
            Ok(res) if res.status_code() < 300 => {}
            Ok(res) => console_error!("sentry: envelope answered {}", res.status_code()),
            Err(e) => console_error!("sentry: envelope not sent: {e}"),
        }
    });
}
