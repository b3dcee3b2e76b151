//! Per-route policies: authentication, rate limits, CORS, request limits and header
//! transforms. Each policy is one file holding its spec (as written in the route table), its
//! validation into a checked type, and its pure decision; this module registers them, fixes
//! the order they run in, and runs a route's list ([`run`]).
//!
//! Adding a policy: a new file with a `…Spec` (serde) that implements [`Spec`] and a checked
//! type that implements [`Check`], plus one line in the `policies!` registration below.
//!
//! Whatever needs I/O — an API key in KV, JWT signing keys and WebCrypto, a rate-limit binding
//! or Durable Object — is asked for through [`Lookup`] (answered by the edge's [`Resolver`])
//! or handed to the JavaScript half as a [`Gate`](crate::context::Gate).

pub mod access;
pub mod api_key;
pub mod body_limit;
pub mod claims;
pub mod cors;
pub mod headers;
pub mod ip_rules;
pub mod jose;
pub mod jwt;
pub mod rate_limit;

use serde::{Deserialize, Serialize};

use crate::context::{Effects, RequestContext};
use crate::problem::GatewayError;

/// The order policies run in, whatever order a route lists them: a CORS preflight is
/// answered before anything asks for credentials; cheap local refusals (IP rules, a declared
/// body size) come before a rate limit spends a token; header transforms see the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// CORS: answer preflights, add CORS headers to responses.
    Cors,
    /// IP allow and deny lists.
    IpRules,
    /// API keys, JWTs, Cloudflare Access: who is calling.
    Authentication,
    /// Request body size.
    RequestLimits,
    /// Rate limits.
    RateLimit,
    /// Header transforms.
    Transform,
}

/// What a policy sees of a request: the request itself, the route it matched, and the
/// effects of the policies before it (which it may add to).
pub struct Exchange<'x, 'k, 'v> {
    /// The request.
    pub request: &'x RequestContext,
    /// The matched route's id.
    pub route_id: &'x str,
    /// The captured path parameters, still percent-encoded.
    pub params: &'x matchit::Params<'k, 'v>,
    /// What the policies so far decided to do.
    pub effects: &'x mut Effects,
    /// The name of the policy deciding now.
    pub policy: &'x str,
}

/// Why a policy refused a request: the answer's error, extra headers, and the reason for the
/// log (never shown to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status, title and detail of the answer.
    pub error: GatewayError,
    /// The cause, for the log line.
    pub reason: String,
    /// Headers the answer carries (`WWW-Authenticate`, `Retry-After`, …).
    pub headers: Vec<(String, String)>,
}

