//! The `body_limit` policy: the largest request body a route forwards. A declared
//! `Content-Length` over the limit is refused at once (413); a body of undeclared length is
//! counted as it streams to the origin (by `glue.js`), and the origin request is aborted —
//! and 413 answered — when it crosses the limit.

use serde::{Deserialize, Serialize};

use super::{Check, Exchange, Phase, Rejection, Spec, Verdict};
use crate::problem::GatewayError;

/// The largest limit: Workers accept request bodies up to 100 MB on most plans.
pub const MAX_BYTES: u64 = 100 * 1024 * 1024;

/// The `body_limit` policy as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyLimitSpec {
    /// The largest body, in bytes.
    pub max_bytes: u64,
}

/// A validated body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// The largest body, in bytes.
    pub max_bytes: u64,
}

impl Spec for BodyLimitSpec {
    type Checked = BodyLimit;

    fn validate(self) -> Result<BodyLimit, Vec<String>> {
        if self.max_bytes == 0 || self.max_bytes > MAX_BYTES {
            return Err(vec![format!(
                "max_bytes = {} is out of bounds (1..={MAX_BYTES})",
                self.max_bytes
            )]);
        }
        Ok(BodyLimit {
            max_bytes: self.max_bytes,
        })
    }
}

impl BodyLimit {
    /// Decides on a declared length (`None`: not declared, counted while streaming).
    pub fn decide(&self, content_length: Option<&str>) -> Result<(), String> {
        match content_length.map(|v| v.trim().parse::<u64>()) {
            Some(Ok(n)) if n > self.max_bytes => Err(format!(
                "Content-Length {n} is above the limit of {} bytes",
                self.max_bytes
            )),
            Some(Err(_)) => Err("Content-Length is not a number".into()),
            _ => Ok(()),
        }
    }
}

impl Check for BodyLimit {
    const PHASE: Phase = Phase::RequestLimits;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        let declared = x.request.header("content-length");
        if let Err(reason) = self.decide(declared.as_deref()) {
            return Verdict::Reject(Rejection::new(GatewayError::PayloadTooLarge, reason));
        }
        let tighter = x
            .effects
            .max_body
            .as_ref()
            .is_none_or(|(m, _)| self.max_bytes < *m);
        if declared.is_none() && tighter {
            x.effects.max_body = Some((self.max_bytes, x.policy.to_owned()));
        }
        Verdict::Continue
    }
}
