//! Timers for the worker layer: a JS `setTimeout` as a future, and a deadline on any
//! future, so a binding that hangs (a Durable Object, the Cache API, an admin body)
//! ends the request within a stated time instead of holding it open
//! (docs/failures.md). Route reads from KV race their deadline in JS instead
//! ([`crate::kv`]).
//!
//! A timer that is no longer wanted is cleared, and its callback freed, when its
//! future is dropped. It used to be a `Promise` around `setTimeout` awaited through
//! `JsFuture`: when the guarded read won the race, the timer stayed set, and workerd
//! cancels a request's timers when the request ends, so that promise never settled
//! and the two callbacks `JsFuture` had attached to it (JS functions and their Rust
//! state) were never freed: a leak on every KV read, which the soak run showed as
//! 44 000 live closures after two minutes (docs/failures.md, "Soak").

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_util::future::{select, Either};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

#[derive(Default)]
struct Fired {
    done: bool,
    /// The waker of the latest poll (the first poll in [`crate::fetch`] uses a no-op one).
    waker: Option<Waker>,
}

/// A `setTimeout` of `ms` as a future. Dropped before it fires, it clears the timeout
/// and frees its callback.
pub struct Sleep {
    fired: Rc<RefCell<Fired>>,
    id: JsValue,
    /// Owned here, so it is freed with the future (JS never calls a cleared timeout).
    _callback: Closure<dyn FnMut()>,
}

pub fn sleep(ms: u64) -> Sleep {
    let fired = Rc::new(RefCell::new(Fired::default()));
    let on_fire = fired.clone();
    let callback = Closure::<dyn FnMut()>::new(move || {
        let waker = {
            let mut f = on_fire.borrow_mut();
            f.done = true;
            f.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    });
    let id = set_timeout(wasm_bindgen::JsCast::unchecked_ref(callback.as_ref()), ms as f64);
    Sleep { fired, id, _callback: callback }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut f = self.fired.borrow_mut();
        if f.done {
            return Poll::Ready(());
        }
        f.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.fired.borrow().done {
            clear_timeout(&self.id);
        }
    }
}

/// `future`'s output, or `Err(())` if it has not finished within `ms`. The timer is
/// cleared as soon as `future` finishes first.
pub async fn within<F: Future>(ms: u64, future: F) -> Result<F::Output, ()> {
    match select(Box::pin(future), sleep(ms)).await {
        Either::Left((out, _timer)) => Ok(out),
        Either::Right(_) => Err(()),
    }
}
