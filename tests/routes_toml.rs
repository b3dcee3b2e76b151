//! The repository's own routes.toml: it parses, every environment validates, and the sample
//! requests in the README reach the routes they claim to.

use gateway::table::source::RouteFile;
use gateway::table::{Lookup, RouteTable, Target};

fn routes_toml() -> RouteFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/routes.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).expect("routes.toml parses")
}

fn table(env: &str) -> RouteTable {
    let mut doc = routes_toml()
        .compile(env)
        .expect("every upstream has this environment");
    doc.version = "test".into();
    RouteTable::try_from(doc).unwrap_or_else(|e| panic!("routes.toml [{env}] is valid:\n{e}"))
}

#[test]
fn every_environment_validates() {
    assert_eq!(routes_toml().environments(), ["local", "production"]);
    for env in ["local", "production"] {
        assert!(!table(env).routes().is_empty());
    }
}

#[test]
fn local_origins_are_loopback_and_production_uses_tunnels_with_access() {
    for u in table("local").upstreams() {
        let Target::Origins(origins) = &u.target else {
            panic!("{} has origins", u.name)
        };
        assert!(
            origins
                .iter()
                .all(|o| o.url.starts_with("http://127.0.0.1:")),
            "{}: {origins:?}",
            u.name
        );
        assert!(u.access_secrets.is_none());
    }
    for u in table("production").upstreams() {
        let Target::Origins(origins) = &u.target else {
            panic!("{} has origins", u.name)
        };
        assert!(
            origins.iter().all(|o| o.url.starts_with("https://")),
            "{}: {origins:?}",
            u.name
        );
        assert!(u.access_secrets.is_some(), "{} is behind Access", u.name);
    }
}

#[test]
fn sample_requests_reach_their_routes() {
    let table = table("local");
    for (method, path, route, origin_path) in [
        ("GET", "/api/users", "users-list", "/users"),
        ("POST", "/api/users", "users-list", "/users"),
        ("GET", "/api/users/1", "users-get", "/users/1"),
        (
            "GET",
            "/api/users/2/orders",
            "user-orders",
            "/orders?user_id=2",
        ),
        ("GET", "/api/orders/1", "orders-get", "/orders/1"),
        ("PUT", "/echo/users/a/b", "users-echo", "/echo/a/b"),
    ] {
        let Lookup::Found(m) = table.lookup("localhost:8787", method, path) else {
            panic!("{method} {path} is routed")
        };
        assert_eq!(m.route.id, route, "{method} {path}");
        let rewritten = match &m.route.rewrite {
            Some(r) => r.apply(path, |n| m.params.get(n)),
            None => path.to_owned(),
        };
        assert_eq!(rewritten, origin_path, "{method} {path}");
    }
}

#[test]
fn orders_get_sends_a_sticky_tenth_to_orders_v2() {
    use gateway::context::RequestContext;
    let table = table("local");
    let request = |headers: Vec<(&'static str, &'static str)>| {
        RequestContext::new(
            "http://localhost:8787/api/orders/1".into(),
            "GET".into(),
            "r".into(),
            0.0,
            Box::new(headers),
        )
        .unwrap()
    };
    let plain = request(vec![]);
    let Lookup::Found(m) = table.lookup_request(&plain) else {
        panic!("GET /api/orders/1 is routed")
    };
    assert_eq!(
        (m.route.id.as_str(), m.upstream.name.as_str()),
        ("orders-get", "orders")
    );
    let split = m.route.split.as_ref().expect("orders-get has a split");
    assert_eq!(split.sticky().to_string(), "consumer");
    let names: Vec<(&str, u32)> = split
        .shares()
        .map(|(u, bp)| (table.upstreams()[u].name.as_str(), bp))
        .collect();
    assert_eq!(names, [("orders", 9_000), ("orders-v2", 1_000)]);
    let side = |r: &RequestContext, consumer: Option<&str>| {
        table
            .choose_upstream(m.route, r, consumer, 0.0)
            .name
            .clone()
    };
    let forced = request(vec![("x-gateway-split", "orders-v2")]);
    assert_eq!(side(&forced, Some("alice")), "orders-v2");
    let on_v2 = (0..1_000)
        .filter(|i| side(&plain, Some(&format!("consumer-{i}"))) == "orders-v2")
        .count();
    assert!((60..=140).contains(&on_v2), "{on_v2} of 1000");
}
