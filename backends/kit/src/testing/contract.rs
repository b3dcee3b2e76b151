//! Contract tests: a running service's real responses, over a socket, checked against its
//! committed OpenAPI document — each status declared, each media type declared, each JSON
//! body valid against the declared schema, `x-api-version` equal to the document's
//! `info.version` — and every operation of the document exercised by some request.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::http::{self, Reply};
use super::schema;

/// An OpenAPI document, read for checking.
#[derive(Debug, Clone)]
pub struct Contract {
    doc: Value,
}

/// One request of a contract test.
#[derive(Debug, Clone)]
pub struct Case {
    /// The method.
    pub method: &'static str,
    /// Path and query.
    pub target: String,
    /// A JSON body, if any.
    pub body: Option<Value>,
}

/// `method target` without a body.
pub fn case(method: &'static str, target: impl Into<String>) -> Case {
    Case {
        method,
        target: target.into(),
        body: None,
    }
}

/// `method target` with a JSON body.
pub fn case_with(method: &'static str, target: impl Into<String>, body: Value) -> Case {
    Case {
        method,
        target: target.into(),
        body: Some(body),
    }
}

const METHODS: [&str; 8] = [
    "get", "head", "post", "put", "patch", "delete", "options", "trace",
];

impl Contract {
    /// Reads the document at `path`.
    ///
    /// # Panics
    /// If it cannot be read or is not JSON.
    pub fn read(path: &Path) -> Self {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self::from_value(
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
    }

    /// A document already parsed.
    pub fn from_value(doc: Value) -> Self {
        Self { doc }
    }

    /// `info.version`.
    pub fn version(&self) -> &str {
        self.doc["info"]["version"].as_str().unwrap_or_default()
    }

    /// Every operation, as (`METHOD`, path template).
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (template, item) in self.paths() {
            for method in METHODS {
                if item.get(method).is_some() {
                    out.insert((method.to_ascii_uppercase(), template.clone()));
                }
            }
        }
        out
    }

    fn paths(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.doc["paths"].as_object().into_iter().flatten()
    }

    /// The operation `method path` (no query) reaches: the matching template with the most
    /// static segments.
    pub fn find(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        let method = method.to_ascii_lowercase();
        self.paths()
            .filter_map(|(template, item)| {
                let op = item.get(&method)?;
                let statics = self.matches(template, item, op, path)?;
                Some((statics, template, op))
            })
            .max_by_key(|(statics, _, _)| *statics)
            .map(|(_, template, op)| (template.clone(), op))
    }

    /// How many static segments of `template` matched `path`, if it matches at all.
    fn matches(&self, template: &str, item: &Value, op: &Value, path: &str) -> Option<usize> {
        let want: Vec<&str> = template.split('/').collect();
        let got: Vec<&str> = path.split('/').collect();
        let mut statics = 0;
        for (i, segment) in want.iter().enumerate() {
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if self.catch_all(item, op, name) && i + 1 == want.len() => {
                    return (got.len() > i && got[i..].iter().any(|s| !s.is_empty()))
                        .then_some(statics);
                }
                Some(_) => {
                    if got.get(i).is_none_or(|s| s.is_empty()) {
                        return None;
                    }
                }
                None => {
                    if got.get(i) != Some(segment) {
                        return None;
                    }
                    statics += 1;
                }
            }
        }
        (got.len() == want.len()).then_some(statics)
    }

    fn catch_all(&self, item: &Value, op: &Value, name: &str) -> bool {
        [item, op]
            .iter()
            .flat_map(|v| v["parameters"].as_array().into_iter().flatten())
            .map(|p| match p.get("$ref").and_then(Value::as_str) {
                Some(r) => schema::resolve(&self.doc, r).unwrap_or(p),
                None => p,
            })
            .any(|p| p["in"] == "path" && p["name"] == name && p["x-catch-all"] == true)
    }

    /// Checks `reply` to `method target`; the operation it exercised, or every problem.
    pub fn check(
        &self,
        method: &str,
        target: &str,
        reply: &Reply,
    ) -> Result<(String, String), Vec<String>> {
        let path = target.split('?').next().unwrap_or(target);
        let Some((template, op)) = self.find(method, path) else {
            return Err(vec![format!("no operation {method} matches {path}")]);
        };
        let mut problems = Vec::new();
        let code = reply.status.to_string();
        let range = format!("{}XX", &code[..1]);
        let responses = &op["responses"];
        let declared = [code.as_str(), range.as_str(), "default"]
            .iter()
            .find_map(|k| responses.get(*k));
        match declared {
            None => problems.push(format!("status {code} is not declared")),
            Some(response) => self.check_body(method, response, reply, &mut problems),
        }
        let version = reply.header(crate::API_VERSION);
        if version != Some(self.version()) {
            problems.push(format!(
                "{} is {version:?}, the document's info.version is {}",
                crate::API_VERSION,
                self.version()
            ));
        }
        if problems.is_empty() {
            Ok((method.to_ascii_uppercase(), template))
        } else {
            Err(problems)
        }
    }

    fn check_body(
        &self,
        method: &str,
        response: &Value,
        reply: &Reply,
        problems: &mut Vec<String>,
    ) {
        let response = match response.get("$ref").and_then(Value::as_str) {
            Some(r) => schema::resolve(&self.doc, r).unwrap_or(response),
            None => response,
        };
        let content = response["content"].as_object();
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            if !reply.body.is_empty() {
                problems.push("a body, but the response declares no content".into());
            }
            return;
        };
        // HEAD answers and 1xx, 204 and 304 responses never carry a body (RFC 9110).
        let bodiless = matches!(reply.status, 100..=199 | 204 | 304);
        if method == "HEAD" || (bodiless && reply.body.is_empty()) {
            return;
        }
        let media = reply.media_type().unwrap_or_default();
        let Some(declared) = content.get(&media).or_else(|| content.get("*/*")) else {
            let known: Vec<&String> = content.keys().collect();
            problems.push(format!("content type `{media}` is not one of {known:?}"));
            return;
        };
        if !(media == "application/json" || media.ends_with("+json")) {
            return;
        }
        let body: Value = match serde_json::from_slice(&reply.body) {
            Ok(body) => body,
            Err(e) => {
                problems.push(format!("the body is not JSON: {e}"));
                return;
            }
        };
        if let Some(schema) = declared.get("schema") {
            problems.extend(schema::violations(&self.doc, schema, &body));
        }
    }
}

