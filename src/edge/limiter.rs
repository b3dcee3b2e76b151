//! The exact rate limiter behind `rate_limit` policies with `store = "durable_object"`.

use worker::durable::State;
use worker::{durable_object, DurableObject, Env, Request, Response, Result};

use crate::policy::rate_limit::Window;

/// The exact rate limiter: one Durable Object per key counts a fixed window, in memory and
/// in its storage (so the count survives the object being evicted). `glue.js` asks it
/// `POST {policy, limit, period_s}` and gets `{allowed, headers}`.
#[durable_object]
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
        let storage = self.state.storage();
        let mut window = match self.window.get() {
            Some(window) => window,
            None => storage.get::<Window>("window").await?.unwrap_or_default(),
        };
        let hit = window.hit(js_sys::Date::now() as u64, ask.limit, ask.period_s);
        self.window.set(Some(window));
        storage.put("window", window).await?;
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
