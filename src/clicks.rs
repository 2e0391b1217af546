//! Writes the core's click event to `CLICKS_<ENV>` (schema: `docs/clicks.md`).
//!
//! `writeDataPoint` is fire-and-forget on the platform: it never blocks the response.
//! A failure to write is logged and otherwise ignored: analytics never fail a redirect.
//!
//! The data point crosses into JS as one JSON text (`JSON.parse` on the JS side):
//! cheaper than building its arrays one string at a time.

use redirector_core::click::Click;
use serde_json::json;
use wasm_bindgen::JsCast;
use worker::{console_error, worker_sys, AnalyticsEngineDataset};

pub fn write(dataset: Option<&AnalyticsEngineDataset>, click: &Click) {
    let Some(dataset) = dataset else { return };
    let point = json!({ "indexes": [click.index()], "blobs": click.blobs(), "doubles": click.doubles() });
    let written = js_sys::JSON::parse(&point.to_string()).and_then(|point| {
        let dataset: &worker_sys::AnalyticsEngineDataset = dataset.as_ref().unchecked_ref();
        dataset.write_data_point(point)
    });
    if let Err(e) = written {
        console_error!("click not written: {e:?}");
    }
}
