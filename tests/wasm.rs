//! wasm-only tests for the worker layer's adapters, run under node by
//! wasm-bindgen-test-runner (scripts/test sets it as the wasm32 test runner).
//! Everything the adapters decide is in redirector-core and tested natively; these
//! pin the JS-facing conversions.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Reflect};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use redirector::drive::promise_of;
use redirector::incoming::{cf_strings, Incoming};
use redirector::kv::{text_within, Read};
use redirector::{clicks, respond::to_response};
use redirector_core::click::{Click, Outcome};
use redirector_core::reply::{CacheFacts, Reply};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{Request, Response};
use worker::AnalyticsEngineDataset;

async fn body(res: &Response) -> String {
    JsFuture::from(res.text().unwrap()).await.unwrap().as_string().unwrap()
}

fn header(res: &Response, name: &str) -> Option<String> {
    res.headers().get(name).unwrap()
}

#[wasm_bindgen_test]
async fn redirect_reply_becomes_an_empty_response_with_its_headers() {
    let res = to_response(Reply::redirect(308, "https://example.com/a?b=1", CacheFacts::default())).unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(header(&res, "location").as_deref(), Some("https://example.com/a?b=1"));
    assert_eq!(header(&res, "cache-control").as_deref(), Some("public, max-age=3600"));
    assert!(res.body().is_none(), "a redirect has no body");
    assert_eq!(body(&res).await, "");
}

#[wasm_bindgen_test]
async fn text_reply_keeps_its_body_and_type() {
    let res = to_response(Reply::text(404, "nope\n").header("cache-control", "no-store")).unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(header(&res, "content-type").as_deref(), Some("text/plain; charset=utf-8"));
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(body(&res).await, "nope\n");
}

/// Headers cross as one string split on U+001F; a header holding that character is
/// set the long way, whole.
#[wasm_bindgen_test]
fn a_header_holding_the_separator_is_set_whole() {
    let res = to_response(Reply::empty(204).header("x-a", "1\u{1f}2").header("cache-control", "no-store")).unwrap();
    assert_eq!(header(&res, "x-a").as_deref(), Some("1\u{1f}2"));
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
}

#[wasm_bindgen_test]
fn a_reply_without_headers_has_none() {
    let res = to_response(Reply::empty(204)).unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(header(&res, "location"), None);
    assert_eq!(header(&res, "content-type"), None);
}

fn request_with_cf(cf: Option<&[(&str, &str)]>) -> Request {
    let req = Request::new_with_str("https://go.example.com/x").unwrap();
    if let Some(props) = cf {
        let obj = Object::new();
        for (k, v) in props {
            Reflect::set(&obj, &(*k).into(), &(*v).into()).unwrap();
        }
        Reflect::set(&req, &"cf".into(), &obj).unwrap();
    }
    req
}

#[wasm_bindgen_test]
fn cf_fields_are_optional() {
    // Regression: worker's `Cf::colo()` unwraps and panics when colo is missing.
    let req = request_with_cf(Some(&[("country", "DE")]));
    assert_eq!(cf_strings(&req, ["country", "colo"]), [Some("DE".to_string()), None]);
    assert_eq!(cf_strings(&request_with_cf(None), ["country"]), [None]);
}

fn request_with_headers(headers: &[(&str, &str)], cf: Option<&[(&str, &str)]>) -> Request {
    let req = request_with_cf(cf);
    for (name, value) in headers {
        req.headers().set(name, value).unwrap();
    }
    req
}

#[wasm_bindgen_test]
fn incoming_facts_cross_in_one_string() {
    let req = request_with_headers(&[("user-agent", "UA/1"), ("referer", "")], Some(&[("country", "DE"), ("colo", "FRA")]));
    let want = Incoming {
        method: "GET".into(),
        url: "https://go.example.com/x".into(),
        user_agent: Some("UA/1".into()),
        referer: Some(String::new()),
        country: Some("DE".into()),
        colo: Some("FRA".into()),
    };
    assert_eq!(Incoming::read(&req), want, "an empty header is present, not absent");
    let bare = Incoming::read(&request_with_headers(&[], None));
    assert_eq!((bare.user_agent, bare.referer, bare.country, bare.colo), (None, None, None, None));
    let odd_cf = Incoming::read(&request_with_cf(Some(&[("colo", "")])));
    assert_eq!((odd_cf.country, odd_cf.colo), (None, Some(String::new())));
}

#[wasm_bindgen_test]
fn a_header_holding_the_separator_is_read_whole() {
    let req = request_with_headers(&[("user-agent", "a\u{1f}b"), ("referer", "https://r.example/\u{1f}")], Some(&[("country", "DE")]));
    let facts = Incoming::read(&req);
    assert_eq!(facts.user_agent.as_deref(), Some("a\u{1f}b"));
    assert_eq!(facts.referer.as_deref(), Some("https://r.example/\u{1f}"));
    assert_eq!((facts.method.as_str(), facts.url.as_str(), facts.country.as_deref()), ("GET", "https://go.example.com/x", Some("DE")));
}

fn sample_click() -> Click {
    Click {
        route_id: "summer".into(),
        host: "go.example.com".into(),
        path: "/summer".into(),
        target: "https://shop.example.com/".into(),
        status: 302,
        outcome: Outcome::Redirect,
        country: "DE".into(),
        colo: "FRA".into(),
        referer_host: "news.example.org".into(),
        ua_class: "mobile",
        env: "test".into(),
        release: "abc".into(),
        method: "GET".into(),
        latency_ms: 3.0,
        variant: "canary".into(),
        audience: "person",
    }
}

