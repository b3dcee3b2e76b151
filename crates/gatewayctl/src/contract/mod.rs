//! Service contracts (OpenAPI 3 documents) as `gatewayctl` reads them: the operations a
//! service defines, with their path templates parsed into segments, parameters, request body
//! and responses. [`check`] verifies routes against them; [`diff`] classifies the changes
//! between two versions of one.
//!
//! Conventions: a path parameter with `x-catch-all: true` spans segments (axum's and
//! matchit's `{*rest}`); an operation with `x-internal: true` need not be exposed by a route.

pub mod check;
pub mod diff;
mod schema;

use contracts::ApiVersion;
use serde_json::Value;

/// The methods an OpenAPI path item may define, in the order they are reported.
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
];

/// A service contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// `info.version`, if it is `MAJOR.MINOR.PATCH`.
    pub version: Option<ApiVersion>,
    /// `info.version` as written.
    pub version_text: String,
    /// Every operation, by path then method.
    pub operations: Vec<Operation>,
    /// The document (for `$ref`s).
    pub doc: Value,
}

/// One operation: a method on a path template.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Upper case.
    pub method: String,
    /// The template as written (`/users/{id}`).
    pub path: String,
    /// The template's segments.
    pub segments: Vec<Segment>,
    /// Path-item and operation parameters (the operation's win).
    pub params: Vec<Param>,
    /// `x-internal: true`.
    pub internal: bool,
    /// The request body, if any.
    pub request: Option<Body>,
    /// Responses by status (`200`, `4XX`, `default`).
    pub responses: Vec<(String, Response)>,
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Static(String),
    /// `{name}`: one segment, or every remaining one with `x-catch-all`.
    Param {
        /// The parameter's name.
        name: String,
        /// Spans the rest of the path.
        catch_all: bool,
    },
    /// Literal text and parameters within one segment (`{name}.json`): each piece a
    /// literal (`Ok`) or a parameter name (`Err`).
    Mixed(Vec<Result<String, String>>),
}

/// A parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    /// Whether a request must send it.
    pub required: bool,
    /// A path parameter spanning segments (`x-catch-all: true`).
    pub catch_all: bool,
    /// Its schema (`Null` if none).
    pub schema: Value,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    /// Whether a request must send one.
    pub required: bool,
    /// Schemas by media type.
    pub content: Vec<(String, Value)>,
}

/// A response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Schemas by media type.
    pub content: Vec<(String, Value)>,
}

impl Operation {
    /// `GET /users/{id}`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The parameter `name` in `location`.
    pub fn param(&self, location: &str, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.location == location && p.name == name)
    }
}

impl Contract {
    /// Parses an OpenAPI 3 document; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let openapi = doc["openapi"].as_str().unwrap_or_default();
        if !openapi.starts_with("3.") {
            return Err("not an OpenAPI 3 document (no `openapi: 3.x`)".into());
        }
        let version_text = doc["info"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let paths = doc["paths"].as_object().ok_or("has no `paths` object")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let item = deref(&doc, item);
            let shared = params(&doc, &item["parameters"]);
            for method in METHODS {
                let Some(op) = item.get(method.to_ascii_lowercase()) else {
                    continue;
                };
                let mut params = params(&doc, &op["parameters"]);
                for p in &shared {
                    if !params
                        .iter()
                        .any(|o| o.name == p.name && o.location == p.location)
                    {
                        params.push(p.clone());
                    }
                }
                let segments =
                    segments(path, &params).map_err(|e| format!("path `{path}`: {e}"))?;
                operations.push(Operation {
                    method: method.to_owned(),
                    path: path.clone(),
                    segments,
                    params,
                    internal: op["x-internal"] == true,
                    request: op.get("requestBody").map(|b| {
                        let b = deref(&doc, b);
                        Body {
                            required: b["required"] == true,
                            content: content(&b["content"]),
                        }
                    }),
                    responses: op["responses"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(status, r)| {
                            let r = deref(&doc, r);
                            (
                                status.clone(),
                                Response {
                                    content: content(&r["content"]),
                                },
                            )
                        })
                        .collect(),
                });
            }
        }
        Ok(Self {
            version: ApiVersion::parse(&version_text).ok(),
            version_text,
            operations,
            doc,
        })
    }

    /// Reads and parses the document at `path`.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::parse(&text)
    }
}

/// Follows a local `$ref` (once is enough for parameters, bodies and responses).
fn deref<'d>(doc: &'d Value, value: &'d Value) -> &'d Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| doc.pointer(r.strip_prefix('#')?))
        .unwrap_or(value)
}

