//! What changed between two versions of a service's contract, each change classified:
//! breaking (a removed operation, a new required parameter or request field, a removed,
//! retyped or newly optional response field, a removed success response, …) or compatible
//! (added operations, optional parameters and fields, new responses, …). Operations are
//! matched by method and template structure (parameter names do not matter).

use super::schema::{compare, Change, Docs, Side};
use super::{Contract, Operation, Segment};

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Whether a client of the old contract may fail against the new one.
    pub breaking: bool,
    /// `GET /users/{id}`, or `the contract`.
    pub operation: String,
    /// What changed.
    pub what: String,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.breaking {
            "breaking  "
        } else {
            "compatible"
        };
        write!(f, "{kind} {}: {}", self.operation, self.what)
    }
}

/// The template's shape: parameters without their names.
fn shape(op: &Operation) -> String {
    let mut out = String::new();
    for segment in &op.segments {
        out.push('/');
        match segment {
            Segment::Static(text) => out.push_str(text),
            Segment::Param { catch_all, .. } => out.push_str(if *catch_all { "{*}" } else { "{}" }),
            Segment::Mixed(pieces) => {
                for piece in pieces {
                    match piece {
                        Ok(text) => out.push_str(text),
                        Err(_) => out.push_str("{}"),
                    }
                }
            }
        }
    }
    out
}

/// Every change from `old` to `new`, breaking ones first, each group in operation order.
pub fn diff(old: &Contract, new: &Contract) -> Vec<Entry> {
    let docs = Docs {
        old: &old.doc,
        new: &new.doc,
    };
    let mut entries = Vec::new();
    let find = |c: &'_ Contract, op: &Operation| -> Option<usize> {
        let key = shape(op);
        c.operations
            .iter()
            .position(|o| o.method == op.method && shape(o) == key)
    };
    for op in &old.operations {
        let label = op.label();
        let mut add = |breaking: bool, what: String| {
            entries.push(Entry {
                breaking,
                operation: label.clone(),
                what,
            })
        };
        match find(new, op) {
            None => add(true, "operation removed".into()),
            Some(i) => {
                for change in operation(docs, op, &new.operations[i]) {
                    add(change.breaking, change.what);
                }
            }
        }
    }
    for op in new.operations.iter().filter(|op| find(old, op).is_none()) {
        entries.push(Entry {
            breaking: false,
            operation: op.label(),
            what: "operation added".into(),
        });
    }
    entries.sort_by_key(|e| !e.breaking);
    entries
}

/// The names of a template's path parameters, in order.
fn positional(op: &Operation) -> Vec<&str> {
    op.segments
        .iter()
        .flat_map(|s| match s {
            Segment::Param { name, .. } => vec![name.as_str()],
            Segment::Mixed(pieces) => pieces
                .iter()
                .filter_map(|p| p.as_ref().err())
                .map(String::as_str)
                .collect(),
            Segment::Static(_) => vec![],
        })
        .collect()
}

/// The changes of one operation present in both versions.
fn operation(docs: Docs<'_>, old: &Operation, new: &Operation) -> Vec<Change> {
    let mut out = Vec::new();
    let add =
        |out: &mut Vec<Change>, breaking: bool, what: String| out.push(Change { breaking, what });
    for p in old.params.iter().filter(|p| p.location != "path") {
        let name = format!("{} parameter `{}`", p.location, p.name);
        match new.param(&p.location, &p.name) {
            None => add(&mut out, true, format!("{name} removed")),
            Some(q) => {
                if q.required && !p.required {
                    add(&mut out, true, format!("{name} is now required"));
                } else if p.required && !q.required {
                    add(&mut out, false, format!("{name} is now optional"));
                }
                out.extend(compare(docs, &p.schema, &q.schema, Side::Request, &name));
            }
        }
    }
    for q in new.params.iter().filter(|q| q.location != "path") {
        if old.param(&q.location, &q.name).is_none() {
            let kind = if q.required { "required" } else { "optional" };
            add(
                &mut out,
                q.required,
                format!("new {kind} {} parameter `{}`", q.location, q.name),
            );
        }
    }
    for (a, b) in positional(old).into_iter().zip(positional(new)) {
        if let (Some(p), Some(q)) = (old.param("path", a), new.param("path", b)) {
            let name = format!("path parameter `{b}`");
            out.extend(compare(docs, &p.schema, &q.schema, Side::Request, &name));
        }
    }
    match (&old.request, &new.request) {
        (None, Some(b)) if b.required => {
            add(&mut out, true, "a request body is now required".into())
        }
        (None, Some(_)) => add(&mut out, false, "an optional request body added".into()),
        (Some(_), None) => add(
            &mut out,
            true,
            "the request body is no longer accepted".into(),
        ),
        (Some(a), Some(b)) => {
            if b.required && !a.required {
                add(&mut out, true, "the request body is now required".into());
            }
            for (media, schema) in &a.content {
                match b.content.iter().find(|(m, _)| m == media) {
                    None => add(
                        &mut out,
                        true,
                        format!("request body {media} no longer accepted"),
                    ),
                    Some((_, new_schema)) => out.extend(compare(
                        docs,
                        schema,
                        new_schema,
                        Side::Request,
                        "request body",
                    )),
                }
            }
        }
        (None, None) => {}
    }
    for (status, response) in &old.responses {
        let Some((_, new_response)) = new.responses.iter().find(|(s, _)| s == status) else {
            let success = status.starts_with('2');
            let what = if success {
                "removed"
            } else {
                "no longer documented"
            };
            add(&mut out, success, format!("response {status} {what}"));
            continue;
        };
        for (media, schema) in &response.content {
            let at = format!("response {status} body");
            match new_response.content.iter().find(|(m, _)| m == media) {
                None => add(
                    &mut out,
                    true,
                    format!("response {status} is no longer {media}"),
                ),
                Some((_, new_schema)) => {
                    out.extend(compare(docs, schema, new_schema, Side::Response, &at))
                }
            }
        }
    }
    for (status, _) in &new.responses {
        if !old.responses.iter().any(|(s, _)| s == status) {
            add(&mut out, false, format!("response {status} added"));
        }
    }
    out
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
