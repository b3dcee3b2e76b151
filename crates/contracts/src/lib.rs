//! What the gateway and the sample backends share, (de)serialised by the same code on both
//! sides: the health report a service's `/healthz` answers and the gateway's probes classify,
//! the `application/problem+json` body, the header names that cross between them, and the API
//! version a service reports.
//!
//! # Layout
//!
//! - [`health`]: [`HealthReport`] (status, checks, detail, service, version) and
//!   [`HealthStatus`], with the tolerant reading the gateway's probes use
//!   ([`HealthReport::reported_status`]).
//! - [`problem`]: [`Problem`], the RFC 9457 body with the gateway's `request_id` and `route_id`.
//! - [`headers`]: header names (request id, traceparent, consumer and Access headers, the
//!   route version, the answering service and its API version).
//! - [`version`]: [`ApiVersion`], `MAJOR.MINOR.PATCH`, and what a change of it allows.
//!
//! # Compatibility
//!
//! This crate follows semantic versioning. Every reader ignores fields it does not know, so a
//! minor release may add optional fields; it may not remove or retype one, add a required
//! one or a new enum value (that is a major release). `tests/compat.rs` keeps the previous
//! minor's reader and proves that what this version writes stays readable by it.
//!
//! The crate depends on `serde` and `serde_json` only (the gateway compiles it into its WASM
//! worker); the `openapi` feature adds `utoipa::ToSchema` for the backends' OpenAPI documents.

pub mod headers;
pub mod health;
pub mod problem;
pub mod version;

pub use health::{Check, HealthReport, HealthStatus};
pub use problem::Problem;
pub use version::ApiVersion;
