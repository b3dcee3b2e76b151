//! WASM linear memory across 20 swaps of a 10,000-route table, in V8 under Node: memory only
//! grows, so its size after the swaps, against its size with one table loaded, is what a
//! worker keeps. Run on demand (not by `npm test`):
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --release
//! --target wasm32-unknown-unknown -p gateway --test wasm_table_memory`; prints
//! `table_memory routes=N start=B after_swaps=B`.
#![cfg(target_arch = "wasm32")]

use gateway::table::{RouteDocument, RouteTable};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen(inline_js = r#"
export function soak_document(n, version) {
  const route = (id, methods, path, rewrite) => {
    const r = { id };
    if (methods.length) r.methods = methods;
    r.path = path;
    r.upstream = 'users';
    if (rewrite) r.rewrite = rewrite;
    return r;
  };
  const routes = [
    route('users-get', ['GET'], '/api/users/{id}', { strip_prefix: '/api' }),
    route('echo', [], '/echo/{*rest}'),
    route('download', ['GET'], '/_test/download'),
  ];
  for (let i = 3; i < n; i++) {
    routes.push(route(`svc${i}`, ['GET', 'POST'], `/svc${i}/items/{id}`, { template: '/items/{id}' }));
  }
  return JSON.stringify({
    format: 1, version, checksum: '0'.repeat(64), environment: 'local',
    upstreams: { users: { origins: ['http://127.0.0.1:9101'], timeout_ms: 5000, health_path: '/healthz' } },
    routes,
  });
}
"#)]
extern "C" {
    /// The soak's table (bench/harness.mjs `routesToml`) as the JSON text in KV, built in JS
    /// so that only what the worker holds is in WASM memory.
    fn soak_document(n: u32, version: &str) -> String;
}

const ROUTES: u32 = 10_000;
const SWAPS: u32 = 20;
/// The issue's bound: memory back within 10 MiB of the start after the swaps.
const BUDGET: usize = 10 << 20;

/// What the worker does with a new document (src/edge/routes.rs).
fn load(version: &str) -> RouteTable {
    let text = soak_document(ROUTES, version);
    let doc = RouteDocument::from_json(&text).expect("parses");
    let table = RouteTable::try_from(doc).expect("valid");
    drop(text);
    table
}

fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size::<0>() * 65_536
}

#[wasm_bindgen_test]
fn table_swaps_stay_within_budget() {
    let mut table = load("v0");
    let start = memory_bytes();
    for i in 1..=SWAPS {
        // The old table serves until the new one is installed.
        let new = load(&format!("v{i}"));
        table = new;
    }
    assert_eq!(table.version, format!("v{SWAPS}"));
    let after = memory_bytes();
    console_log!("table_memory routes={ROUTES} start={start} after_swaps={after}");
    assert!(
        after - start < BUDGET,
        "{SWAPS} swaps grew memory by {} B (budget {BUDGET})",
        after - start
    );
}