/// Serves `app` on a loopback socket, sends every case, and checks each reply against the
/// document at `contract`, and that every operation of the document was exercised.
///
/// # Panics
/// With every problem found, each naming its request.
pub async fn verify(app: axum::Router, contract: &Path, cases: &[Case]) {
    let contract = Contract::read(contract);
    let addr = http::serve(app).await;
    let mut problems = Vec::new();
    let mut exercised = BTreeSet::new();
    for case in cases {
        let reply = http::send(addr, case.method, &case.target, case.body.as_ref()).await;
        match contract.check(case.method, &case.target, &reply) {
            Ok(operation) => {
                exercised.insert(operation);
            }
            Err(found) => problems.extend(found.into_iter().map(|p| {
                format!(
                    "{} {} → {}: {p}\n    body: {}",
                    case.method,
                    case.target,
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                )
            })),
        }
    }
    for (method, template) in contract.operations().difference(&exercised) {
        problems.push(format!("{method} {template}: no case exercised it"));
    }
    assert!(
        problems.is_empty(),
        "the running service breaks its contract:\n{}",
        problems.join("\n")
    );
}

/// Fails when the committed document at `path` differs from `generated`; with
/// `UPDATE_OPENAPI=1` in the environment, writes `generated` there instead.
///
/// # Panics
/// When they differ (or the file cannot be read or written).
pub fn assert_committed(path: &Path, generated: &str) {
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} differs from the document the code generates (first at line {}): \
             run `UPDATE_OPENAPI=1 cargo test -p <backend> --test openapi` and commit it",
            path.display(),
            line + 1
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(status: u16, media: &str, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type".into(), media.into()),
                ("x-api-version".into(), "1.0.0".into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn finds_operations_and_refuses_what_the_document_does_not_say() {
        let doc = json!({"info": {"version": "1.0.0"}, "paths": {
            "/users/{id}": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}}}},
                "404": {"content": {"application/problem+json": {"schema": {"type": "object"}}}}}}},
            "/users/me": {"get": {"responses": {"204": {"description": "none"}}}},
            "/files/{rest}": {"get": {"parameters": [{"name": "rest", "in": "path", "x-catch-all": true}],
                "responses": {"default": {"description": "any"}}}},
        }});
        let contract = Contract::from_value(doc);
        let template = |path: &str| contract.find("GET", path).map(|(t, _)| t);
        assert_eq!(template("/users/7").as_deref(), Some("/users/{id}"));
        assert_eq!(template("/users/me").as_deref(), Some("/users/me"));
        assert_eq!(template("/files/a/b/c").as_deref(), Some("/files/{rest}"));
        assert_eq!(template("/users/7/x"), None);
        assert_eq!(template("/users/"), None);
        assert_eq!(contract.find("POST", "/users/7").map(|(t, _)| t), None);

        let ok = reply(200, "application/json; charset=utf-8", r#"{"id": 7}"#);
        assert_eq!(
            contract.check("GET", "/users/7?x=1", &ok),
            Ok(("GET".to_owned(), "/users/{id}".to_owned()))
        );
        for (reply, want) in [
            (
                reply(500, "application/json", "{}"),
                "status 500 is not declared",
            ),
            (
                reply(200, "application/json", r#"{"id": "7"}"#),
                "/id: expected integer, got string",
            ),
            (
                reply(200, "text/plain", "7"),
                r#"content type `text/plain` is not one of ["application/json"]"#,
            ),
            (
                reply(200, "application/json", "{"),
                "the body is not JSON: EOF while parsing an object at line 1 column 1",
            ),
        ] {
            assert_eq!(
                contract.check("GET", "/users/7", &reply),
                Err(vec![want.to_owned()])
            );
        }
        let mut unversioned = ok.clone();
        unversioned.headers.pop();
        assert_eq!(
            contract.check("GET", "/users/7", &unversioned),
            Err(vec![
                "x-api-version is None, the document's info.version is 1.0.0".to_owned()
            ])
        );
        let body_on_204 = reply(204, "text/plain", "x");
        assert_eq!(
            contract.check("GET", "/users/me", &body_on_204),
            Err(vec![
                "a body, but the response declares no content".to_owned()
            ])
        );
    }
}
