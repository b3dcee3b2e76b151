//! The `access` policy: requests that come through a Cloudflare Access application carry
//! `Cf-Access-Jwt-Assertion`, an RS256 JWT signed by the team's keys
//! (`https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`) for the application's
//! audience tag. It is a [`Jwt`] policy with those settings fixed; the consumer is the
//! user's `email`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::jose::Alg;
use super::jwt::{identity_headers, url_problem, Jwt, TokenSource};
use super::Spec;

/// The header Cloudflare Access puts the application token in.
pub const ASSERTION_HEADER: &str = "cf-access-jwt-assertion";
/// Where a team publishes its signing keys, below the team domain.
pub const CERTS_PATH: &str = "/cdn-cgi/access/certs";

/// The `access` policy as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSpec {
    /// `https://<team>.cloudflareaccess.com` (the token's issuer).
    pub team_domain: String,
    /// The Access application's audience (AUD) tags; the token must name one.
    pub audiences: Vec<String>,
    /// Claims passed to the origin: claim name → header name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, String>,
    /// The header the consumer (the user's email) reaches the origin in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_header: Option<String>,
}

impl Spec for AccessSpec {
    type Checked = Jwt;

    fn validate(self) -> Result<Jwt, Vec<String>> {
        let mut problems = Vec::new();
        let team = self.team_domain.trim_end_matches('/').to_owned();
        problems.extend(url_problem("team_domain", &team));
        if team.matches('/').count() > 2 {
            problems.push(format!("team_domain `{team}` must not have a path"));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            problems.push("audiences must list the application's AUD tags".into());
        }
        let (consumer_header, claims) =
            identity_headers(self.consumer_header, &self.claims, &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Jwt {
            jwks_url: format!("{team}{CERTS_PATH}"),
            issuer: team,
            audiences: self.audiences,
            algorithms: vec![Alg::RS256],
            leeway_ms: 60_000.0,
            source: TokenSource::Header(ASSERTION_HEADER.to_owned()),
            claims,
            consumer_claim: "email".to_owned(),
            consumer_header,
            challenge: None,
        })
    }
}
