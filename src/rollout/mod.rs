//! Gradual migration: conditional routes, sticky traffic splits, canary releases of route
//! tables and shadow evaluation — one file per feature, each spec + validation + decision.
//!
//! - [`sticky`]: the stable hash and sticky keys every gradual choice is made by.
pub mod sticky;
