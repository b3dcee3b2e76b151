//! Route table build time in WASM (V8 under Node, the engine workerd embeds), by table size.
//! Run by `npm run bench` in release mode; prints `table_build routes=N us=T`.
#![cfg(target_arch = "wasm32")]

use gateway::table::{RouteDocument, RouteTable};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

fn document(n: usize) -> String {
    let mut routes = String::from(
        r#"{"id":"users-get","methods":["GET"],"path":"/api/users/{id}","upstream":"users"}"#,
    );
    for i in 1..n {
        routes.push_str(&format!(r#",{{"id":"svc{i}","methods":["GET","POST"],"path":"/svc{i}/items/{{id}}","upstream":"users"}}"#));
    }
    format!(
        r#"{{"format":1,"version":"bench","environment":"local","upstreams":{{"users":{{"origins":["http://127.0.0.1:9101"],"timeout_ms":5000,"health_path":"/healthz"}}}},"routes":[{routes}]}}"#
    )
}

#[wasm_bindgen_test]
fn table_build_times() {
    for n in [10usize, 1_000, 10_000] {
        let json = document(n);
        let runs = if n > 1_000 { 5 } else { 50 };
        let started = js_sys::Date::now();
        for _ in 0..runs {
            let table = RouteTable::try_from(RouteDocument::from_json(&json).unwrap()).unwrap();
            assert_eq!(table.routes().len(), n);
        }
        let us = (js_sys::Date::now() - started) * 1000.0 / runs as f64;
        console_log!("table_build routes={n} us={us:.0}");
    }
}