fn params(doc: &Value, list: &Value) -> Vec<Param> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|p| deref(doc, p))
        .map(|p| Param {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            location: p["in"].as_str().unwrap_or_default().to_owned(),
            required: p["required"] == true,
            catch_all: p["x-catch-all"] == true,
            schema: p["schema"].clone(),
        })
        .collect()
}

fn content(map: &Value) -> Vec<(String, Value)> {
    map.as_object()
        .into_iter()
        .flatten()
        .map(|(media, c)| (media.clone(), c["schema"].clone()))
        .collect()
}

/// The segments of a template; a path parameter is a catch-all when declared with
/// `x-catch-all: true` (then it must be the last segment).
fn segments(path: &str, params: &[Param]) -> Result<Vec<Segment>, String> {
    let rest = path.strip_prefix('/').ok_or("does not start with `/`")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let pieces = template_pieces(part)?;
        let segment = match pieces.as_slice() {
            [Ok(text)] => Segment::Static(text.clone()),
            [] => Segment::Static(String::new()),
            [Err(name)] => {
                let catch_all = params
                    .iter()
                    .any(|p| p.location == "path" && &p.name == name && p.catch_all);
                if catch_all && i + 1 != parts.len() {
                    return Err(format!(
                        "catch-all parameter `{name}` is not the last segment"
                    ));
                }
                Segment::Param {
                    name: name.clone(),
                    catch_all,
                }
            }
            _ => Segment::Mixed(pieces),
        };
        out.push(segment);
    }
    Ok(out)
}

/// Splits one segment into literal text (`Ok`) and `{name}` parameters (`Err`).
pub fn template_pieces(segment: &str) -> Result<Vec<Result<String, String>>, String> {
    let mut pieces = Vec::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Ok(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unbalanced `{{` in `{segment}`"))?;
        let name = rest[open + 1..open + close].trim_start_matches('*');
        if name.is_empty() {
            return Err(format!("empty `{{}}` in `{segment}`"));
        }
        pieces.push(Err(name.to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Ok(rest.to_owned()));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_operations_with_their_segments_and_parameters() {
        let doc = json!({"openapi": "3.1.0", "info": {"version": "1.2.0"}, "paths": {
            "/users/{id}": {"parameters": [{"name": "id", "in": "path", "required": true}],
                "get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}},
                "delete": {"x-internal": true, "responses": {}}},
            "/files/{rest}": {"get": {"parameters": [{"name": "rest", "in": "path", "required": true, "x-catch-all": true}],
                "responses": {}}},
            "/r/{name}.json": {"get": {"responses": {}}},
        }});
        let c = Contract::parse(&doc.to_string()).unwrap();
        assert_eq!(c.version, Some(ApiVersion::new(1, 2, 0)));
        let labels: Vec<String> = c.operations.iter().map(Operation::label).collect();
        assert_eq!(
            labels,
            [
                "GET /files/{rest}",
                "GET /r/{name}.json",
                "GET /users/{id}",
                "DELETE /users/{id}"
            ]
        );
        assert_eq!(
            c.operations[0].segments,
            [
                Segment::Static("files".into()),
                Segment::Param {
                    name: "rest".into(),
                    catch_all: true
                }
            ]
        );
        assert_eq!(
            c.operations[1].segments[1],
            Segment::Mixed(vec![Err("name".into()), Ok(".json".into())])
        );
        assert!(c.operations[2].param("path", "id").unwrap().required);
        assert!(c.operations[3].internal && !c.operations[2].internal);
        assert_eq!(c.operations[2].responses[0].0, "200");
    }

    #[test]
    fn says_what_is_wrong_with_a_document() {
        for (text, want) in [
            (
                "{",
                "not JSON: EOF while parsing an object at line 1 column 1",
            ),
            (
                r#"{"swagger": "2.0"}"#,
                "not an OpenAPI 3 document (no `openapi: 3.x`)",
            ),
            (r#"{"openapi": "3.0.3"}"#, "has no `paths` object"),
            (
                r#"{"openapi": "3.0.3", "paths": {"/a/{x": {"get": {}}}}"#,
                "path `/a/{x`: unbalanced `{` in `{x`",
            ),
            (
                r#"{"openapi": "3.0.3", "paths": {"/a/{x}/b": {"get": {"parameters": [{"name": "x", "in": "path", "x-catch-all": true}]}}}}"#,
                "path `/a/{x}/b`: catch-all parameter `x` is not the last segment",
            ),
        ] {
            assert_eq!(
                Contract::parse(text).map(|_| ()),
                Err(want.to_owned()),
                "{text}"
            );
        }
    }
}
