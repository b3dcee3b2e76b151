//! The admin API's write endpoints — rollback, promote, abort — before and after their I/O:
//! bodies, refusals (status and detail), the transitions and the rows they record (the same as
//! `gatewayctl`'s), and the release views they answer with.

mod common;

use gateway::admin::actions::{
    abort, check_document, never_published, parse_body, promote, rollback, rollback_target,
    CanaryBody, Refusal, RollbackBody, CONSOLE_AUTHOR,
};
use gateway::admin::release::{ActionReport, Recorded, ReleaseReport, ReleaseView};
use gateway::history::{Action, NewActivation};
use gateway::rollout::canary::Judge;
use gateway::rollout::release::{Candidate, Effective, Release};
use gateway::rollout::sticky::Sticky;
use gateway::rollout::transition::{self, Row};
use serde_json::json;

fn canary_release(shadow: Option<&str>) -> Release {
    Release {
        stable: "V1".into(),
        candidate: Some(Candidate {
            version: "V2".into(),
            percent: 10.0,
            sticky: Sticky::Header("x-user".into()),
            steps: vec![10.0, 50.0, 100.0],
            interval_ms: 600_000,
            step_started_ms: 2_000,
            started_ms: 1_000,
            judge: Judge::default(),
        }),
        shadow: shadow.map(Into::into),
    }
}

fn conflict(detail: &str) -> Refusal {
    Refusal::Conflict(detail.into())
}

