//! The exact rate limiter behind `rate_limit` policies with `store = "durable_object"`.

use worker::durable::State;
use worker::{durable_object, DurableObject, Env, Request, Response, Result};

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::policy::rate_limit::Window;

/// Storage key of the window.
const KEY: &str = "window";

/// The exact rate limiter: one Durable Object per key counts a fixed window, in memory and
/// in its storage (so the count survives the object being evicted). `glue.js` asks it
/// `POST {policy, limit, period_s}` and gets `{allowed, headers}`.
#[durable_object(fetch)]
pub struct RateLimiter {
    state: State,
    window: std::cell::Cell<Option<Window>>,
}

#[derive(serde::Serialize)]
struct Reply {
    allowed: bool,
    headers: Vec<(String, String)>,
}

#[derive(serde::Deserialize)]
struct Ask {
    policy: String,
    limit: u64,
    period_s: u64,
}

impl DurableObject for RateLimiter {
    fn new(state: State, _env: Env) -> Self {
        Self {
            state,
            window: std::cell::Cell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let ask: Ask = req.json().await?;
        // The window is stored as JSON text (no serde-wasm-bindgen in the worker for this).
        let storage = self.state.storage();
        let mut window = match self.window.get() {
            Some(window) => window,
            None => {
                let stored = JsFuture::from(storage.as_raw().get(KEY)?).await?;
                stored
                    .as_string()
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or_default()
            }
        };
        let hit = window.hit(js_sys::Date::now() as u64, ask.limit, ask.period_s);
        self.window.set(Some(window));
        let text = serde_json::to_string(&window)?;
        JsFuture::from(storage.as_raw().put(KEY, JsValue::from_str(&text))?).await?;
        let mut headers = vec![("ratelimit".to_owned(), hit.header(&ask.policy))];
        if !hit.allowed {
            headers.push(("retry-after".to_owned(), hit.reset_s.to_string()));
        }
        Response::from_json(&Reply {
            allowed: hit.allowed,
            headers,
        })
    }
}
