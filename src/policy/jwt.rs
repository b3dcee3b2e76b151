//! The `jwt` policy: a bearer JWT (RS256/384/512, ES256/384) signed by a key from the
//! issuer's JWK set, with `exp`/`nbf` (with leeway), `iss` and `aud` checked. Configured claims
//! reach the origin as headers; the consumer is a claim (`sub` by default).
//!
//! The checks on the token's text are here; the signature is verified at the edge with
//! WebCrypto, with keys from a per-isolate JWKS cache ([`JwtLookup`] → [`KeyCheck`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::claims::Claims;
use super::jose::{parse_token, Alg};
use super::{check_header_name, Check, Exchange, Found, Lookup, Phase, Rejection, Spec, Verdict};
use crate::context::HeaderOp;
use crate::problem::GatewayError;

/// Default header the consumer's name reaches the origin in.
pub const CONSUMER_HEADER: &str = contracts::headers::CONSUMER;
/// The largest clock leeway, in seconds.
pub const MAX_LEEWAY_S: u64 = 300;

/// The `jwt` policy as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSpec {
    /// Where the issuer publishes its signing keys.
    pub jwks_url: String,
    /// The required `iss`.
    pub issuer: String,
    /// Accepted `aud` values (the token must name one); empty accepts any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// Accepted algorithms (default RS256 and ES256).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
    /// Clock leeway for `exp` and `nbf`, in seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leeway_s: Option<u64>,
    /// The header carrying the token (default `authorization`, as `Bearer <token>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Claims passed to the origin: claim name → header name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, String>,
    /// The claim that names the consumer (default `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_claim: Option<String>,
    /// The header the consumer reaches the origin in (default `x-gateway-consumer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_header: Option<String>,
}

/// Where the token is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The whole value of this header (`cf-access-jwt-assertion`).
    Header(String),
}

/// A validated JWT policy (also what the `access` policy validates into).
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    /// The JWK set's URL.
    pub jwks_url: String,
    /// The required issuer.
    pub issuer: String,
    /// Accepted audiences (empty: any).
    pub audiences: Vec<String>,
    /// Accepted algorithms.
    pub algorithms: Vec<Alg>,
    /// Clock leeway, in ms.
    pub leeway_ms: f64,
    /// Where the token is.
    pub source: TokenSource,
    /// (claim, header) pairs forwarded to the origin.
    pub claims: Vec<(String, String)>,
    /// The consumer's claim.
    pub consumer_claim: String,
    /// The consumer's header.
    pub consumer_header: String,
    /// The `WWW-Authenticate` challenge on a 401 (none for Access).
    pub challenge: Option<&'static str>,
}

/// What the edge must check for a token whose text passed: its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtLookup {
    /// Where the keys are.
    pub jwks_url: String,
    /// The token's key id.
    pub kid: Option<String>,
    /// The token's algorithm (already one the policy accepts).
    pub alg: Alg,
    /// The signed bytes.
    pub signing_input: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// The consumer, from the token's claims.
    pub consumer: Option<String>,
    /// Identity headers to set (or remove, for claims the token lacks) once it verifies.
    pub ops: Vec<HeaderOp>,
}

/// The edge's verdict on a token's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// A key of the token's `kid` and algorithm verified it.
    Valid,
    /// The key exists; the signature does not verify.
    BadSignature,
    /// No key of that `kid` fits the algorithm, even after a refresh.
    UnknownKey,
    /// No keys could be loaded at all (the JWKS endpoint failed and none are cached).
    Unavailable(String),
}

pub(super) fn url_problem(field: &str, url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| {
        url.strip_prefix("http://").filter(|r| {
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .any(|h| r.starts_with(h) && r[h.len()..].starts_with([':', '/']))
        })
    });
    match rest {
        None => Some(format!(
            "{field} `{url}` must be https:// (http:// only for 127.0.0.1 or localhost)"
        )),
        Some(r) if r.is_empty() || r.starts_with('/') => {
            Some(format!("{field} `{url}` has no host"))
        }
        Some(_) => None,
    }
}

