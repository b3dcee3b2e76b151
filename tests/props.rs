//! Generated inputs at scale (proptest): the route document parser and validator, `routes.toml`
//! parsing, the matcher against an independent reference matcher, rewrites, request ids, and
//! the policies' parsers never panic, and the matcher agrees with the reference on every
//! generated table and request.
//!
//! `npm test` runs a short pass (`PROPS_CASES`, default 2,000 per target); `npm run fuzz` runs
//! 1,000,000 per target in release mode and prints how many ran.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use gateway::context::RequestContext;
use gateway::headers::is_valid_request_id;
use gateway::policy::claims::Claims;
use gateway::policy::ip_rules::Cidr;
use gateway::policy::jose::{base64url, parse_jwks, parse_token};
use gateway::policy::PolicySpec;
use gateway::request_id::RequestIds;
use gateway::rewrite::Rewrite;
use gateway::table::source::RouteFile;
use gateway::table::{has_encoded_separator, Lookup, RouteDocument, RouteTable};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per target: `PROPS_CASES`, else 2,000.
fn cases() -> u32 {
    std::env::var("PROPS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// Runs `test` on `cases()` values of `strategy` and reports how many ran.
fn run<S: Strategy>(target: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let ran = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    println!("props: {target}: {} cases", ran.load(Ordering::Relaxed));
    if let Err(e) = result {
        panic!("{target}: {e}");
    }
}

// ── The matcher against a reference ─────────────────────────────────────────────────────

/// A path segment of a generated pattern.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Static(String),
    Param,
    CatchAll,
}

fn segment() -> impl Strategy<Value = Seg> {
    prop_oneof![
        4 => "[abc]{1,2}".prop_map(Seg::Static),
        2 => Just(Seg::Param),
    ]
}

/// A pattern: 1–4 segments, the last possibly a catch-all.
fn pattern() -> impl Strategy<Value = Vec<Seg>> {
    (prop::collection::vec(segment(), 1..4), any::<bool>()).prop_map(|(mut segs, catch_all)| {
        if catch_all {
            segs.push(Seg::CatchAll);
        }
        segs
    })
}

fn render(segs: &[Seg]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        out.push('/');
        match s {
            Seg::Static(t) => out.push_str(t),
            Seg::Param => out.push_str(&format!("{{p{i}}}")),
            Seg::CatchAll => out.push_str("{*rest}"),
        }
    }
    out
}

/// How well `segs` matches `path`'s segments: `None` if not at all, else one rank per
/// segment (static 2, parameter 1, catch-all 0), compared lexicographically.
fn reference_rank(segs: &[Seg], path: &[&str]) -> Option<Vec<u8>> {
    let mut rank = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        match s {
            Seg::CatchAll => {
                let rest = &path[i.min(path.len())..];
                return (!rest.is_empty() && !rest.join("/").is_empty()).then(|| {
                    rank.push(0);
                    rank
                });
            }
            Seg::Static(t) => {
                if path.get(i) != Some(&t.as_str()) {
                    return None;
                }
                rank.push(2);
            }
            Seg::Param => {
                if path.get(i).is_none_or(|p| p.is_empty()) {
                    return None;
                }
                rank.push(1);
            }
        }
    }
    (segs.len() == path.len()).then_some(rank)
}

fn table_of(patterns: &[Vec<Seg>]) -> (RouteTable, Vec<Vec<Seg>>) {
    // Keep the patterns matchit accepts together (drop conflicts, as validation would).
    let mut kept: Vec<Vec<Seg>> = Vec::new();
    let mut router = matchit::Router::new();
    for p in patterns {
        if router.insert(render(p), ()).is_ok() {
            kept.push(p.clone());
        }
    }
    let routes: String = kept
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "[[routes]]\nid = \"r{i}\"\npath = \"{}\"\nupstream = \"users\"\n",
                render(p)
            )
        })
        .collect();
    (common::table(&routes), kept)
}

#[test]
fn the_matcher_agrees_with_the_reference() {
    let paths = prop::collection::vec("[abc]{0,2}", 1..6);
    let strategy = (
        prop::collection::vec(pattern(), 1..8),
        prop::collection::vec(paths, 1..6),
    );
    run("matcher vs reference", strategy, |(patterns, requests)| {
        let (table, kept) = table_of(&patterns);
        for segs in requests {
            let path = format!("/{}", segs.join("/"));
            let parts: Vec<&str> = segs.iter().map(String::as_str).collect();
            let want = kept
                .iter()
                .enumerate()
                .filter_map(|(i, p)| reference_rank(p, &parts).map(|r| (r, i)))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, i)| format!("r{i}"));
            let got = match table.lookup("h", "GET", &path) {
                Lookup::Found(m) => Some(m.route.id.clone()),
                Lookup::NotFound => None,
                Lookup::MethodNotAllowed { .. } => Some("405".into()),
            };
            prop_assert_eq!(
                &got,
                &want,
                "path {} in {:?}",
                path,
                kept.iter().map(|p| render(p)).collect::<Vec<_>>()
            );
        }
        Ok(())
    });
}

