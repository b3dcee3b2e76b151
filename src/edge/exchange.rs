//! The edge's per-request context: the runtime's request, environment and execution context
//! with the isolate's configuration and the pure [`RequestContext`], built once in `fetch`
//! and handed to every phase.

use std::rc::Rc;

use worker::web_sys::{Headers, Request};
use worker::{Context, Env};

use super::isolate::{self, Config};
use crate::context::{HeaderLookup, RequestContext};
use crate::headers::{is_valid_request_id, REQUEST_ID};

/// One request at the edge.
pub struct Exchange {
    /// The client's request (its body stream is forwarded untouched).
    pub req: Request,
    /// Bindings, vars and secrets.
    pub env: Env,
    /// `waitUntil` for background work.
    pub ctx: Rc<Context>,
    /// Settings read once per isolate.
    pub config: Rc<Config>,
    /// What the pure core knows about the request.
    pub request: RequestContext,
}

/// The runtime's `Headers`, read by name.
struct JsHeaders(Headers);

impl HeaderLookup for JsHeaders {
    fn header(&self, name: &str) -> Option<String> {
        self.0.get(name).ok().flatten()
    }
}

impl Exchange {
    /// Builds the context; `Err` carries the request id when the URL is unusable (never
    /// happens with a runtime-given URL).
    pub fn new(req: Request, env: Env, ctx: Context, started_ms: f64) -> Result<Self, String> {
        let headers = req.headers();
        let request_id = match headers.get(REQUEST_ID).ok().flatten() {
            Some(id) if is_valid_request_id(&id) => id,
            _ => isolate::next_request_id(),
        };
        let config = isolate::config(&env);
        let request = RequestContext::new(
            req.url(),
            req.method(),
            request_id.clone(),
            started_ms,
            Box::new(JsHeaders(headers)),
        )
        .ok_or(request_id)?;
        Ok(Self {
            req,
            env,
            ctx: Rc::new(ctx),
            config,
            request,
        })
    }
}
