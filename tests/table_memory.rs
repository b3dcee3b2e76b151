//! Heap held by a 10,000-route table and the peak while a new one is loaded beside it,
//! measured natively with a counting allocator: WASM memory never shrinks, so both bound what
//! a worker keeps across table swaps. `tests/wasm_table_memory.rs` measures the WASM memory
//! itself, on demand.
#![cfg(not(target_arch = "wasm32"))]

use gateway::table::{Lookup, RewriteSpec, RouteDocument, RouteSpec, RouteTable, UpstreamSpec};
use peak_alloc::PeakAlloc;

/// The system allocator, counting the bytes in use and their high-water mark.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Bytes in use now.
fn current() -> usize {
    HEAP.current_usage()
}

const ROUTES: usize = 10_000;

/// The KV text of the soak's table (bench/harness.mjs `routesToml`): three special routes,
/// then `svcN` routes with two methods, a parameter and a rewrite template.
fn document_text(version: &str) -> String {
    let route = |id: &str, methods: &[&str], path: &str, rewrite: Option<RewriteSpec>| RouteSpec {
        id: id.into(),
        methods: methods.iter().map(|m| m.to_string()).collect(),
        path: path.into(),
        host: None,
        upstream: "users".into(),
        rewrite,
        timeout_ms: None,
        policies: Vec::new(),
        allow_encoded_separators: false,
        when: None,
        split: None,
    };
    let mut routes = vec![
        route(
            "users-get",
            &["GET"],
            "/api/users/{id}",
            Some(RewriteSpec::StripPrefix("/api".into())),
        ),
        route("echo", &[], "/echo/{*rest}", None),
        route("download", &["GET"], "/_test/download", None),
    ];
    for i in 3..ROUTES {
        routes.push(route(
            &format!("svc{i}"),
            &["GET", "POST"],
            &format!("/svc{i}/items/{{id}}"),
            Some(RewriteSpec::Template("/items/{id}".into())),
        ));
    }
    let upstream = UpstreamSpec {
        origins: vec!["http://127.0.0.1:9101".into()],
        binding: None,
        timeout_ms: 5_000,
        health_path: "/healthz".into(),
        health_timeout_ms: 2_000,
        degraded_ms: 1_000,
        all_unhealthy: Default::default(),
        access_secrets: None,
    };
    let mut text = RouteDocument {
        format: 1,
        version: version.into(),
        checksum: "0".repeat(64),
        environment: "local".into(),
        upstreams: [("users".to_string(), upstream)].into_iter().collect(),
        routes,
        policies: Default::default(),
        default_policies: Vec::new(),
    }
    .to_json();
    // As the worker gets it from KV: no spare capacity.
    text.shrink_to_fit();
    text
}

/// What the worker does with a new document's text (src/edge/routes.rs).
fn load(text: String) -> RouteTable {
    let doc = RouteDocument::from_json(&text).expect("parses");
    let table = RouteTable::try_from(doc).expect("valid");
    drop(text);
    table
}

/// Heap bytes (natively: pointers are twice their WASM size) one 10,000-route table may hold;
/// 5.3 MB when written (15.9 MB before the table was made compact).
const TABLE_BUDGET: usize = 7_000_000;
/// Heap bytes a swap may add above the old table, document text included; 11.5 MB when
/// written (18.7 MB before).
const SWAP_BUDGET: usize = 14_000_000;

#[test]
fn a_10k_route_table_and_its_swap_stay_within_budget() {
    let text = document_text("v1");
    let text_bytes = text.len();
    let before = current() - text_bytes;
    let table = load(text);
    let table_bytes = current() - before;

    let text = document_text("v2");
    let start = current();
    let doc = RouteDocument::from_json(&text).expect("parses");
    let doc_bytes = current() - start;
    drop((doc, text));

    // A swap: the old table serves while the new text is parsed and validated.
    let text = document_text("v2");
    let start = current() - text.len();
    HEAP.reset_peak_usage();
    let new = load(text);
    let swap_peak = HEAP.peak_usage() - start;
    drop(table);
    assert!(matches!(
        new.lookup("h", "POST", "/svc9999/items/7"),
        Lookup::Found(_)
    ));

    eprintln!(
        "{ROUTES} routes: text {text_bytes} B; parsed document {doc_bytes} B ({} B/route); \
         table {table_bytes} B ({} B/route); swap peak above the old table {swap_peak} B",
        doc_bytes / ROUTES,
        table_bytes / ROUTES,
    );
    assert!(table_bytes < TABLE_BUDGET, "table: {table_bytes} B");
    assert!(swap_peak < SWAP_BUDGET, "swap peak: {swap_peak} B");
}
