//! Writes the core's click event to `CLICKS_<ENV>` (schema: `docs/clicks.md`).
//!
//! `writeDataPoint` is fire-and-forget on the platform: it never blocks the response.
//! A failure to write is logged and otherwise ignored: analytics never fail a redirect.

use redirector_core::click::Click;
use worker::{console_error, AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset};

pub fn write(dataset: Option<&AnalyticsEngineDataset>, click: &Click) {
    let Some(dataset) = dataset else { return };
    let mut point = AnalyticsEngineDataPointBuilder::new().indexes([click.index()]);
    for blob in click.blobs() {
        point = point.add_blob(blob);
    }
    for double in click.doubles() {
        point = point.add_double(double);
    }
    if let Err(e) = dataset.write_data_point(&point.build()) {
        console_error!("click not written: {e}");
    }
}