impl Rejection {
    /// A rejection with no extra headers.
    pub fn new(error: GatewayError, reason: impl Into<String>) -> Self {
        Self {
            error,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header to the answer.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// A policy's decision about a request.
#[derive(Debug)]
pub enum Verdict {
    /// Go on to the next policy.
    Continue,
    /// Answer a CORS preflight at the edge (204) with these headers.
    Preflight(Vec<(String, String)>),
    /// Refuse the request.
    Reject(Rejection),
    /// Ask the edge something first, then [`Check::resolve`] decides.
    Lookup(Lookup),
}

/// Something a policy needs the edge to find out.
#[derive(Debug)]
pub enum Lookup {
    /// The record stored for an API key's hash.
    ApiKey(api_key::KeyLookup),
    /// Whether a JWT's signature verifies with its issuer's keys.
    Jwt(Box<jwt::JwtLookup>),
}

/// The edge's answer to a [`Lookup`].
#[derive(Debug)]
pub enum Found {
    /// The stored key record, `None` when there is none (unknown or revoked).
    ApiKey(Option<api_key::KeyRecord>),
    /// The outcome of verifying a JWT signature.
    Jwt(jwt::KeyCheck),
    /// The lookup itself failed (KV unreachable): the request cannot be checked now.
    Unavailable(String),
}

/// The edge's side of [`run`]: answers lookups (from a cache, or with I/O).
#[allow(async_fn_in_trait)]
pub trait Resolver {
    /// Answers `lookup` for the policy named `policy`.
    async fn resolve(&self, policy: &str, lookup: &Lookup) -> Found;
}

/// A policy as written, turned into its checked type by validation.
pub trait Spec {
    /// The validated policy.
    type Checked;
    /// Validates into the checked type, or lists every problem (as text naming the field).
    fn validate(self) -> Result<Self::Checked, Vec<String>>;
}

/// What a route looks like to a policy attached to it, for checks that need both.
#[derive(Debug)]
pub struct RouteView<'a> {
    /// Names of the parameters the route's path captures.
    pub captures: &'a [String],
    /// Whether one of the route's policies authenticates (sets a consumer).
    pub authenticates: bool,
}

/// A validated policy's behaviour.
pub trait Check {
    /// When it runs.
    const PHASE: Phase;
    /// Decides about a request.
    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict;
    /// Decides once the edge answered the policy's [`Lookup`].
    fn resolve(&self, _x: &mut Exchange<'_, '_, '_>, _asked: Lookup, _found: Found) -> Verdict {
        Verdict::Continue
    }
    /// Problems with attaching this policy to a route.
    fn check_route(&self, _route: &RouteView<'_>) -> Vec<String> {
        Vec::new()
    }
}

/// Declares the policies: the document's `{"<type>": {…}}` spec enum, the checked enum, and
/// the dispatch between them. One line per policy.
macro_rules! policies {
    ($($(#[$doc:meta])* $variant:ident = $tag:literal: $spec:ty => $checked:ty;)*) => {
        /// A policy as written in the route document: `{"<type>": {…settings…}}`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub enum PolicySpec {
            $($(#[$doc])* #[serde(rename = $tag)] $variant($spec),)*
        }

        /// A validated policy.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Policy {
            $($(#[$doc])* $variant($checked),)*
        }

        /// Every policy type's name in `routes.toml` (`type = "…"`).
        pub const TYPES: &[&str] = &[$($tag),*];

        impl PolicySpec {
            /// The type's name in `routes.toml`.
            pub fn type_name(&self) -> &'static str {
                match self { $(Self::$variant(_) => $tag,)* }
            }

            /// Validates into a [`Policy`].
            pub fn validate(self) -> Result<Policy, Vec<String>> {
                match self { $(Self::$variant(s) => Spec::validate(s).map(Policy::$variant),)* }
            }
        }

        impl Policy {
            /// When it runs.
            pub fn phase(&self) -> Phase {
                match self { $(Self::$variant(_) => <$checked as Check>::PHASE,)* }
            }

            /// Decides about a request.
            pub fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
                match self { $(Self::$variant(p) => p.check(x),)* }
            }

            /// Decides once a lookup was answered.
            pub fn resolve(&self, x: &mut Exchange<'_, '_, '_>, asked: Lookup, found: Found) -> Verdict {
                match self { $(Self::$variant(p) => p.resolve(x, asked, found),)* }
            }

            /// Problems with attaching it to a route.
            pub fn check_route(&self, route: &RouteView<'_>) -> Vec<String> {
                match self { $(Self::$variant(p) => p.check_route(route),)* }
            }
        }
    };
}

policies! {
    /// Allowed cross-origin callers; answers preflights.
    Cors = "cors": cors::CorsSpec => cors::Cors;
    /// Client IP allow and deny lists (CIDR).
    IpRules = "ip_rules": ip_rules::IpRulesSpec => ip_rules::IpRules;
    /// API keys issued by `gatewayctl keys`, looked up in KV.
    ApiKey = "api_key": api_key::ApiKeySpec => api_key::ApiKey;
    /// JWTs verified with the issuer's JWKS (RS256, ES256, …).
    Jwt = "jwt": jwt::JwtSpec => jwt::Jwt;
    /// Cloudflare Access application tokens (`Cf-Access-Jwt-Assertion`).
    Access = "access": access::AccessSpec => jwt::Jwt;
    /// The largest request body.
    BodyLimit = "body_limit": body_limit::BodyLimitSpec => body_limit::BodyLimit;
    /// Requests per window, per key, in a binding or a Durable Object.
    RateLimit = "rate_limit": rate_limit::RateLimitSpec => rate_limit::RateLimit;
    /// Header set/append/remove on the request and the response.
    Headers = "headers": headers::HeadersSpec => headers::HeaderTransform;
}

impl Policy {
    /// Whether it establishes who is calling.
    pub fn authenticates(&self) -> bool {
        self.phase() == Phase::Authentication
    }
}

/// A policy with its name in the route table.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    /// The name routes refer to it by.
    pub name: String,
    /// The policy.
    pub policy: Policy,
}

/// How [`run`] ended short of forwarding.
#[derive(Debug)]
pub enum Stop<'p> {
    /// Answer a preflight.
    Preflight(Vec<(String, String)>),
    /// A policy refused the request.
    Reject {
        /// The policy's name.
        policy: &'p str,
        /// Why.
        rejection: Rejection,
    },
}

/// Runs `list` (indices into `policies`, already in phase order) on a request. `Ok` means
/// forward it with the effects gathered in `x`.
pub async fn run<'p, R: Resolver>(
    policies: &'p [NamedPolicy],
    list: &[usize],
    x: &mut Exchange<'_, '_, '_>,
    resolver: &R,
) -> Result<(), Stop<'p>> {
    for &i in list {
        let named = &policies[i];
        let x = &mut Exchange {
            request: x.request,
            route_id: x.route_id,
            params: x.params,
            effects: &mut *x.effects,
            policy: &named.name,
        };
        let mut verdict = named.policy.check(x);
        loop {
            match verdict {
                Verdict::Continue => break,
                Verdict::Preflight(headers) => return Err(Stop::Preflight(headers)),
                Verdict::Reject(rejection) => {
                    return Err(Stop::Reject {
                        policy: &named.name,
                        rejection,
                    })
                }
                Verdict::Lookup(lookup) => {
                    let found = resolver.resolve(&named.name, &lookup).await;
                    verdict = named.policy.resolve(x, lookup, found);
                }
            }
        }
    }
    Ok(())
}

/// Whether `name` is a header name (an RFC 9110 token), in lower case.
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

/// Headers the gateway owns or a proxy must not touch: no policy may set or remove them.
pub const PROTECTED_HEADERS: &[&str] = &[
    "host",
    contracts::headers::REQUEST_ID,
    contracts::headers::ROUTE_VERSION,
    contracts::headers::ACCESS_CLIENT_ID,
    contracts::headers::ACCESS_CLIENT_SECRET,
    "cf-connecting-ip",
    "content-length",
];

/// A problem if `name` is not a lower-case header name a policy may write.
pub fn check_header_name(field: &str, name: &str) -> Option<String> {
    if !is_header_name(name) {
        Some(format!("{field}: `{name}` is not a lower-case header name"))
    } else if PROTECTED_HEADERS.contains(&name)
        || crate::headers::HOP_BY_HOP.contains(&name)
        || name.starts_with("proxy-")
    {
        Some(format!("{field}: `{name}` is managed by the gateway"))
    } else {
        None
    }
}
