//! Comparing two versions of a JSON schema, as a request's or a response's: what a client
//! may send must stay accepted (requests may only widen), what it receives must stay what it
//! expects (responses may only narrow, and keep every field).

use std::collections::BTreeSet;

use serde_json::Value;

/// Which side of an exchange a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// What clients send: parameters and request bodies.
    Request,
    /// What clients receive.
    Response,
}

/// One difference, breaking or not, described without its operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Whether a client written against the old schema may fail.
    pub breaking: bool,
    /// What changed.
    pub what: String,
}

/// Two documents, for their `$ref`s.
#[derive(Debug, Clone, Copy)]
pub struct Docs<'d> {
    /// The old document.
    pub old: &'d Value,
    /// The new document.
    pub new: &'d Value,
}

/// Every change from `old` to `new` on `side`; `at` names the value (`the response body`,
/// `parameter `id``) for messages.
pub fn compare(docs: Docs<'_>, old: &Value, new: &Value, side: Side, at: &str) -> Vec<Change> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    walk(docs, old, new, side, at, &mut out, &mut seen, 0);
    out
}

/// A schema with its `$ref`, nullable `oneOf`/`anyOf` and single `allOf` unwrapped; whether
/// it admits `null` that way; the `$ref` followed, if any.
fn unwrap<'d>(doc: &'d Value, schema: &'d Value) -> (&'d Value, bool, Option<String>) {
    let mut schema = schema;
    let mut nullable = false;
    let mut reference = None;
    for _ in 0..8 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            reference = Some(r.to_owned());
            match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                Some(target) => schema = target,
                None => break,
            }
            continue;
        }
        let alternatives = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array);
        if let Some(list) = alternatives {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                list.iter().partition(|s| s["type"] == "null");
            if !nulls.is_empty() && others.len() == 1 {
                nullable = true;
                schema = others[0];
                continue;
            }
        }
        match schema.get("allOf").and_then(Value::as_array) {
            Some(list) if list.len() == 1 => schema = &list[0],
            _ => break,
        }
    }
    (schema, nullable, reference)
}

fn types(schema: &Value, nullable: bool) -> Option<BTreeSet<String>> {
    let mut set: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ if schema.get("properties").is_some() => ["object".to_owned()].into(),
        _ => return None,
    };
    if nullable || schema["nullable"] == true {
        set.insert("null".into());
    }
    Some(set)
}

/// Whether every value of type `t` is one of `set`'s.
fn covers(set: &BTreeSet<String>, t: &str) -> bool {
    set.contains(t) || (t == "integer" && set.contains("number"))
}

fn list(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" or ")
}

fn add(out: &mut Vec<Change>, breaking: bool, what: String) {
    out.push(Change { breaking, what });
}

#[allow(clippy::too_many_arguments)]
fn walk(
    docs: Docs<'_>,
    old: &Value,
    new: &Value,
    side: Side,
    at: &str,
    out: &mut Vec<Change>,
    seen: &mut BTreeSet<(String, String, String)>,
    depth: u32,
) {
    if depth > 24 {
        return;
    }
    let (old, old_null, old_ref) = unwrap(docs.old, old);
    let (new, new_null, new_ref) = unwrap(docs.new, new);
    if let (Some(a), Some(b)) = (&old_ref, &new_ref) {
        if !seen.insert((a.clone(), b.clone(), at.to_owned())) {
            return;
        }
    }
    match (types(old, old_null), types(new, new_null)) {
        (Some(a), Some(b)) if a != b => {
            let breaking = match side {
                Side::Response => b.iter().any(|t| !covers(&a, t)),
                Side::Request => a.iter().any(|t| !covers(&b, t)),
            };
            add(
                out,
                breaking,
                format!("{at} retyped from {} to {}", list(&a), list(&b)),
            );
            if breaking {
                return;
            }
        }
        (Some(a), None) if side == Side::Response => {
            add(
                out,
                true,
                format!("{at} retyped from {} to any type", list(&a)),
            );
            return;
        }
        (None, Some(b)) if side == Side::Request => {
            add(
                out,
                true,
                format!("{at} retyped from any type to {}", list(&b)),
            );
            return;
        }
        _ => {}
    }
    compare_enums(old, new, side, at, out);
    let required = |s: &Value, name: &str| {
        s["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|n| n == name))
    };
    if let (Some(old_props), Some(new_props)) =
        (old["properties"].as_object(), new["properties"].as_object())
    {
        for (name, old_field) in old_props {
            let field = format!("{at} field `{name}`");
            let Some(new_field) = new_props.get(name) else {
                add(out, true, format!("{field} removed"));
                continue;
            };
            match (side, required(old, name), required(new, name)) {
                (Side::Response, true, false) => {
                    add(out, true, format!("{field} may now be missing"))
                }
                (Side::Request, false, true) => add(out, true, format!("{field} is now required")),
                (Side::Response, false, true) => {
                    add(out, false, format!("{field} is now always sent"))
                }
                (Side::Request, true, false) => add(out, false, format!("{field} is now optional")),
                _ => {}
            }
            let inner = format!("{at}.{name}");
            walk(
                docs,
                old_field,
                new_field,
                side,
                &inner,
                out,
                seen,
                depth + 1,
            );
        }
        for name in new_props.keys().filter(|n| !old_props.contains_key(*n)) {
            let is_required = required(new, name);
            let kind = if is_required { "required" } else { "optional" };
            add(
                out,
                side == Side::Request && is_required,
                format!("{at}: {kind} field `{name}` added"),
            );
        }
    }
    if let (Some(a), Some(b)) = (old.get("items"), new.get("items")) {
        walk(docs, a, b, side, &format!("{at}[]"), out, seen, depth + 1);
    }
    if let (Some(a @ Value::Object(_)), Some(b @ Value::Object(_))) = (
        old.get("additionalProperties"),
        new.get("additionalProperties"),
    ) {
        walk(
            docs,
            a,
            b,
            side,
            &format!("{at}{{*}}"),
            out,
            seen,
            depth + 1,
        );
    }
}

fn compare_enums(old: &Value, new: &Value, side: Side, at: &str, out: &mut Vec<Change>) {
    let values = |s: &Value| s["enum"].as_array().cloned();
    match (values(old), values(new)) {
        (Some(a), Some(b)) => {
            for v in b.iter().filter(|v| !a.contains(v)) {
                add(out, side == Side::Response, format!("{at} may now be {v}"));
            }
            for v in a.iter().filter(|v| !b.contains(v)) {
                let verb = match side {
                    Side::Request => "accepts",
                    Side::Response => "is",
                };
                add(
                    out,
                    side == Side::Request,
                    format!("{at} no longer {verb} {v}"),
                );
            }
        }
        (Some(_), None) => add(
            out,
            side == Side::Response,
            format!("{at} is no longer limited to its values"),
        ),
        (None, Some(_)) => add(
            out,
            side == Side::Request,
            format!("{at} is now limited to some values"),
        ),
        (None, None) => {}
    }
}
