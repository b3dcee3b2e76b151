//! Gradual migration: conditional routes, sticky traffic splits, canary releases of route
//! tables and shadow evaluation — one file per feature, each spec + validation + decision.
//!
//! - [`sticky`]: the stable hash and sticky keys every gradual choice is made by.
//! - [`when`]: conditional routes (header, cookie and query tests) and their ambiguity check.
//! - [`split`]: sticky traffic splits of a route between upstreams.
//! - [`shadow`]: a candidate table evaluated beside the active one on live traffic.
//! - [`release`]: the release pointer (stable, canary candidate, shadow), its staleness rule
//!   and the per-request version pick.
//! - [`canary`]: the canary judge — wait, abort, advance or promote, with the figures.
//! - [`transition`]: what a rollback, a promotion or an abort by hand writes and records
//!   (`gatewayctl` and the admin API alike).
pub mod canary;
pub mod release;
pub mod shadow;
pub mod split;
pub mod sticky;
pub mod transition;
pub mod when;
