//! Route table refresh decisions: only an isolate's first requests wait on KV.

use gateway::reload::{Reload, ReloadState, REFRESH_STUCK_MS};

#[test]
fn decisions() {
    let fresh = ReloadState {
        checked_at_ms: Some(1_000.0),
        refreshing_since_ms: None,
    };
    let refreshing = ReloadState {
        checked_at_ms: Some(1_000.0),
        refreshing_since_ms: Some(7_000.0),
    };
    let cases = [
        (
            "no table yet",
            ReloadState::default(),
            false,
            0.0,
            Reload::LoadNow,
        ),
        (
            "no table, even if just checked",
            fresh.clone(),
            false,
            1_001.0,
            Reload::LoadNow,
        ),
        (
            "within the interval",
            fresh.clone(),
            true,
            5_999.0,
            Reload::Serve,
        ),
        (
            "interval passed",
            fresh.clone(),
            true,
            6_000.0,
            Reload::ServeAndRefresh,
        ),
        (
            "never checked",
            ReloadState::default(),
            true,
            0.0,
            Reload::ServeAndRefresh,
        ),
        (
            "refresh under way",
            refreshing.clone(),
            true,
            8_000.0,
            Reload::Serve,
        ),
        (
            "refresh lost",
            refreshing,
            true,
            7_000.0 + REFRESH_STUCK_MS,
            Reload::ServeAndRefresh,
        ),
    ];
    for (name, state, has_table, now, want) in cases {
        assert_eq!(state.decide(has_table, now, 5_000.0), want, "{name}");
    }
}

#[test]
fn one_refresh_at_a_time() {
    let mut state = ReloadState {
        checked_at_ms: Some(0.0),
        refreshing_since_ms: None,
    };
    assert_eq!(
        state.decide(true, 10_000.0, 5_000.0),
        Reload::ServeAndRefresh
    );
    state.refresh_started(10_000.0);
    assert_eq!(state.decide(true, 10_001.0, 5_000.0), Reload::Serve);
    state.checked(10_050.0);
    assert_eq!(state.decide(true, 15_049.0, 5_000.0), Reload::Serve);
    assert_eq!(
        state.decide(true, 15_050.0, 5_000.0),
        Reload::ServeAndRefresh
    );
}
