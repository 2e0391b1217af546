//! Test-only (`--features test-panic`): paths that panic on purpose, so the suite can
//! prove the worker recovers (tests/integration/panic.test.mjs). Never in a release.
//!
//! * `/__redirector/test/panic`: panics before any `await`;
//! * `/__redirector/test/panic-after-await`: reads KV first, then panics;
//! * `/__redirector/admin/test/panic`: the same as the first, in the control script
//!   (the edge forwards it there).

use redirector_core::ryw::PinCheck;
use redirector_core::store::RouteReads;
use redirector_core::RequestUrl;

use crate::store::EdgeStore;

pub async fn maybe_panic(url: &RequestUrl<'_>, store: Option<&EdgeStore>) {
    match url.path() {
        "/__redirector/test/panic" => panic!("test-panic: synchronous"),
        #[cfg(feature = "control")]
        "/__redirector/admin/test/panic" => panic!("test-panic: in the control script"),
        "/__redirector/test/panic-after-await" => {
            if let Some(store) = store {
                let _ = store.get("test/panic", PinCheck::OnMiss).await;
            }
            panic!("test-panic: after an await");
        }
        _ => {}
    }
}
