//! `diff`: what changes between two route tables — route by route, and for sample requests
//! (one per route of either table, meeting its conditions, plus any given), which would reach
//! a different route, upstream (or split) or origin path. The comparison is the gateway
//! crate's ([`gateway::diff`], which the admin API's `GET /__gateway/diff` also uses); this
//! file reads the tables and prints it.

use gateway::diff::{parse_requests, samples, Sample};
use gateway::table::{RouteDocument, RouteTable};

use crate::args::Args;
use crate::source::Source;

/// The item-level changes from `old` to `new`, one line each.
pub fn changes(old: &RouteDocument, new: &RouteDocument) -> Vec<String> {
    gateway::diff::changes(old, new)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The samples whose outcome differs, as lines.
pub fn moved(old: &RouteTable, new: &RouteTable, samples: &[Sample]) -> Vec<String> {
    gateway::diff::moved(old, new, samples)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `diff [FILE] --env ENV [--against active|VERSION|OTHER.toml] [--requests FILE]`.
pub fn diff(args: &Args) -> Result<(), String> {
    let env = args.env();
    let new = Source::read(&args.file)?.compile(env)?;
    let against = args.against.clone().unwrap_or_else(|| "active".into());
    let (old, label) = if against.ends_with(".toml") {
        (
            Source::read(std::path::Path::new(&against))?.compile(env)?,
            against.clone(),
        )
    } else {
        let store = args.store();
        let version = if against == "active" {
            store
                .active()?
                .ok_or("no version is active yet: nothing to diff against")?
        } else {
            against.clone()
        };
        let doc = store
            .document(&version)?
            .ok_or_else(|| format!("version {version} is not in KV"))?;
        let label = if against == "active" {
            format!("{version} (active)")
        } else {
            version
        };
        (doc, label)
    };
    let extra = match &args.requests {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            parse_requests(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    let table = |d: &RouteDocument| {
        RouteTable::try_from(d.clone()).map_err(|e| format!("{label} does not validate:\n{e}"))
    };
    let (old_table, new_table) = (table(&old)?, table(&new)?);
    let samples = samples(&[&old, &new], extra);
    let route_changes = changes(&old, &new);
    let moved = moved(&old_table, &new_table, &samples);

    println!("diff {} ({env}) against {label}", args.file.display());
    if route_changes.is_empty() {
        println!("routes: no changes");
    } else {
        println!("routes:");
        route_changes.iter().for_each(|l| println!("  {l}"));
    }
    println!(
        "requests that would be served differently: {} of {}",
        moved.len(),
        samples.len()
    );
    moved.iter().for_each(|l| println!("  {l}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::diff::{fill, outcome};
    use gateway::rollout::when::MatchSpec;

    #[test]
    fn filled_paths() {
        for (pattern, want) in [
            ("/users/{id}", "/users/1"),
            ("/files/{*rest}", "/files/sample/path"),
            ("/img-{n}.png", "/img-1.png"),
            ("/{{lit}}/{x}", "/{lit}/1"),
            ("/plain", "/plain"),
        ] {
            assert_eq!(fill(pattern), want);
        }
    }

    #[test]
    fn request_files() {
        let parsed =
            parse_requests("# comment\nGET /a\npost api.example.com /b?x=1 # trailing\n\n")
                .unwrap();
        assert_eq!(
            parsed,
            vec![
                Sample {
                    method: "GET".into(),
                    host: String::new(),
                    path: "/a".into(),
                    headers: Vec::new(),
                },
                Sample {
                    method: "POST".into(),
                    host: "api.example.com".into(),
                    path: "/b?x=1".into(),
                    headers: Vec::new(),
                },
            ]
        );
        assert_eq!(
            parse_requests("GET").unwrap_err(),
            "line 1: expected `METHOD [HOST] PATH [NAME:VALUE …]`, got `GET`"
        );
        assert_eq!(
            parse_requests("GET a").unwrap_err(),
            "line 1: path `a` must start with `/`"
        );
        let with_headers = parse_requests("GET h /c X-Beta:1 cookie:beta=on").unwrap();
        assert_eq!(
            with_headers[0].headers,
            [
                ("x-beta".to_owned(), "1".to_owned()),
                ("cookie".to_owned(), "beta=on".to_owned())
            ]
        );
        assert_eq!(
            with_headers[0].to_string(),
            "GET h/c [x-beta: 1, cookie: beta=on]"
        );
        assert_eq!(
            parse_requests("GET /c x-beta").unwrap_err(),
            "line 1: `x-beta` is not a header (NAME:VALUE)"
        );
    }

    fn document(routes: &str) -> RouteDocument {
        let text = format!(
            "[upstreams.orders.env.local]\norigins = [\"http://127.0.0.1:9102\"]\n\
             [upstreams.orders-v2.env.local]\norigins = [\"http://127.0.0.1:9104\"]\n{routes}"
        );
        let file: gateway::table::source::RouteFile = toml::from_str(&text).unwrap();
        let mut doc = file.compile("local").unwrap();
        doc.version = "v".into();
        doc
    }

    const ROUTES: &str = r#"
[[routes]]
id = "beta"
methods = ["GET"]
path = "/o/{id}"
upstream = "orders-v2"
when = { header = { x-beta = "1" }, cookie = { b = { present = true } }, query = { v = "2 b" } }

[[routes]]
id = "o"
methods = ["GET"]
path = "/o/{id}"
upstream = "orders"
split = { to = { orders-v2 = 12.5 } }
"#;

    #[test]
    fn samples_meet_conditions_and_outcomes_name_split_shares() {
        let doc = document(ROUTES);
        let table = RouteTable::try_from(doc.clone()).unwrap();
        let samples = samples(&[&doc], Vec::new());
        let shown: Vec<String> = samples
            .iter()
            .map(|s| format!("{s} => {}", outcome(&table, s)))
            .collect();
        assert_eq!(
            shown,
            [
                "GET /o/1 => o (orders 87.5% + orders-v2 12.5%, 10000 ms) /o/1",
                "GET /o/1?v=2%20b [x-beta: 1, cookie: b=1] => beta (orders-v2, 10000 ms) /o/1?v=2%20b",
            ]
        );
        // A changed share moves the split route's requests; a changed condition is named.
        let mut changed = doc.clone();
        changed.routes[1]
            .split
            .as_mut()
            .unwrap()
            .to
            .insert("orders-v2".into(), gateway::rollout::split::Percent(20.0));
        changed.routes[0]
            .when
            .as_mut()
            .unwrap()
            .header
            .insert("x-beta".into(), MatchSpec::Exact("2".into()));
        assert_eq!(
            changes(&doc, &changed),
            [
                "~ route beta             when.header.x-beta: 1 → 2",
                "~ route o                split.to.orders-v2: 12.5 → 20",
            ]
        );
        let new_table = RouteTable::try_from(changed).unwrap();
        assert_eq!(
            moved(&table, &new_table, &samples),
            [
                "GET /o/1: o (orders 87.5% + orders-v2 12.5%, 10000 ms) /o/1 → o (orders 80% + orders-v2 20%, 10000 ms) /o/1",
                "GET /o/1?v=2%20b [x-beta: 1, cookie: b=1]: beta (orders-v2, 10000 ms) /o/1?v=2%20b → o (orders 80% + orders-v2 20%, 10000 ms) /o/1?v=2%20b",
            ]
        );
        // Added routes are described with their conditions and split.
        let empty = document("");
        assert_eq!(
            changes(&empty, &doc)[..2],
            [
                "+ route beta             GET /o/{id} → orders-v2 when header x-beta = \"1\", cookie b present, query v = \"2 b\"",
                "+ route o                GET /o/{id} → orders split orders-v2 12.5%, sticky ip",
            ]
        );
    }
}
