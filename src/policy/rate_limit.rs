//! The `rate_limit` policy: at most `limit` requests per `period_s` per key (the consumer,
//! the client IP, a header's value, or the route). Two stores:
//! - `binding`: the Workers Rate Limiting binding — fast, per Cloudflare location,
//!   approximate; it reports only allowed or not, so answers carry `RateLimit-Policy` and a
//!   `Retry-After` of one period.
//! - `durable_object`: one Durable Object per key counts exactly, worldwide ([`Window`]); answers
//!   also carry `RateLimit` with the remaining count and the reset time.
//!
//! `action = "log"` counts and logs what would be refused but lets it through, for rolling a
//! limit out safely. Headers follow the IETF RateLimit header fields draft.

use serde::{Deserialize, Serialize};

use super::{Check, Exchange, Phase, RouteView, Spec, Verdict};
use crate::context::{Gate, HeaderOp};
use crate::problem::{Answer, GatewayError};

/// Periods the Rate Limiting binding supports, in seconds.
pub const BINDING_PERIODS: [u64; 2] = [10, 60];
/// The longest Durable Object window, in seconds (a day).
pub const MAX_PERIOD_S: u64 = 86_400;

/// What a request is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The authenticated consumer (needs an authentication policy on the route).
    Consumer,
    /// The client address (`CF-Connecting-IP`).
    Ip,
    /// The value of the header named by `header`.
    Header,
    /// The route: one budget shared by every caller.
    Route,
}

impl KeyKind {
    /// Its name in `routes.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consumer => "consumer",
            Self::Ip => "ip",
            Self::Header => "header",
            Self::Route => "route",
        }
    }
}

/// Where the counts live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    /// The Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml).
    Binding,
    /// A Durable Object namespace (`[[durable_objects.bindings]]`, class `RateLimiter`).
    DurableObject,
}

/// What happens at the limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Answer 429.
    #[default]
    Reject,
    /// Let it through and log `policy_would_reject`.
    Log,
}

/// The `rate_limit` policy as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// What requests are counted by.
    pub key: KeyKind,
    /// The header, when `key = "header"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Requests allowed per window.
    pub limit: u64,
    /// The window, in seconds (10 or 60 for the binding).
    pub period_s: u64,
    /// Where the counts live.
    pub store: Store,
    /// The binding's name in wrangler.toml (a `[[ratelimits]]` name or a Durable Object
    /// binding).
    pub binding: String,
    /// `reject` (default) or `log`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub action: Action,
}

fn is_default(a: &Action) -> bool {
    *a == Action::Reject
}

/// A validated rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// What requests are counted by (with the header name for [`KeyKind::Header`]).
    pub key: KeyKind,
    /// The header for [`KeyKind::Header`].
    pub header: String,
    /// Requests per window.
    pub limit: u64,
    /// Window, in seconds.
    pub period_s: u64,
    /// Where the counts live.
    pub store: Store,
    /// The binding's name.
    pub binding: String,
    /// Reject or log.
    pub action: Action,
}

impl Spec for RateLimitSpec {
    type Checked = RateLimit;

    fn validate(self) -> Result<RateLimit, Vec<String>> {
        let mut problems = Vec::new();
        if self.limit == 0 {
            problems.push("limit must be at least 1".into());
        }
        match self.store {
            Store::Binding if !BINDING_PERIODS.contains(&self.period_s) => problems.push(format!(
                "period_s = {} is not supported by the Rate Limiting binding (10 or 60)",
                self.period_s
            )),
            Store::DurableObject if self.period_s == 0 || self.period_s > MAX_PERIOD_S => problems
                .push(format!(
                    "period_s = {} is out of bounds (1..={MAX_PERIOD_S})",
                    self.period_s
                )),
            _ => {}
        }
        if self.binding.is_empty() {
            problems.push("binding must name a binding in wrangler.toml".into());
        }
        let header = match (self.key, self.header) {
            (KeyKind::Header, Some(h)) => {
                if !super::is_header_name(&h) {
                    problems.push(format!("header: `{h}` is not a lower-case header name"));
                }
                h
            }
            (KeyKind::Header, None) => {
                problems.push("key = \"header\" needs `header`".into());
                String::new()
            }
            (_, Some(_)) => {
                problems.push("`header` is only for key = \"header\"".into());
                String::new()
            }
            (_, None) => String::new(),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RateLimit {
            key: self.key,
            header,
            limit: self.limit,
            period_s: self.period_s,
            store: self.store,
            binding: self.binding,
            action: self.action,
        })
    }
}

