//! What every request needs from the runtime's `Request`, read in one crossing into
//! JS: the method, the URL, `User-Agent`, `Referer`, `cf.country` and `cf.colo`.
//!
//! Read one by one, these were nine calls into JS (the method, the URL, the `Headers`
//! object, two `get`s, `cf` and two of its properties, each string copied out on its
//! own). A small JS function joins them by U+001F ([`crate::packed::SEP`]) instead,
//! each optional one marked present by a leading `+`, and the text crosses once. A
//! header may itself hold U+001F; then the split would not give six fields, and the
//! facts are read one by one, so none is ever split wrongly. Everything else (the
//! headers only reserved paths, conditions or misses use) is read where it is used.

use redirector_core::RequestFacts;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::web_sys;

use crate::packed::SEP;

#[wasm_bindgen(inline_js = "export function request_facts(req) {
  const h = req.headers, cf = req.cf, c = cf !== null && typeof cf === 'object';
  const o = v => v === null ? '' : '+' + v;
  const s = v => typeof v === 'string' ? '+' + v : '';
  return req.method + '\\x1f' + req.url + '\\x1f' + o(h.get('user-agent')) + '\\x1f' + o(h.get('referer'))
    + '\\x1f' + (c ? s(cf.country) : '') + '\\x1f' + (c ? s(cf.colo) : '');
}")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn request_facts(req: &web_sys::Request) -> Result<String, JsValue>;
}

/// The request's facts every request uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub method: String,
    pub url: String,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    /// `request.cf.country` and `.colo`, when `cf` has them as strings.
    pub country: Option<String>,
    pub colo: Option<String>,
}

impl Incoming {
    /// The core's facts of the request that these give (method, client, time); the
    /// caller adds what its flow reads besides.
    pub fn facts(&self, now_ms: i64) -> RequestFacts<'_> {
        RequestFacts {
            method: &self.method,
            country: self.country.as_deref(),
            colo: self.colo.as_deref(),
            referer: self.referer.as_deref(),
            user_agent: self.user_agent.as_deref(),
            now_ms,
            ..RequestFacts::default()
        }
    }

    pub fn read(req: &web_sys::Request) -> Incoming {
        request_facts(req).ok().and_then(|packed| Incoming::unpack(&packed)).unwrap_or_else(|| Incoming::one_by_one(req))
    }

    fn unpack(packed: &str) -> Option<Incoming> {
        let mut fields = packed.split(SEP);
        let mut next = || fields.next();
        let (method, url, user_agent, referer, country, colo) = (next()?, next()?, next()?, next()?, next()?, next()?);
        if next().is_some() {
            return None;
        }
        // A present field begins with '+'; an absent one is empty.
        let optional = |field: &str| field.strip_prefix('+').map(str::to_string);
        Some(Incoming {
            method: method.to_string(),
            url: url.to_string(),
            user_agent: optional(user_agent),
            referer: optional(referer),
            country: optional(country),
            colo: optional(colo),
        })
    }

    /// The slow, exact way: for a request whose headers hold U+001F.
    fn one_by_one(req: &web_sys::Request) -> Incoming {
        let headers = req.headers();
        let header = |name: &str| headers.get(name).ok().flatten();
        let [country, colo] = cf_strings(req, ["country", "colo"]);
        Incoming { method: req.method(), url: req.url(), user_agent: header("user-agent"), referer: header("referer"), country, colo }
    }
}

/// String properties of `request.cf`, each `None` when absent (locally and in tests
/// that do not set it). The runtime builds the whole object on the first access, the
/// costliest single step of a request (docs/performance.md).
pub fn cf_strings<const N: usize>(req: &web_sys::Request, names: [&str; N]) -> [Option<String>; N] {
    let cf = js_sys::Reflect::get(req, &JsValue::from_str("cf")).ok().filter(|cf| cf.is_object());
    names.map(|name| cf.as_ref().and_then(|cf| js_sys::Reflect::get(cf, &JsValue::from_str(name)).ok()?.as_string()))
}
