//! Route-level changes between two route documents: routes, upstreams, policies and
//! `default_policies`, compared as values so that every field that differs is named.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::table::{RouteDocument, RouteSpec, UpstreamSpec};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Only in the new table (`+`).
    Added,
    /// Only in the old table (`-`).
    Removed,
    /// In both, with fields that differ (`~`).
    Changed,
}

impl Op {
    /// `added`, `removed` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }

    fn sign(self) -> char {
        match self {
            Self::Added => '+',
            Self::Removed => '-',
            Self::Changed => '~',
        }
    }
}

/// What kind of item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A route, by id.
    Route,
    /// An upstream, by name.
    Upstream,
    /// A policy, by name.
    Policy,
    /// The table's `default_policies` list.
    DefaultPolicies,
}

impl Item {
    /// `route`, `upstream`, `policy` or `default_policies`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Upstream => "upstream",
            Self::Policy => "policy",
            Self::DefaultPolicies => "default_policies",
        }
    }

    /// The name column's width: names line up whatever the kind (`route ` + 16 = 22).
    fn width(self) -> usize {
        match self {
            Self::Route => 16,
            Self::Upstream => 13,
            Self::Policy => 15,
            Self::DefaultPolicies => 0,
        }
    }
}

/// One field that differs: its path in the item (`rewrite.template`, `split.to.orders-v2`)
/// and both values as a diff shows them (`none`, a bare string, or compact JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Dotted path of the field (`""` for the whole value).
    pub field: String,
    /// The old value.
    pub from: String,
    /// The new value.
    pub to: String,
}

/// One changed item; its `Display` is the line `gatewayctl diff` prints
/// (`~ route users-get        timeout_ms: 10000 → 2000`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Added, removed or changed.
    pub op: Op,
    /// Route, upstream, policy or `default_policies`.
    pub item: Item,
    /// The route id, upstream or policy name (`default_policies` for that list).
    pub name: String,
    /// What an added or removed item is (`GET /api/users/{id} → users`); empty when changed.
    pub summary: String,
    /// Every field that differs, for a changed item.
    pub fields: Vec<FieldChange>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (sign, kind) = (self.op.sign(), self.item.as_str());
        if self.item == Item::DefaultPolicies {
            let field = self.fields.first();
            let (from, to) = field.map_or(("", ""), |c| (c.from.as_str(), c.to.as_str()));
            return write!(f, "{sign} {kind} {from} → {to}");
        }
        let (name, width) = (&self.name, self.item.width());
        match self.op {
            Op::Added | Op::Removed => write!(f, "{sign} {kind} {name:<width$} {}", self.summary),
            Op::Changed => {
                let fields: Vec<String> = self
                    .fields
                    .iter()
                    .map(|c| format!("{}: {} → {}", c.field, c.from, c.to))
                    .collect();
                write!(f, "{sign} {kind} {name:<width$} {}", fields.join("; "))
            }
        }
    }
}

impl Serialize for Change {
    /// `{op, item, name, summary, fields, line}`: the parts, and the line as the CLI prints it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            op: &'static str,
            item: &'static str,
            name: &'a str,
            summary: &'a str,
            fields: &'a [FieldChange],
            line: String,
        }
        View {
            op: self.op.as_str(),
            item: self.item.as_str(),
            name: &self.name,
            summary: &self.summary,
            fields: &self.fields,
            line: self.to_string(),
        }
        .serialize(serializer)
    }
}

