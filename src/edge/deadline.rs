//! Time limits at the edge: a future raced against the runtime's timer, for every wait on a
//! dependency that has no timeout of its own (KV reads, health probes).

use std::future::Future;

use futures_util::future::{select, Either};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The work's output, or `None` when `ms` passed first (the work is then dropped).
pub async fn within<F: Future>(ms: f64, work: F) -> Option<F::Output> {
    futures_util::pin_mut!(work);
    match select(work, timer(ms)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// A promise that resolves after `ms`, as a future. Not `worker::Delay`: that keeps the
/// waker of its first poll, and a request's first poll uses a no-op waker (`edge::settle`),
/// so it would never wake; a `JsFuture` takes the current waker on every poll.
fn timer(ms: f64) -> JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global: worker::web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        // Scheduling a timer cannot fail in a worker; if it did, the work would run unbounded.
        let _ = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    JsFuture::from(promise)
}
