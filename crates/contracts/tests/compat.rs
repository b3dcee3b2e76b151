//! Backward compatibility within a major version: what this version writes is readable by the
//! previous minor release's reader (`compat/previous_minor.rs`), what a later minor may add
//! is readable by this one, and every committed sample of an earlier release of this major
//! (`fixtures/VERSION/`) still reads.
//!
//! After a release bump, `UPDATE_CONTRACT_FIXTURES=1 cargo test -p contracts --test compat`
//! writes `fixtures/<new version>/`; the older directories stay as they are.

#[path = "compat/previous_minor.rs"]
mod previous_minor;

use std::path::{Path, PathBuf};

use contracts::{ApiVersion, Check, HealthReport, HealthStatus, Problem};

/// Every health status, by an exhaustive match: a new variant fails to compile here, as a
/// reminder that a new enum value is a breaking change (an older reader refuses it).
fn every_status() -> Vec<HealthStatus> {
    let all = [
        HealthStatus::Healthy,
        HealthStatus::Degraded,
        HealthStatus::Unhealthy,
    ];
    for status in all {
        match status {
            HealthStatus::Healthy | HealthStatus::Degraded | HealthStatus::Unhealthy => {}
        }
    }
    all.to_vec()
}

/// A sample of every type: one report per status (the last with every field set), and a
/// bare and a full problem.
fn samples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for status in every_status() {
        let mut report = HealthReport::new(status);
        if status == HealthStatus::Unhealthy {
            report.service = Some("orders".into());
            report.version = Some(ApiVersion::new(1, 0, 0));
            report.detail = Some("the store is unreachable".into());
            report.checks.insert(
                "store".into(),
                Check {
                    status,
                    detail: Some("connection refused".into()),
                },
            );
        }
        out.push((format!("health-{status}.json"), report.to_json()));
    }
    out.push((
        "problem-bare.json".into(),
        Problem::new(404, "Not Found").to_json(),
    ));
    let mut full = Problem::new(504, "Gateway Timeout").with_detail("no answer in time");
    full.instance = Some("/api/users/1".into());
    full.request_id = Some("req-1".into());
    full.route_id = Some("users-get".into());
    out.push(("problem-full.json".into(), full.to_json()));
    out
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn this_version() -> ApiVersion {
    ApiVersion::parse(env!("CARGO_PKG_VERSION")).expect("the crate has a plain version")
}

#[test]
fn the_previous_minor_is_of_this_major() {
    let previous = ApiVersion::parse(previous_minor::VERSION).unwrap();
    let this = this_version();
    assert_eq!(
        previous.major, this.major,
        "a major release: replace compat/previous_minor.rs with this version's definitions"
    );
    assert!(previous <= this);
}

#[test]
fn what_this_version_writes_the_previous_minor_reads() {
    for (name, text) in samples() {
        if name.starts_with("health-") {
            let old: previous_minor::HealthReport = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: the previous minor cannot read {text}: {e}"));
            let new = HealthReport::from_json(&text).unwrap();
            assert_eq!(old.status as u8, new.status as u8, "{name}");
            assert_eq!(old.checks.len(), new.checks.len(), "{name}");
            assert_eq!(old.version, new.version.map(|v| v.to_string()), "{name}");
        } else {
            let old: previous_minor::Problem = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: the previous minor cannot read {text}: {e}"));
            let new = Problem::from_json(&text).unwrap();
            assert_eq!(
                (old.status, old.title, old.detail, old.request_id),
                (new.status, new.title, new.detail, new.request_id),
                "{name}"
            );
        }
    }
}

#[test]
fn what_a_later_minor_may_add_this_version_and_the_previous_read() {
    // A minor release may add optional fields anywhere; readers skip them.
    let report = r#"{"status": "degraded", "service": "orders", "version": "1.7.0",
        "uptime_s": 4210, "checks": {"store": {"status": "healthy", "observed_ms": 3,
        "links": ["https://status.example.com"]}}, "detail": "slow", "region": {"id": "weur"}}"#;
    let new = HealthReport::from_json(report).unwrap();
    assert_eq!(new.status, HealthStatus::Degraded);
    assert_eq!(new.checks["store"].status, HealthStatus::Healthy);
    let old: previous_minor::HealthReport = serde_json::from_str(report).unwrap();
    assert_eq!(old.status, previous_minor::HealthStatus::Degraded);

    let problem = r#"{"type": "about:blank", "status": 422, "title": "Unprocessable Content",
        "detail": "bad fields", "errors": [{"field": "email", "problem": "missing @"}],
        "retry_after_s": null}"#;
    assert_eq!(Problem::from_json(problem).unwrap().status, 422);
    let old: previous_minor::Problem = serde_json::from_str(problem).unwrap();
    assert_eq!(old.title, "Unprocessable Content");
}

#[test]
fn what_a_major_change_would_be_is_refused_by_the_previous_minor() {
    // The guard works: a new status word, a removed required field and a retyped one are
    // exactly what the previous minor cannot read.
    for breaking in [
        r#"{"status": "maintenance"}"#,
        r#"{"service": "orders"}"#,
        r#"{"status": "healthy", "checks": ["store"]}"#,
    ] {
        assert!(
            serde_json::from_str::<previous_minor::HealthReport>(breaking).is_err(),
            "{breaking}"
        );
    }
    for breaking in [
        r#"{"status": 404}"#,
        r#"{"status": "404", "title": "Not Found"}"#,
    ] {
        assert!(
            serde_json::from_str::<previous_minor::Problem>(breaking).is_err(),
            "{breaking}"
        );
    }
}

#[test]
fn samples_of_every_release_of_this_major_still_read() {
    let this = this_version();
    let mut releases = 0;
    for dir in std::fs::read_dir(fixtures()).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let release = ApiVersion::parse(&name).unwrap_or_else(|e| panic!("fixtures/{name}: {e}"));
        if release.major != this.major {
            continue;
        }
        releases += 1;
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let file = path.file_name().unwrap().to_string_lossy();
            let read = if file.starts_with("health-") {
                HealthReport::from_json(&text).map(drop)
            } else {
                Problem::from_json(&text).map(drop)
            };
            assert!(read.is_ok(), "{name}/{file}: {read:?}");
        }
    }
    assert!(releases > 0, "no fixtures of major {}", this.major);
}

#[test]
fn this_release_has_its_samples_committed() {
    let dir = fixtures().join(env!("CARGO_PKG_VERSION"));
    let update = std::env::var_os("UPDATE_CONTRACT_FIXTURES").is_some();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, text) in samples() {
        let path = dir.join(&name);
        if update {
            std::fs::write(&path, format!("{text}\n")).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run UPDATE_CONTRACT_FIXTURES=1 cargo test -p contracts --test compat",
                path.display()
            )
        });
        assert_eq!(
            committed.trim_end(),
            text,
            "{name}: this release writes something else than its committed sample; a change \
             of what is written needs a new release (and its own fixtures directory)"
        );
    }
}
