//! The `headers` policy: set, append and remove headers on the origin request and on the
//! client's response. Values are templates: `{request_id}`, `{route_id}`, `{consumer}` and
//! `{param.NAME}` (a captured path parameter, as received). An operation whose template
//! names a consumer the request does not have is skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{check_header_name, Check, Exchange, Phase, RouteView, Spec, Verdict};
use crate::context::HeaderOp;
use crate::rewrite::{pieces, Piece};

/// The `headers` policy as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersSpec {
    /// Operations on the request sent to the origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<OpsSpec>,
    /// Operations on the response sent to the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<OpsSpec>,
}

/// Operations on one side, applied in the order remove, set, append.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSpec {
    /// Headers to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Headers to set (replacing any value): name → template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, String>,
    /// Values to append: name → template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub append: BTreeMap<String, String>,
}

/// A piece of a header value template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// The request id.
    RequestId,
    /// The route id.
    RouteId,
    /// The consumer.
    Consumer,
    /// A captured path parameter.
    Param(String),
}

/// One operation with its value template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Remove the header.
    Remove(String),
    /// Set the header.
    Set(String, Vec<Part>),
    /// Append a value.
    Append(String, Vec<Part>),
}

/// A validated header transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderTransform {
    /// Operations on the origin request.
    pub request: Vec<Op>,
    /// Operations on the client's response.
    pub response: Vec<Op>,
}

fn template(field: &str, text: &str) -> Result<Vec<Part>, String> {
    let bad = |why: &str| format!("{field}: template `{text}` {why}");
    if text.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    let pieces = pieces(text).map_err(|e| bad(&e.to_string()))?;
    pieces
        .into_iter()
        .map(|p| match p {
            Piece::Literal(t) => Ok(Part::Text(t)),
            Piece::Param(name) => match name.as_str() {
                "request_id" => Ok(Part::RequestId),
                "route_id" => Ok(Part::RouteId),
                "consumer" => Ok(Part::Consumer),
                other => match other.strip_prefix("param.") {
                    Some(p) if !p.is_empty() => Ok(Part::Param(p.to_owned())),
                    _ => Err(bad(&format!(
                        "uses `{{{other}}}`; write {{request_id}}, {{route_id}}, {{consumer}} or {{param.NAME}}"
                    ))),
                },
            },
        })
        .collect()
}

fn ops(side: &str, spec: Option<OpsSpec>, problems: &mut Vec<String>) -> Vec<Op> {
    let Some(spec) = spec else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in spec.remove {
        problems.extend(check_header_name(&format!("{side}.remove"), &name));
        out.push(Op::Remove(name));
    }
    for (kind, map) in [("set", spec.set), ("append", spec.append)] {
        for (name, value) in map {
            let field = format!("{side}.{kind}.{name}");
            problems.extend(check_header_name(&format!("{side}.{kind}"), &name));
            if side == "request" && name.starts_with("x-gateway-") {
                problems.push(format!(
                    "{side}.{kind}: `{name}` is an identity header only authentication sets"
                ));
            }
            match template(&field, &value) {
                Ok(parts) if kind == "set" => out.push(Op::Set(name, parts)),
                Ok(parts) => out.push(Op::Append(name, parts)),
                Err(e) => problems.push(e),
            }
        }
    }
    out
}

impl Spec for HeadersSpec {
    type Checked = HeaderTransform;

    fn validate(self) -> Result<HeaderTransform, Vec<String>> {
        let mut problems = Vec::new();
        let request = ops("request", self.request, &mut problems);
        let response = ops("response", self.response, &mut problems);
        if request.is_empty() && response.is_empty() && problems.is_empty() {
            problems.push("needs at least one `request` or `response` operation".into());
        }
        if problems.is_empty() {
            Ok(HeaderTransform { request, response })
        } else {
            Err(problems)
        }
    }
}

impl HeaderTransform {
    fn render(parts: &[Part], x: &Exchange<'_, '_, '_>) -> Option<String> {
        let mut out = String::new();
        for part in parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::RequestId => out.push_str(&x.request.request_id),
                Part::RouteId => out.push_str(x.route_id),
                Part::Consumer => out.push_str(x.effects.consumer.as_deref()?),
                Part::Param(name) => out.push_str(x.params.get(name).unwrap_or_default()),
            }
        }
        Some(out)
    }

    fn apply(ops: &[Op], x: &Exchange<'_, '_, '_>) -> Vec<HeaderOp> {
        ops.iter()
            .filter_map(|op| match op {
                Op::Remove(name) => Some(HeaderOp::Remove(name.clone())),
                Op::Set(name, parts) => {
                    Self::render(parts, x).map(|v| HeaderOp::Set(name.clone(), v))
                }
                Op::Append(name, parts) => {
                    Self::render(parts, x).map(|v| HeaderOp::Append(name.clone(), v))
                }
            })
            .collect()
    }

    fn params(&self) -> impl Iterator<Item = &str> {
        self.request
            .iter()
            .chain(&self.response)
            .flat_map(|op| match op {
                Op::Set(_, parts) | Op::Append(_, parts) => parts.as_slice(),
                Op::Remove(_) => &[],
            })
            .filter_map(|p| match p {
                Part::Param(name) => Some(name.as_str()),
                _ => None,
            })
    }
}

impl Check for HeaderTransform {
    const PHASE: Phase = Phase::Transform;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        let request = Self::apply(&self.request, x);
        let response = Self::apply(&self.response, x);
        x.effects.request_ops.extend(request);
        x.effects.response_ops.extend(response);
        Verdict::Continue
    }

    fn check_route(&self, route: &RouteView<'_>) -> Vec<String> {
        self.params()
            .filter(|p| !route.captures.iter().any(|c| c == p))
            .map(|p| format!("uses `{{param.{p}}}`, which the route's path does not capture"))
            .collect()
    }
}
