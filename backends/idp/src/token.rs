//! What a token request asks for, and the JWT payload it turns into.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::keys::Alg;

/// Subject when the request names none.
pub const DEFAULT_SUB: &str = "dev-user";
/// Audience when the request names none.
pub const DEFAULT_AUD: &str = "edge-gateway";
/// Lifetime when the request gives neither `exp` nor `ttl_s`, seconds.
pub const DEFAULT_TTL_S: i64 = 3600;

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "x"`.
    One(String),
    /// `"aud": ["x", "y"]`.
    Many(Vec<String>),
}

/// The body of `POST /token`; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `sub` (default `dev-user`).
    pub sub: Option<String>,
    /// `aud` (default `edge-gateway`).
    pub aud: Option<Audience>,
    /// `iss` (default: the provider's issuer).
    pub iss: Option<String>,
    /// `RS256` (default) or `ES256`.
    pub alg: Option<String>,
    /// Lifetime in seconds (default 3600; negative makes an expired token).
    pub ttl_s: Option<i64>,
    /// Explicit `exp`, unix seconds; wins over `ttl_s`.
    pub exp: Option<i64>,
    /// Explicit `nbf`, unix seconds (absent by default).
    pub nbf: Option<i64>,
    /// Explicit `iat`, unix seconds (default now).
    pub iat: Option<i64>,
    /// Extra claims merged over the standard ones; a `null` removes that claim.
    #[schema(value_type = Option<Object>)]
    pub claims: Option<Map<String, Value>>,
    /// `kid` to put in the header instead of the signing key's own.
    pub kid: Option<String>,
}

/// The query of `GET /token`: the same fields but `claims`, with `aud` comma-separated.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// See [`TokenRequest::sub`].
    pub sub: Option<String>,
    /// One audience, or several separated by commas.
    pub aud: Option<String>,
    /// See [`TokenRequest::iss`].
    pub iss: Option<String>,
    /// See [`TokenRequest::alg`].
    pub alg: Option<String>,
    /// See [`TokenRequest::ttl_s`].
    pub ttl_s: Option<i64>,
    /// See [`TokenRequest::exp`].
    pub exp: Option<i64>,
    /// See [`TokenRequest::nbf`].
    pub nbf: Option<i64>,
    /// See [`TokenRequest::iat`].
    pub iat: Option<i64>,
    /// See [`TokenRequest::kid`].
    pub kid: Option<String>,
}

impl From<TokenQuery> for TokenRequest {
    fn from(q: TokenQuery) -> Self {
        let aud = q.aud.map(|a| {
            if a.contains(',') {
                Audience::Many(a.split(',').map(str::to_owned).collect())
            } else {
                Audience::One(a)
            }
        });
        Self {
            sub: q.sub,
            aud,
            iss: q.iss,
            alg: q.alg,
            ttl_s: q.ttl_s,
            exp: q.exp,
            nbf: q.nbf,
            iat: q.iat,
            claims: None,
            kid: q.kid,
        }
    }
}

/// A token ready to sign.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Signing algorithm.
    pub alg: Alg,
    /// Header `kid` override.
    pub kid: Option<String>,
    /// The JWT claims.
    pub payload: Value,
    /// `expires_in` for the response: seconds until `exp`, never negative.
    pub expires_in: i64,
}

impl TokenRequest {
    /// The token this request asks for, issued by `issuer` at `now` (unix seconds).
    ///
    /// `iat` defaults to `now`; `exp` defaults to `ttl_s` after the later of `iat` and `nbf`
    /// (so a not-yet-valid token still has a lifetime once it becomes valid).
    pub fn plan(self, issuer: &str, now: i64) -> Result<Plan, String> {
        let alg_name = self.alg.as_deref().unwrap_or("RS256");
        let alg = Alg::parse(alg_name)
            .ok_or_else(|| format!("unsupported alg {alg_name:?}: use \"RS256\" or \"ES256\""))?;
        let iat = self.iat.unwrap_or(now);
        let ttl = self.ttl_s.unwrap_or(DEFAULT_TTL_S);
        let exp = self
            .exp
            .unwrap_or_else(|| iat.max(self.nbf.unwrap_or(iat)).saturating_add(ttl));
        let mut payload = Map::new();
        payload.insert(
            "iss".into(),
            Value::from(self.iss.unwrap_or_else(|| issuer.to_owned())),
        );
        payload.insert(
            "sub".into(),
            Value::from(self.sub.unwrap_or_else(|| DEFAULT_SUB.to_owned())),
        );
        let aud = self
            .aud
            .unwrap_or_else(|| Audience::One(DEFAULT_AUD.to_owned()));
        payload.insert(
            "aud".into(),
            serde_json::to_value(aud).expect("audience serialises"),
        );
        payload.insert("iat".into(), Value::from(iat));
        if let Some(nbf) = self.nbf {
            payload.insert("nbf".into(), Value::from(nbf));
        }
        payload.insert("exp".into(), Value::from(exp));
        for (name, value) in self.claims.unwrap_or_default() {
            if value.is_null() {
                payload.remove(&name);
            } else {
                payload.insert(name, value);
            }
        }
        let expires_in = payload
            .get("exp")
            .and_then(Value::as_i64)
            .map_or(ttl, |exp| exp.saturating_sub(now))
            .max(0);
        Ok(Plan {
            alg,
            kid: self.kid,
            payload: Value::Object(payload),
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn payload_from_request() {
        let cases: Vec<(Value, Value, i64)> = vec![
            (
                json!({}),
                json!({"iss": "https://idp", "sub": "dev-user", "aud": "edge-gateway",
                       "iat": NOW, "exp": NOW + 3600}),
                3600,
            ),
            (
                json!({"sub": "alice", "aud": ["a", "b"], "iss": "x", "ttl_s": 60}),
                json!({"iss": "x", "sub": "alice", "aud": ["a", "b"], "iat": NOW, "exp": NOW + 60}),
                60,
            ),
            (
                json!({"exp": NOW - 10, "ttl_s": 60}),
                json!({"iss": "https://idp", "sub": "dev-user", "aud": "edge-gateway",
                       "iat": NOW, "exp": NOW - 10}),
                0,
            ),
            (
                json!({"nbf": NOW + 100, "ttl_s": 60}),
                json!({"iss": "https://idp", "sub": "dev-user", "aud": "edge-gateway",
                       "iat": NOW, "nbf": NOW + 100, "exp": NOW + 160}),
                160,
            ),
            (
                json!({"iat": NOW - 7200}),
                json!({"iss": "https://idp", "sub": "dev-user", "aud": "edge-gateway",
                       "iat": NOW - 7200, "exp": NOW - 3600}),
                0,
            ),
            (
                json!({"claims": {"scope": "read", "exp": null, "sub": 7}}),
                json!({"iss": "https://idp", "sub": 7, "aud": "edge-gateway",
                       "iat": NOW, "scope": "read"}),
                3600,
            ),
        ];
        for (request, want, expires_in) in cases {
            let parsed: TokenRequest = serde_json::from_value(request.clone()).unwrap();
            let plan = parsed.plan("https://idp", NOW).unwrap();
            assert_eq!(plan.payload, want, "{request}");
            assert_eq!(plan.expires_in, expires_in, "{request}");
        }
    }

    #[test]
    fn algorithms() {
        for (alg, want) in [
            (None, Ok(Alg::Rs256)),
            (Some("RS256"), Ok(Alg::Rs256)),
            (Some("ES256"), Ok(Alg::Es256)),
            (Some("rs256"), Err(())),
            (Some("HS256"), Err(())),
            (Some("none"), Err(())),
        ] {
            let request = TokenRequest {
                alg: alg.map(str::to_owned),
                ..TokenRequest::default()
            };
            let got = request.plan("i", NOW).map(|p| p.alg).map_err(|_| ());
            assert_eq!(got, want, "{alg:?}");
        }
    }

    #[test]
    fn query_audiences() {
        for (aud, want) in [
            ("a", Audience::One("a".into())),
            ("a,b", Audience::Many(vec!["a".into(), "b".into()])),
        ] {
            let query = TokenQuery {
                aud: Some(aud.into()),
                ..TokenQuery::default()
            };
            assert_eq!(TokenRequest::from(query).aud, Some(want), "{aud}");
        }
    }
}