impl RateLimit {
    /// The value requests are counted by, as sent (consumers and header values are
    /// case-sensitive; addresses are in canonical form); `-` when the request has none (all
    /// such requests share one budget).
    pub fn key_value(&self, x: &Exchange<'_, '_, '_>) -> String {
        let value = match self.key {
            KeyKind::Consumer => x.effects.consumer.clone(),
            // One client, one budget, however its address is written.
            KeyKind::Ip => x.request.client_ip.as_deref().map(|ip| {
                ip.trim()
                    .parse::<std::net::IpAddr>()
                    .map_or_else(|_| ip.to_owned(), |a| a.to_string())
            }),
            KeyKind::Header => x.request.header(&self.header),
            KeyKind::Route => Some(x.route_id.to_owned()),
        };
        value.unwrap_or_else(|| "-".to_owned())
    }

    /// `RateLimit-Policy` item for this policy.
    pub fn policy_header(&self, name: &str) -> String {
        format!("\"{name}\";q={};w={}", self.limit, self.period_s)
    }
}

impl Check for RateLimit {
    const PHASE: Phase = Phase::RateLimit;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        let name = x.policy;
        let key = format!("{name}|{}|{}", self.key.as_str(), self.key_value(x));
        let policy_header = self.policy_header(name);
        x.effects.response_ops.push(HeaderOp::Append(
            "ratelimit-policy".into(),
            policy_header.clone(),
        ));
        // `RateLimit-Policy` reaches the answer through the response operations.
        let reject = Answer::problem(GatewayError::RateLimited, &x.request.request_id)
            .with("retry-after", self.period_s.to_string());
        x.effects.gates.push(Gate {
            policy: name.to_owned(),
            store: match self.store {
                Store::Binding => "binding",
                Store::DurableObject => "object",
            },
            binding: self.binding.clone(),
            key,
            limit: self.limit,
            period_s: self.period_s,
            log_only: self.action == Action::Log,
            reject,
        });
        Verdict::Continue
    }

    fn check_route(&self, route: &RouteView<'_>) -> Vec<String> {
        if self.key == KeyKind::Consumer && !route.authenticates {
            vec!["counts by consumer, but the route has no authentication policy".into()]
        } else {
            Vec::new()
        }
    }
}

/// One key's fixed window, as the Durable Object keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start of the current window, in ms since the epoch.
    pub start_ms: u64,
    /// Requests counted in it.
    pub count: u64,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// Whether the request is within the limit.
    pub allowed: bool,
    /// Requests left in this window.
    pub remaining: u64,
    /// Seconds until the window resets (at least 1).
    pub reset_s: u64,
}

impl Window {
    /// Counts a request at `now_ms` against `limit` per `period_s`; a refused request is not
    /// counted.
    pub fn hit(&mut self, now_ms: u64, limit: u64, period_s: u64) -> Hit {
        let period_ms = period_s.max(1) * 1000;
        let start = now_ms - now_ms % period_ms;
        if start != self.start_ms {
            *self = Window {
                start_ms: start,
                count: 0,
            };
        }
        let allowed = self.count < limit;
        if allowed {
            self.count += 1;
        }
        Hit {
            allowed,
            remaining: limit.saturating_sub(self.count),
            reset_s: (start + period_ms - now_ms).div_ceil(1000).max(1),
        }
    }
}

impl Hit {
    /// The `RateLimit` item for policy `name`.
    pub fn header(&self, name: &str) -> String {
        format!("\"{name}\";r={};t={}", self.remaining, self.reset_s)
    }
}
