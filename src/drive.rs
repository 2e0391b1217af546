//! Drives one request's future to its end after it first waits on I/O, and answers
//! it through a `Promise`.
//!
//! `wasm_bindgen_futures::future_to_promise` did this before: it polls the future
//! again in a microtask of its own, and every time a wait ends (the KV read of a first
//! hit) it queues one more microtask before polling. Here the future is polled at once:
//! when it is handed over (after [`crate::fetch`]'s first poll), and inside the wake
//! itself, which comes from the callback of the promise or timer it waited on. A wake
//! that arrives while the future is being polled (a future may wake itself) makes the
//! poll run once more instead of nesting. With the future done, the task lets go of
//! it, which ends the cycle between the future and the wakers it gave out.
//!
//! Two limits follow from polling inside the wake. A future that wakes itself to
//! yield is polled again at once, without JS running in between (none here does:
//! every wait is on a JS promise or timer). And a future shared between requests
//! would be polled inside another request's callback; none is shared (each request's
//! state is its own; the isolate's cache is borrowed only between awaits).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(inline_js = "export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return [promise, resolve];
}")]
extern "C" {
    fn deferred() -> js_sys::Array;
}

type Job = Pin<Box<dyn Future<Output = JsValue>>>;

struct Task {
    job: RefCell<Option<Job>>,
    resolve: js_sys::Function,
    polling: Cell<bool>,
    woken: Cell<bool>,
}

// `Wake` asks for Send and Sync; this wasm has one thread (built without atomics, as
// the check below makes sure), so the task is never shared across threads.
#[cfg(target_feature = "atomics")]
compile_error!("src/drive.rs assumes one thread: its task is not thread-safe");
unsafe impl Send for Task {}
unsafe impl Sync for Task {}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.run();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.run();
    }
}

impl Task {
    fn run(self: &Arc<Self>) {
        if self.polling.replace(true) {
            self.woken.set(true);
            return;
        }
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            self.woken.set(false);
            let done = {
                let mut job = self.job.borrow_mut();
                match job.as_mut().map(|f| f.as_mut().poll(&mut cx)) {
                    Some(Poll::Ready(value)) => {
                        *job = None;
                        Some(value)
                    }
                    Some(Poll::Pending) | None => None,
                }
            };
            if let Some(value) = done {
                let _ = self.resolve.call1(&JsValue::UNDEFINED, &value);
                break;
            }
            if !self.woken.get() {
                break;
            }
        }
        self.polling.set(false);
    }
}

/// A `Promise` of `job`'s value, polling it now (with a waker that polls it again
/// when its wait ends).
pub fn promise_of(job: impl Future<Output = JsValue> + 'static) -> js_sys::Promise {
    let pair = deferred();
    let task = Arc::new(Task {
        job: RefCell::new(Some(Box::pin(job))),
        resolve: pair.get(1).unchecked_into(),
        polling: Cell::new(false),
        woken: Cell::new(false),
    });
    task.run();
    pair.get(0).unchecked_into()
}