#[test]
fn bodies() {
    let rollback = |to: Option<&str>, from: Option<&str>, note: Option<&str>| RollbackBody {
        to: to.map(Into::into),
        from: from.map(Into::into),
        note: note.map(Into::into),
    };
    fn bad<T>(detail: &str) -> Result<T, Refusal> {
        Err(Refusal::BadBody(detail.into()))
    }
    for (text, want) in [
        ("", Ok(rollback(None, None, None))),
        ("  \n", Ok(rollback(None, None, None))),
        ("{}", Ok(rollback(None, None, None))),
        (r#"{"to":"V1"}"#, Ok(rollback(Some("V1"), None, None))),
        (
            r#"{"to":"V1","from":"V2","note":"bad deploy"}"#,
            Ok(rollback(Some("V1"), Some("V2"), Some("bad deploy"))),
        ),
        (r#"{"to":null}"#, Ok(rollback(None, None, None))),
        (
            r#"{"version":"V1"}"#,
            bad("The body is not one this endpoint takes: unknown field `version`, expected one of `to`, `from`, `note` at line 1 column 10."),
        ),
        (
            r#"{"to":1}"#,
            bad("The body is not one this endpoint takes: invalid type: integer `1`, expected a string at line 1 column 7."),
        ),
        ("to=V1", bad("The body is not one this endpoint takes: expected ident at line 1 column 2.")),
        (r#"{"to":"V 1"}"#, bad("`to` is not a version id.")),
        (r#"{"from":""}"#, bad("`from` is not a version id.")),
    ] {
        assert_eq!(parse_body::<RollbackBody>(text), want, "{text}");
    }
    let long = format!(r#"{{"note":"{}"}}"#, "é".repeat(501));
    assert_eq!(
        parse_body::<CanaryBody>(&long),
        bad("`note` may have at most 500 characters.")
    );
    let fine = format!(r#"{{"note":"{}"}}"#, "é".repeat(500));
    assert!(parse_body::<CanaryBody>(&fine).is_ok());
    let huge = format!(r#"{{"note":"{}"}}"#, "x".repeat(20_000));
    assert_eq!(
        parse_body::<CanaryBody>(&huge),
        bad("The body is larger than 16384 bytes.")
    );
    assert_eq!(
        parse_body::<CanaryBody>(r#"{"candidate":"V2","note":"ok"}"#),
        Ok(CanaryBody {
            candidate: Some("V2".into()),
            note: Some("ok".into())
        })
    );
    assert_eq!(
        parse_body::<CanaryBody>(r#"{"to":"V2"}"#),
        bad("The body is not one this endpoint takes: unknown field `to`, expected `candidate` or `note` at line 1 column 5.")
    );
}

#[test]
fn rollback_targets() {
    let stable = Release::stable_only("V3");
    let body = |to: Option<&str>, from: Option<&str>| RollbackBody {
        to: to.map(Into::into),
        from: from.map(Into::into),
        note: None,
    };
    type Case<'a> = (
        Option<&'a Release>,
        RollbackBody,
        Option<&'a str>,
        Result<String, Refusal>,
    );
    let cases: Vec<Case> = vec![
        // Named, or the version the stable replaced.
        (
            Some(&stable),
            body(Some("V1"), None),
            Some("V2"),
            Ok("V1".into()),
        ),
        (Some(&stable), body(None, None), Some("V2"), Ok("V2".into())),
        (None, body(Some("V1"), None), None, Ok("V1".into())),
        // Idempotent: the stable version again is a conflict.
        (
            Some(&stable),
            body(Some("V3"), None),
            None,
            Err(conflict("V3 is already active.")),
        ),
        (
            Some(&stable),
            body(None, None),
            Some("V3"),
            Err(conflict("V3 is already active.")),
        ),
        (
            Some(&stable),
            body(None, None),
            None,
            Err(conflict(
                "There is no previous version to roll back to; name one with `to`.",
            )),
        ),
        // `from`: only from the release the operator saw.
        (
            Some(&stable),
            body(Some("V1"), Some("V3")),
            None,
            Ok("V1".into()),
        ),
        (
            Some(&stable),
            body(None, Some("V4")),
            Some("V2"),
            Err(conflict(
                "The active version is V3, not V4: nothing was changed.",
            )),
        ),
        // A repeated default rollback (V4 → V3 done; V3 replaced V4) with `from` is refused.
        (
            Some(&stable),
            body(None, Some("V4")),
            Some("V4"),
            Err(conflict(
                "The active version is V3, not V4: nothing was changed.",
            )),
        ),
        (
            None,
            body(Some("V1"), Some("V3")),
            None,
            Err(conflict("Nothing is published yet.")),
        ),
    ];
    for (current, body, replaced, want) in cases {
        assert_eq!(
            rollback_target(current, &body, replaced),
            want,
            "{body:?} replaced {replaced:?}"
        );
    }
}

#[test]
fn promote_and_abort_need_a_running_canary() {
    let running = canary_release(None);
    let plain = Release::stable_only("V1");
    let named = |c: &str| CanaryBody {
        candidate: Some(c.into()),
        note: None,
    };
    type Decide = fn(Option<&Release>, &CanaryBody) -> Result<transition::Transition, Refusal>;
    let actions: [(Decide, Action); 2] = [(promote, Action::Promote), (abort, Action::Abort)];
    for (decide, action) in actions {
        let refused =
            |current: Option<&Release>, body: &CanaryBody| decide(current, body).map(|t| t.action);
        assert_eq!(refused(Some(&running), &CanaryBody::default()), Ok(action));
        assert_eq!(refused(Some(&running), &named("V2")), Ok(action));
        assert_eq!(
            refused(Some(&plain), &CanaryBody::default()),
            Err(conflict("No canary runs: V1 serves every request.")),
            "{action:?}"
        );
        assert_eq!(
            refused(None, &CanaryBody::default()),
            Err(conflict("Nothing is published yet."))
        );
        assert_eq!(
            refused(Some(&running), &named("V9")),
            Err(conflict(
                "The canary's candidate is V2, not V9: nothing was changed."
            ))
        );
    }
}

#[test]
fn transitions_write_and_record_what_gatewayctl_does() {
    let row = |version: &str, previous: Option<&str>, action, reason: &str| Row {
        version: version.into(),
        previous: previous.map(Into::into),
        action,
        reason: reason.into(),
    };
    // A rollback by name during a canary and a shadow ends both, and records all three.
    let current = canary_release(Some("V3"));
    let body = RollbackBody {
        to: Some("V0".into()),
        from: None,
        note: Some("bad deploy".into()),
    };
    let plan = rollback(Some(&current), "V0", &body);
    assert_eq!(plan.next, Release::stable_only("V0"));
    assert!(plan.sets_active);
    assert_eq!(
        plan.rows,
        [
            row(
                "V1",
                Some("V2"),
                Action::Abort,
                "rolling back to V0 ended it"
            ),
            row(
                "V0",
                Some("V3"),
                Action::ShadowEnd,
                "rolling back to V0 ended it"
            ),
            row(
                "V0",
                Some("V1"),
                Action::Rollback,
                "rolled back to V0 by name — bad deploy"
            ),
        ]
    );
    // Without `to`: "the version before" the stable one; nothing published: plain.
    let default = transition::rollback(Some(&Release::stable_only("V5")), "V4", false, "");
    assert_eq!(
        default.rows,
        [row(
            "V4",
            Some("V5"),
            Action::Rollback,
            "rolled back to the version before V5"
        )]
    );
    let first = transition::rollback(None, "V4", false, "");
    assert_eq!(
        first.rows,
        [row("V4", None, Action::Rollback, "rolled back")]
    );

    // Promote: routes/active = the candidate, the shadow stays.
    let current = canary_release(Some("V3"));
    let promote = promote(Some(&current), &CanaryBody::default()).unwrap();
    assert_eq!(
        (promote.next.clone(), promote.sets_active),
        (
            Release {
                stable: "V2".into(),
                candidate: None,
                shadow: Some("V3".into())
            },
            true
        )
    );
    assert_eq!(
        promote.rows,
        [row(
            "V2",
            Some("V1"),
            Action::Promote,
            "promoted by hand at 10%"
        )]
    );
    // Abort: routes/release only; traffic moves from the candidate back to stable.
    let body = CanaryBody {
        candidate: None,
        note: Some("errors".into()),
    };
    let abort = abort(Some(&current), &body).unwrap();
    assert_eq!(
        (abort.next.candidate.is_none(), abort.sets_active),
        (true, false)
    );
    assert_eq!(
        abort.rows,
        [row(
            "V1",
            Some("V2"),
            Action::Abort,
            "aborted by hand at 10% — errors"
        )]
    );

    // The rows become activations with the console's name and one time.
    let at = "2026-11-23T02:00:00.000Z";
    assert_eq!(
        abort.activations("local", CONSOLE_AUTHOR, at),
        [NewActivation {
            environment: "local",
            version: "V1",
            previous: Some("V2"),
            action: Action::Abort,
            author: "console",
            activated_at: at,
            reason: "aborted by hand at 10% — errors",
        }]
    );
}

#[test]
fn a_target_must_be_published_present_and_valid_here() {
    let mut doc = common::doc(
        r#"
[[routes]]
id = "users"
path = "/users/{id}"
upstream = "users"
"#,
    );
    doc.version = "V1".into();
    let text = doc.to_json();
    let (checked, table) = check_document("V1", "local", Some(&text)).unwrap();
    assert_eq!((checked.version.as_str(), table.routes().len()), ("V1", 1));

    let mut other_env = doc.clone();
    other_env.environment = "production".into();
    let mut invalid = doc.clone();
    invalid.routes[0].upstream = "nowhere".into();
    let cases = [
        (
            None,
            Refusal::NotFound("Version V1 has no document in KV (routes/versions/V1).".into()),
        ),
        (
            Some("{".to_owned()),
            Refusal::Invalid(
                "routes/versions/V1 is not a route document: EOF while parsing an object at line 1 column 1."
                    .into(),
            ),
        ),
        (
            Some(other_env.to_json()),
            Refusal::Invalid(
                "The KV document for V1 says it is V1 for production, not for local.".into(),
            ),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            check_document("V1", "local", text.as_deref()).map(drop),
            Err(want)
        );
    }
    let refused = check_document("V1", "local", Some(&invalid.to_json())).map(drop);
    let Err(Refusal::Invalid(detail)) = refused else {
        panic!("{refused:?}");
    };
    assert!(
        detail.starts_with("Version V1 does not validate: ") && detail.contains("nowhere"),
        "{detail}"
    );
    assert_eq!(
        check_document("V2", "local", Some(&text)).map(drop),
        Err(Refusal::Invalid(
            "The KV document for V2 says it is V1 for local, not for local.".into()
        ))
    );
    assert_eq!(
        never_published("V9", "local").status(),
        404,
        "a version D1 never recorded"
    );
}

#[test]
fn refusals_are_problems_with_their_status_and_detail() {
    for (refusal, status, title) in [
        (Refusal::BadBody("b".into()), 400, "Bad Request"),
        (Refusal::NotFound("n".into()), 404, "Not Found"),
        (conflict("V1 is already active."), 409, "Conflict"),
        (Refusal::Invalid("i".into()), 422, "Unprocessable Content"),
    ] {
        let answer = refusal.answer("req-7");
        assert_eq!(
            (answer.status, answer.title, answer.detail.as_deref()),
            (status, Some(title), Some(refusal.detail()))
        );
        let json: serde_json::Value = serde_json::from_str(&answer.to_json()).unwrap();
        assert_eq!(json["request_id"], "req-7");
        assert_eq!(json["detail"], refusal.detail());
    }
}

#[test]
fn release_views() {
    let current = canary_release(Some("V3"));
    let effective = Effective {
        release: current.clone(),
        ignored: None,
    };
    let report = ReleaseReport::new("local", Some(&effective));
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        json!({
            "environment": "local",
            "ignored": null,
            "release": {
                "stable": "V1",
                "shadow": "V3",
                "candidate": {
                    "version": "V2", "percent": 10.0, "sticky": "header:x-user",
                    "steps": [10.0, 50.0, 100.0], "next_step": 50.0, "interval_ms": 600000,
                    "step_started_ms": 2000, "started_ms": 1000,
                    "judge": {"min_requests": 100, "max_error_rate_increase": 1.0,
                              "max_p95_ratio": 1.5, "min_p95_increase_ms": 50.0}
                }
            }
        })
    );
    let stale = Effective {
        release: Release::stable_only("V0"),
        ignored: Some("routes/release ignored: stale".into()),
    };
    assert_eq!(
        serde_json::to_value(ReleaseReport::new("local", Some(&stale))).unwrap(),
        json!({"environment": "local", "ignored": "routes/release ignored: stale",
               "release": {"stable": "V0", "candidate": null, "shadow": null}})
    );
    assert_eq!(
        serde_json::to_value(ReleaseReport::new("local", None)).unwrap(),
        json!({"environment": "local", "release": null, "ignored": null})
    );

    let plan = promote(Some(&current), &CanaryBody::default()).unwrap();
    let at = "2026-11-23T02:00:00.000Z";
    let activations = plan.activations("local", CONSOLE_AUTHOR, at);
    let answer = ActionReport {
        action: plan.action.as_str(),
        environment: "local",
        active_version: &plan.next.stable,
        release: ReleaseView::from(&plan.next),
        activations: activations.iter().map(Recorded::from).collect(),
    };
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({
            "action": "promote", "environment": "local", "active_version": "V2",
            "release": {"stable": "V2", "candidate": null, "shadow": "V3"},
            "activations": [{"version": "V2", "previous": "V1", "action": "promote",
                "author": "console", "activated_at": at, "reason": "promoted by hand at 10%"}]
        })
    );
}