/// The changes from `old` to `new`: routes in the new table's order, then the removed ones in
/// the old table's; upstreams and policies by name; then `default_policies`. Items are compared
/// as values: every field that differs is named, so no change can hide.
pub fn changes(old: &RouteDocument, new: &RouteDocument) -> Vec<Change> {
    let mut out = Vec::new();
    let by_id = |d: &RouteDocument| -> BTreeMap<String, Value> {
        d.routes.iter().map(|r| (r.id.clone(), json(r))).collect()
    };
    let (old_routes, new_routes) = (by_id(old), by_id(new));
    let described: BTreeMap<&str, String> = old
        .routes
        .iter()
        .chain(&new.routes)
        .map(|r| (r.id.as_str(), describe_route(r)))
        .collect();
    let order = new.routes.iter().chain(&old.routes).map(|r| r.id.as_str());
    let mut seen = BTreeSet::new();
    for id in order.filter(|id| seen.insert(*id)) {
        let (a, b) = (old_routes.get(id), new_routes.get(id));
        out.extend(change(Item::Route, id, a, b, &described[id]));
    }
    let (old_up, new_up) = (values(&old.upstreams), values(&new.upstreams));
    for name in old_up.keys().chain(new_up.keys()).collect::<BTreeSet<_>>() {
        let u = new.upstreams.get(name).or(old.upstreams.get(name));
        let summary = describe_upstream(u.expect("in one"));
        let (a, b) = (old_up.get(name), new_up.get(name));
        out.extend(change(Item::Upstream, name, a, b, &summary));
    }
    let (old_p, new_p) = (values(&old.policies), values(&new.policies));
    for name in old_p.keys().chain(new_p.keys()).collect::<BTreeSet<_>>() {
        let p = new.policies.get(name).or(old.policies.get(name));
        let summary = p.expect("in one").type_name();
        let (a, b) = (old_p.get(name), new_p.get(name));
        out.extend(change(Item::Policy, name, a, b, summary));
    }
    if old.default_policies != new.default_policies {
        out.push(Change {
            op: Op::Changed,
            item: Item::DefaultPolicies,
            name: Item::DefaultPolicies.as_str().to_owned(),
            summary: String::new(),
            fields: vec![FieldChange {
                field: String::new(),
                from: show(&json(&old.default_policies)),
                to: show(&json(&new.default_policies)),
            }],
        });
    }
    out
}

/// The change of an item present in either table, if it changed.
fn change(
    item: Item,
    name: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    summary: &str,
) -> Option<Change> {
    let (op, summary, fields) = match (old, new) {
        (None, Some(_)) => (Op::Added, summary.to_owned(), Vec::new()),
        (Some(_), None) => (Op::Removed, summary.to_owned(), Vec::new()),
        (Some(a), Some(b)) => {
            let mut fields = Vec::new();
            value_diff("", a, b, &mut fields);
            if fields.is_empty() {
                return None;
            }
            (Op::Changed, String::new(), fields)
        }
        (None, None) => return None,
    };
    Some(Change {
        op,
        item,
        name: name.to_owned(),
        summary,
        fields,
    })
}

fn values<T: Serialize>(items: &BTreeMap<String, T>) -> BTreeMap<String, Value> {
    items.iter().map(|(k, v)| (k.clone(), json(v))).collect()
}

fn json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("route documents always serialise")
}

/// Every field path where `a` and `b` differ.
fn value_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let none = Value::Null;
                value_diff(
                    &sub,
                    x.get(key).unwrap_or(&none),
                    y.get(key).unwrap_or(&none),
                    out,
                );
            }
        }
        _ if a != b => out.push(FieldChange {
            field: path.to_owned(),
            from: show(a),
            to: show(b),
        }),
        _ => {}
    }
}

/// A value as a diff shows it: `none`, a bare string, or compact JSON.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn methods(r: &RouteSpec) -> String {
    if r.methods.is_empty() {
        "*".into()
    } else {
        r.methods.join(",")
    }
}

fn describe_route(r: &RouteSpec) -> String {
    let policies = if r.policies.is_empty() {
        String::new()
    } else {
        format!(" [{}]", r.policies.join(", "))
    };
    let when = r
        .when
        .as_ref()
        .map_or(String::new(), |w| format!(" when {w}"));
    let split = r
        .split
        .as_ref()
        .map_or(String::new(), |s| format!(" split {s}"));
    format!(
        "{} {}{} → {}{split}{policies}{when}",
        methods(r),
        r.host.as_deref().unwrap_or(""),
        r.path,
        r.upstream
    )
}

fn describe_upstream(u: &UpstreamSpec) -> String {
    match &u.binding {
        Some(b) => format!("binding {b}"),
        None => u
            .origins
            .iter()
            .map(|o| match o.weight() {
                1 => o.url().to_owned(),
                w => format!("{} (weight {w})", o.url()),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}