/// The consumer header (default `x-gateway-consumer`) and the claim → header pairs, checked;
/// shared with the `access` policy.
pub(super) fn identity_headers(
    consumer_header: Option<String>,
    claims: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) -> (String, Vec<(String, String)>) {
    let consumer_header = consumer_header.unwrap_or_else(|| CONSUMER_HEADER.to_owned());
    problems.extend(check_header_name("consumer_header", &consumer_header));
    let claims = check_claims_map(claims, &consumer_header, problems);
    (consumer_header, claims)
}

fn check_claims_map(
    claims: &BTreeMap<String, String>,
    consumer_header: &str,
    problems: &mut Vec<String>,
) -> Vec<(String, String)> {
    for (claim, header) in claims {
        if claim.is_empty() {
            problems.push("claims: a claim name is empty".into());
        }
        problems.extend(check_header_name(&format!("claims.{claim}"), header));
        if header == consumer_header {
            problems.push(format!(
                "claims.{claim}: `{header}` is already the consumer header"
            ));
        }
    }
    claims.iter().map(|(c, h)| (c.clone(), h.clone())).collect()
}

impl Spec for JwtSpec {
    type Checked = Jwt;

    fn validate(self) -> Result<Jwt, Vec<String>> {
        let mut problems = Vec::new();
        problems.extend(url_problem("jwks_url", &self.jwks_url));
        if self.issuer.is_empty() {
            problems.push("issuer must not be empty".into());
        }
        let names = if self.algorithms.is_empty() {
            vec!["RS256".to_owned(), "ES256".to_owned()]
        } else {
            self.algorithms
        };
        let mut algorithms = Vec::new();
        for name in &names {
            match Alg::parse(name) {
                Some(alg) if !algorithms.contains(&alg) => algorithms.push(alg),
                Some(_) => problems.push(format!("algorithms: `{name}` is listed twice")),
                None if name.starts_with("HS") || name.eq_ignore_ascii_case("none") => {
                    problems.push(format!(
                        "algorithms: `{name}` is never accepted (no shared secrets, no unsigned tokens); use RS256, RS384, RS512, ES256 or ES384"
                    ))
                }
                None => problems.push(format!(
                    "algorithms: `{name}` is not one of RS256, RS384, RS512, ES256, ES384"
                )),
            }
        }
        let leeway_s = self.leeway_s.unwrap_or(60);
        if leeway_s > MAX_LEEWAY_S {
            problems.push(format!("leeway_s = {leeway_s} is above {MAX_LEEWAY_S}"));
        }
        let source = match self.header.as_deref() {
            None | Some("authorization") => TokenSource::Bearer,
            Some(name) => {
                problems.extend(check_header_name("header", name));
                TokenSource::Header(name.to_owned())
            }
        };
        let (consumer_header, claims) =
            identity_headers(self.consumer_header, &self.claims, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Jwt {
            jwks_url: self.jwks_url,
            issuer: self.issuer,
            audiences: self.audiences,
            algorithms,
            leeway_ms: leeway_s as f64 * 1000.0,
            source,
            claims,
            consumer_claim: self.consumer_claim.unwrap_or_else(|| "sub".to_owned()),
            consumer_header,
            challenge: Some("Bearer realm=\"edge-gateway\""),
        })
    }
}

impl Jwt {
    fn reject(&self, reason: impl Into<String>) -> Verdict {
        let mut rejection = Rejection::new(GatewayError::Unauthenticated, reason);
        if let Some(challenge) = self.challenge {
            rejection = rejection.with("www-authenticate", challenge);
        }
        Verdict::Reject(rejection)
    }

    fn token(&self, x: &Exchange<'_, '_, '_>) -> Option<String> {
        match &self.source {
            TokenSource::Bearer => {
                let value = x.request.header("authorization")?;
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            }
            TokenSource::Header(name) => x.request.header(name).map(|v| v.trim().to_owned()),
        }
    }

