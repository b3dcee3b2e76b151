//! Edge API gateway: a Cloudflare Worker (Rust → WASM) that loads its route table from Workers
//! KV, matches requests with matchit and forwards each one to exactly one origin, once, within
//! the route's timeout.
//!
//! # Layout
//!
//! Pure core — plain data in, decisions out; compiles and is tested natively:
//! - [`table`]: the route table — `routes.toml` source ([`table::source`]), the JSON document
//!   in KV ([`table::document`]), validation into a [`table::RouteTable`], and lookup
//!   (host → path → method, 404/405).
//! - [`config`]: the worker's settings (`[vars]`), their defaults and parse errors.
//! - [`context`]: the per-request context built once and handed to every phase, and the
//!   effects policies gather for the origin request and the client's response.
//! - [`policy`]: per-route policies, one file each (CORS, IP rules, API keys, JWT, Cloudflare
//!   Access, body limit, rate limit, header transforms), their fixed order and the engine.
//! - [`rollout`]: gradual migration — sticky hashing, conditional routes, traffic splits,
//!   canary releases of route tables, shadow evaluation.
//! - [`rewrite`]: path rewrites (strip a prefix, or a template of captured parameters).
//! - [`headers`]: header policy (hop-by-hop removal, `X-Forwarded-*`, request ids).
//! - [`forward`]: URL splitting, the origin URL, timeout/failure classification.
//! - [`problem`]: the one error → status mapping, and the [`problem::Answer`] that describes
//!   every response the gateway gives itself (built in one place, `glue.js`).
//! - [`reload`]: when the per-isolate route table and health caches are refreshed.
//! - [`health`]: probe classification, health-aware weighted origin choice, snapshot SQL.
//! - [`request_id`]: request id generation.
//! - [`access_log`]: the per-request JSON log line.
//! - [`admin`]: the admin API's routing under `/__gateway/`, its bearer-token check, the
//!   operator console's embedded files, and the write endpoints' bodies, checks and refusals.
//! - [`history`]: D1 rows and SQL for route table versions and activations.
//! - [`diff`]: what changes between two route table versions, item by item and for sample
//!   requests (`gatewayctl diff` and the admin API's `GET /__gateway/diff`).
//! - [`stats`]: traffic statistics per window, version, route and upstream — counters,
//!   latency quantiles, the D1 upsert and queries, and the admin API's report.
//!
//! Runtime layer — the only code that touches the `worker` crate, compiled for wasm32 only:
//! - `edge`: the fetch handler (synchronous on the hot path), the KV-backed table cache, the
//!   health view, scheduled probes, the admin API (its write endpoints too), and
//!   `edge/glue.js` — the JavaScript half that forwards a request in one call (see
//!   BENCHMARKS.md for why).
//!
//! Beside this crate: `crates/gatewayctl` (check and publish route tables, using this crate's
//! validation), `crates/contracts` (what the gateway and the services share: the health report
//! its probes read, the problem+json body, header names — serde only) and `backends/` (sample
//! origins).

pub mod access_log;
pub mod admin;
pub mod config;
pub mod context;
pub mod diff;
pub mod forward;
pub mod headers;
pub mod health;
pub mod history;
pub mod policy;
pub mod problem;
pub mod reload;
pub mod request_id;
pub mod rewrite;
pub mod rollout;
pub mod stats;
pub mod table;

#[cfg(target_arch = "wasm32")]
mod edge;
