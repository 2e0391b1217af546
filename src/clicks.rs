//! Writes the core's click event to `CLICKS_<ENV>` (schema: `docs/clicks.md`).
//!
//! `writeDataPoint` is fire-and-forget on the platform: it never blocks the response.
//! A failure to write is logged and otherwise ignored: analytics never fail a redirect.
//!
//! The data point crosses into JS as one JSON text (`JSON.parse` on the JS side):
//! cheaper than building its arrays one string at a time.

use redirector_core::click::Click;
use serde::Serialize;
use wasm_bindgen::JsCast;
use worker::{console_error, worker_sys, AnalyticsEngineDataset};

pub fn write(dataset: Option<&AnalyticsEngineDataset>, click: &Click) {
    let Some(dataset) = dataset else { return };
    let point = Point { indexes: [click.index()], blobs: click.blobs(), doubles: click.doubles() };
    let Ok(text) = serde_json::to_string(&point) else { return };
    let written = js_sys::JSON::parse(&text).and_then(|point| {
        let dataset: &worker_sys::AnalyticsEngineDataset = dataset.as_ref().unchecked_ref();
        dataset.write_data_point(point)
    });
    if let Err(e) = written {
        console_error!("click not written: {e:?}");
    }
}

/// An Analytics Engine data point, as `writeDataPoint` takes it.
#[derive(Serialize)]
struct Point<'a> {
    indexes: [&'a str; 1],
    blobs: [&'a str; 14],
    doubles: [f64; 2],
}