#[wasm_bindgen_test]
fn click_becomes_a_data_point_in_schema_order() {
    let points = Array::new();
    let dataset = Object::new();
    Reflect::set(&dataset, &"points".into(), &points).unwrap();
    let write = Function::new_with_args("p", "this.points.push(p)");
    Reflect::set(&dataset, &"writeDataPoint".into(), &write).unwrap();
    let dataset: AnalyticsEngineDataset = JsValue::from(dataset).unchecked_into();
    let click = sample_click();
    clicks::write(Some(&dataset), &click);
    assert_eq!(points.length(), 1);
    let point = points.get(0);
    let field = |name: &str| Array::from(&Reflect::get(&point, &name.into()).unwrap());
    let strings = |a: Array| a.iter().map(|v| v.as_string().unwrap()).collect::<Vec<_>>();
    assert_eq!(strings(field("indexes")), ["go.example.com"]);
    assert_eq!(strings(field("blobs")), click.blobs());
    let doubles: Vec<f64> = field("doubles").iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(doubles, [302.0, 3.0]);
}

/// The point crosses as one string split on U+001F; a click holding that character
/// goes as JSON instead, so its fields arrive whole and in place.
#[wasm_bindgen_test]
fn a_click_holding_the_separator_is_written_whole() {
    let points = Array::new();
    let dataset = Object::new();
    let write = Function::new_with_args("p", "this.points.push(p)");
    Reflect::set(&dataset, &"points".into(), &points).unwrap();
    Reflect::set(&dataset, &"writeDataPoint".into(), &write).unwrap();
    let dataset: AnalyticsEngineDataset = JsValue::from(dataset).unchecked_into();
    let mut click = sample_click();
    click.path = "/a\u{1f}b".into();
    clicks::write(Some(&dataset), &click);
    let point = points.get(0);
    let blobs: Vec<String> = Array::from(&Reflect::get(&point, &"blobs".into()).unwrap()).iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(blobs, click.blobs());
    assert_eq!(blobs[2], "/a\u{1f}b");
}

#[wasm_bindgen_test]
fn a_throwing_dataset_does_not_panic() {
    let dataset = Object::new();
    Reflect::set(&dataset, &"writeDataPoint".into(), &Function::new_no_args("throw new Error('down')")).unwrap();
    let dataset: AnalyticsEngineDataset = JsValue::from(dataset).unchecked_into();
    let click = sample_click();
    clicks::write(Some(&dataset), &click);
}

/// A future that wakes itself `n` times while being polled, then gives 42.
struct WakesItself(u32);

impl Future for WakesItself {
    type Output = JsValue;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<JsValue> {
        if self.0 == 0 {
            return Poll::Ready(JsValue::from(42));
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[wasm_bindgen_test]
async fn a_future_woken_while_it_is_polled_is_polled_again() {
    assert_eq!(JsFuture::from(promise_of(WakesItself(3))).await.unwrap(), JsValue::from(42));
}

#[wasm_bindgen_test]
async fn a_request_is_answered_after_each_of_its_waits() {
    let first = js_sys::Promise::resolve(&JsValue::from("a"));
    let answer = promise_of(async move {
        let a = JsFuture::from(first).await.unwrap().as_string().unwrap();
        redirector::timer::sleep(1).await;
        let b = JsFuture::from(js_sys::Promise::resolve(&JsValue::from("b"))).await.unwrap().as_string().unwrap();
        JsValue::from(a + &b)
    });
    assert_eq!(JsFuture::from(answer).await.unwrap(), JsValue::from("ab"));
}

/// A KV binding whose `get` runs `body` (a JS function body over `key`, `options`).
fn fake_kv(body: &str) -> JsValue {
    let kv = Object::new();
    Reflect::set(&kv, &"get".into(), &Function::new_with_args("key, options", body)).unwrap();
    kv.into()
}

#[wasm_bindgen_test]
async fn a_kv_read_ends_in_a_value_none_a_failure_or_its_deadline() {
    let kv = fake_kv("this.asked = [key, options.cacheTtl, options.type]; return Promise.resolve(key === 'a' ? 'A' : null);");
    assert_eq!(text_within(&kv, "a", 60, 1_000).await, Read::Value(Some("A".into())));
    let asked: Array = Reflect::get(&kv, &"asked".into()).unwrap().unchecked_into();
    assert_eq!((asked.get(0), asked.get(1), asked.get(2)), ("a".into(), 60.into(), "text".into()), "key, cacheTtl, type");
    assert_eq!(text_within(&kv, "b", 60, 1_000).await, Read::Value(None));
    let failing = fake_kv("return Promise.reject(new Error('KV is down'));");
    assert_eq!(text_within(&failing, "a", 60, 1_000).await, Read::Failed("KV is down".into()));
    let throwing = fake_kv("throw new TypeError('key too long');");
    assert_eq!(text_within(&throwing, "a", 60, 1_000).await, Read::Failed("key too long".into()));
    let hanging = fake_kv("return new Promise(() => {});");
    assert_eq!(text_within(&hanging, "a", 60, 20).await, Read::Late);
}