// ── Parsers and validators never panic ──────────────────────────────────────────────────

const DOC: &str = r#"{"format":2,"version":"v","environment":"local","upstreams":{"u":{"origins":["http://127.0.0.1:1",{"url":"https://x","weight":2}],"timeout_ms":100,"health_path":"/h"}},"routes":[{"id":"a","methods":["GET"],"path":"/a/{id}","upstream":"u","rewrite":{"template":"/b/{id}"},"policies":["k","c"]}],"policies":{"k":{"api_key":{"header":"x-key"}},"c":{"cors":{"allow_origins":["https://*.example.com"]}},"r":{"rate_limit":{"key":"ip","limit":5,"period_s":10,"store":"binding","binding":"RL"}}},"default_policies":["r"]}"#;

/// `text` with a few bytes replaced, inserted or removed.
fn mutated(text: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..6).prop_map(
        move |edits| {
            let mut chars: Vec<char> = text.chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(chars.len().max(1));
                match kind {
                    0 if !chars.is_empty() => {
                        let at = i.min(chars.len() - 1);
                        chars[at] = c;
                    }
                    1 => chars.insert(i.min(chars.len()), c),
                    _ if !chars.is_empty() => {
                        chars.remove(i.min(chars.len() - 1));
                    }
                    _ => {}
                }
            }
            chars.into_iter().collect()
        },
    )
}

#[test]
fn route_documents_parse_and_validate_without_panicking() {
    run("route document", mutated(DOC), |text| {
        if let Ok(doc) = RouteDocument::from_json(&text) {
            let _ = RouteTable::try_from(doc);
        }
        Ok(())
    });
}

#[test]
fn routes_toml_parses_compiles_and_validates_without_panicking() {
    const TOML: &str = include_str!("../routes.toml");
    run("routes.toml", mutated(TOML), |text| {
        if let Ok(file) = toml::from_str::<RouteFile>(&text) {
            for env in file.environments() {
                let (doc, _) = file.compile_partial(&env);
                let _ = RouteTable::try_from(RouteDocument {
                    version: "v".into(),
                    ..doc
                });
            }
        }
        Ok(())
    });
}

#[test]
fn policy_specs_validate_without_panicking() {
    let spec = r#"{"jwt":{"jwks_url":"https://i.example/k","issuer":"https://i.example","audiences":["a"],"algorithms":["RS256","ES256"],"leeway_s":30,"claims":{"email":"x-email"}}}"#;
    run("policy specs", mutated(spec), |text| {
        if let Ok(spec) = serde_json::from_str::<PolicySpec>(&text) {
            let _ = spec.validate();
        }
        Ok(())
    });
}

#[test]
fn token_pieces_parse_without_panicking() {
    let strategy = ("[A-Za-z0-9_.=+/-]{0,120}", ".{0,80}", "[ -~]{0,40}");
    run("jose and claims", strategy, |(token, payload, cidr)| {
        let _ = parse_token(&token);
        let _ = base64url(&token);
        let _ = parse_jwks(&payload);
        let _ = Claims::parse(&payload, &["sub", "email"]);
        let _ = Cidr::parse(&cidr);
        let _ = has_encoded_separator(&cidr);
        Ok(())
    });
}

// ── Rewrites, URLs and request ids ──────────────────────────────────────────────────────

#[test]
fn rewrites_keep_captures_verbatim() {
    let strategy = ("[a-z%0-9./]{1,12}", "[a-z/{}*]{0,16}");
    run("rewrites", strategy, |(value, template)| {
        let text = format!("/v1/{template}");
        if let Ok(rewrite) = Rewrite::template(&text) {
            let out = rewrite.apply("/ignored", |_| Some(value.as_str()));
            prop_assert!(out.starts_with("/v1/"));
        }
        let fixed = Rewrite::template("/v1/{id}/x").unwrap();
        prop_assert_eq!(fixed.apply("/", |_| Some(&value)), format!("/v1/{value}/x"));
        let strip = Rewrite::StripPrefix("/api".into());
        let out = strip.apply(&format!("/api/{value}"), |_| None);
        prop_assert_eq!(out, format!("/{value}"));
        Ok(())
    });
}

#[test]
fn request_urls_and_ids() {
    let strategy = (
        "https?://[a-z0-9.:-]{1,20}(/[ -~]{0,30})?",
        any::<u64>(),
        "[ -~]{0,140}",
    );
    run(
        "urls and request ids",
        strategy,
        |(url, seed, client_id)| {
            let request = RequestContext::new(
                url.clone(),
                "GET".into(),
                "id".into(),
                0.0,
                Box::new(Vec::new()),
            );
            if let Some(r) = request {
                prop_assert!(r.path().starts_with('/'));
                prop_assert!(url.contains(r.host()));
            }
            let id = RequestIds::new(seed).next_id();
            prop_assert!(is_valid_request_id(&id), "generated id {} is valid", id);
            let valid = is_valid_request_id(&client_id);
            prop_assert!(!valid || (client_id.len() <= 128 && !client_id.contains(' ')));
            Ok(())
        },
    );
}