    /// Checks the token's text at `now_ms`: everything but the signature.
    pub fn inspect(&self, token: &str, now_ms: f64) -> Result<JwtLookup, String> {
        let token = parse_token(token)?;
        let alg = match Alg::parse(&token.alg) {
            Some(alg) if self.algorithms.contains(&alg) => alg,
            _ => return Err(format!("algorithm `{}` is not accepted", token.alg)),
        };
        let wanted: Vec<&str> = self
            .claims
            .iter()
            .map(|(c, _)| c.as_str())
            .chain([self.consumer_claim.as_str()])
            .collect();
        let claims = Claims::parse(&token.payload, &wanted)?;
        let exp = claims.exp.ok_or("token has no `exp`")?;
        if now_ms > exp * 1000.0 + self.leeway_ms {
            return Err("token expired".into());
        }
        if claims
            .nbf
            .is_some_and(|nbf| now_ms + self.leeway_ms < nbf * 1000.0)
        {
            return Err("token is not valid yet (`nbf`)".into());
        }
        if claims.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(format!("issuer {:?} is not {}", claims.iss, self.issuer));
        }
        if !self.audiences.is_empty() && !claims.aud.iter().any(|a| self.audiences.contains(a)) {
            return Err(format!("audience {:?} is not accepted", claims.aud));
        }
        let value = |name: &str| {
            claims
                .picked
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let consumer = value(&self.consumer_claim);
        let mut ops = Vec::with_capacity(self.claims.len() + 1);
        let mut set = |header: &str, value: Option<String>| {
            ops.push(match value {
                Some(v) => HeaderOp::Set(header.to_owned(), v),
                None => HeaderOp::Remove(header.to_owned()),
            })
        };
        set(&self.consumer_header, consumer.clone());
        for (claim, header) in &self.claims {
            set(header, value(claim));
        }
        Ok(JwtLookup {
            jwks_url: self.jwks_url.clone(),
            kid: token.kid,
            alg,
            signing_input: token.signing_input,
            signature: token.signature,
            consumer,
            ops,
        })
    }
}

impl Check for Jwt {
    const PHASE: Phase = Phase::Authentication;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        let Some(token) = self.token(x) else {
            return self.reject("no token");
        };
        match self.inspect(&token, x.request.started_ms) {
            Ok(lookup) => Verdict::Lookup(Lookup::Jwt(Box::new(lookup))),
            Err(reason) => self.reject(reason),
        }
    }

    fn resolve(&self, x: &mut Exchange<'_, '_, '_>, asked: Lookup, found: Found) -> Verdict {
        let check = match found {
            Found::Jwt(check) => check,
            Found::Unavailable(why) => KeyCheck::Unavailable(why),
            Found::ApiKey(_) => return self.reject("unexpected lookup"),
        };
        let Lookup::Jwt(lookup) = asked else {
            return self.reject("unexpected lookup");
        };
        match check {
            KeyCheck::Valid => {
                x.effects.consumer = lookup.consumer;
                x.effects.request_ops.extend(lookup.ops);
                Verdict::Continue
            }
            KeyCheck::BadSignature => self.reject("signature does not verify"),
            KeyCheck::UnknownKey => self.reject(format!(
                "no {} key with kid {} in {}",
                lookup.alg.name(),
                lookup.kid.as_deref().unwrap_or("(none)"),
                lookup.jwks_url
            )),
            KeyCheck::Unavailable(why) => Verdict::Reject(Rejection::new(
                GatewayError::AuthUnavailable,
                format!("signing keys unavailable: {why}"),
            )),
        }
    }
}

/// What to do about an issuer's cached key set for one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysAction {
    /// Use the cached keys as they are.
    Use,
    /// Use them, and refresh the set in the background (it is older than the refresh
    /// interval).
    Refresh,
    /// Fetch the set before answering: the token's key is not cached, and the last attempt
    /// is older than the minimum interval (so an unknown `kid` cannot make the gateway
    /// hammer the issuer).
    FetchNow,
}

/// Decides for a token whose key is (`has_key`) or is not cached, at `now_ms`, given when
/// the set was last loaded and last attempted.
pub fn keys_action(
    has_key: bool,
    loaded_at: Option<f64>,
    attempted_at: Option<f64>,
    now_ms: f64,
    refresh_ms: f64,
    min_refresh_ms: f64,
) -> KeysAction {
    let may_try = attempted_at.is_none_or(|at| now_ms - at >= min_refresh_ms);
    if !has_key {
        return if may_try {
            KeysAction::FetchNow
        } else {
            KeysAction::Use
        };
    }
    let stale = loaded_at.is_none_or(|at| now_ms - at >= refresh_ms);
    if stale && may_try {
        KeysAction::Refresh
    } else {
        KeysAction::Use
    }
}
