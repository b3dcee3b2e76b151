//! Route table build (validation + matchit insertion) and lookup, natively, by table size.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gateway::table::{Lookup, RouteDocument, RouteTable};

/// A document of `n` routes like the benchmark's (bench/run.mjs).
fn document(n: usize) -> RouteDocument {
    let mut routes = String::from(
        r#"{"id":"users-get","methods":["GET"],"path":"/api/users/{id}","upstream":"users","rewrite":{"strip_prefix":"/api"}}"#,
    );
    for i in 1..n {
        routes.push_str(&format!(
            r#",{{"id":"svc{i}","methods":["GET","POST"],"path":"/svc{i}/items/{{id}}","upstream":"users","rewrite":{{"template":"/items/{{id}}"}}}}"#
        ));
    }
    let json = format!(
        r#"{{"format":1,"version":"bench","environment":"local","upstreams":{{"users":{{"origins":["http://127.0.0.1:9101"],"timeout_ms":5000,"health_path":"/healthz"}}}},"routes":[{routes}]}}"#
    );
    RouteDocument::from_json(&json).expect("bench document parses")
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("table");
    group.sample_size(20);
    for n in [10usize, 1_000, 10_000] {
        let doc = document(n);
        group.bench_with_input(
            BenchmarkId::new("build", format!("{n} routes")),
            &doc,
            |b, doc| b.iter(|| RouteTable::try_from(doc.clone()).expect("valid")),
        );
        let table = RouteTable::try_from(doc).expect("valid");
        group.bench_with_input(
            BenchmarkId::new("lookup", format!("{n} routes")),
            &table,
            |b, table| {
                b.iter(|| {
                    assert!(matches!(
                        table.lookup("h", "GET", "/api/users/1"),
                        Lookup::Found(_)
                    ))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
