//! Helpers shared by the native tests: route tables from TOML snippets.
#![allow(dead_code)]

use gateway::table::source::RouteFile;
use gateway::table::{RouteDocument, RouteTable, ValidationErrors};

/// Two upstreams, `users` and `orders`, with local origins; prepended to every snippet.
pub const UPSTREAMS: &str = r#"
[upstreams.users]
timeout_ms = 3000
[upstreams.users.env.local]
origins = ["http://127.0.0.1:9101/"]

[upstreams.orders]
[upstreams.orders.env.local]
origins = ["http://127.0.0.1:9102"]
"#;

/// The local document for `UPSTREAMS` + `routes`.
pub fn doc(routes: &str) -> RouteDocument {
    let file: RouteFile =
        toml::from_str(&format!("{UPSTREAMS}\n{routes}")).expect("test TOML parses");
    let mut doc = file
        .compile("local")
        .expect("test upstreams have a local block");
    doc.version = "v-test".into();
    doc
}

/// The validated table for `UPSTREAMS` + `routes`.
pub fn table(routes: &str) -> RouteTable {
    RouteTable::try_from(doc(routes)).unwrap_or_else(|e| panic!("test table is valid:\n{e}"))
}

/// The validation errors for `UPSTREAMS` + `routes`, rendered.
pub fn errors(routes: &str) -> Vec<String> {
    match RouteTable::try_from(doc(routes)) {
        Ok(_) => Vec::new(),
        Err(ValidationErrors(list)) => list.iter().map(ToString::to_string).collect(),
    }
}
