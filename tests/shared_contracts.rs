//! The gateway reads and writes the shared contracts with the services' own code: probes
//! classify `contracts::HealthReport` bodies, and every problem answer is a
//! `contracts::Problem`.

use contracts::{ApiVersion, Check, HealthReport, HealthStatus, Problem};
use gateway::health::{body_reports_degraded, classify, Probe, Status};
use gateway::problem::{Answer, GatewayError, PROBLEM_JSON};

fn probe(report: &HealthReport) -> Status {
    let probe = Probe::Responded {
        http_status: report.status.http_status(),
        latency_ms: 5,
        body_degraded: body_reports_degraded(&report.to_json()),
    };
    classify(&probe, 1000).status
}

#[test]
fn probes_classify_the_reports_services_write() {
    for (status, want) in [
        (HealthStatus::Healthy, Status::Healthy),
        (HealthStatus::Degraded, Status::Degraded),
        (HealthStatus::Unhealthy, Status::Unhealthy),
    ] {
        let mut report = HealthReport::new(status);
        assert_eq!(probe(&report), want, "{status}");
        report.service = Some("orders".into());
        report.version = Some(ApiVersion::new(1, 2, 0));
        report.checks.insert(
            "store".into(),
            Check {
                status,
                detail: None,
            },
        );
        assert_eq!(probe(&report), want, "{status}, every field set");
    }
}

#[test]
fn every_problem_answer_is_a_contract_problem() {
    assert_eq!(PROBLEM_JSON, contracts::problem::MEDIA_TYPE);
    for error in [
        GatewayError::NoRoute,
        GatewayError::MethodNotAllowed,
        GatewayError::OriginTimeout,
        GatewayError::OriginFailure,
        GatewayError::UpstreamUnavailable,
        GatewayError::Internal,
    ] {
        let answer = Answer::problem(error, "req-1").on(Some("users-get"), Some("v1"));
        let body = answer.body().expect("a problem answer has a body");
        let mut want = Problem::new(error.status(), error.title()).with_detail(error.detail());
        want.request_id = Some("req-1".into());
        want.route_id = Some("users-get".into());
        assert_eq!(body, want, "{error:?}");
        assert_eq!(Problem::from_json(&body.to_json()).unwrap(), want);
    }
    assert_eq!(Answer::empty(204, "req-2").body(), None);
}

#[test]
fn the_gateway_uses_the_shared_header_names() {
    use contracts::headers;
    assert_eq!(gateway::headers::REQUEST_ID, headers::REQUEST_ID);
    assert_eq!(gateway::headers::ROUTE_VERSION, headers::ROUTE_VERSION);
    assert_eq!(gateway::policy::jwt::CONSUMER_HEADER, headers::CONSUMER);
}
