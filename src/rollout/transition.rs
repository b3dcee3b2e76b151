//! Transitions an operator makes by hand — roll back to an earlier version, promote or abort a
//! canary — as decisions: the release document to write, whether `routes/active` changes, and
//! the activations to record with their reasons. `gatewayctl` and the admin API carry out the
//! same decisions, so the history reads alike whichever made them.

use super::canary::percent;
use super::release::Release;
use crate::history::{Action, NewActivation};

/// A transition to carry out: write `routes/active` (when [`Transition::sets_active`]) and then
/// `routes/release` = [`Transition::next`], then record [`Transition::rows`].
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// What the operator asked for: [`Action::Rollback`], [`Action::Promote`] or
    /// [`Action::Abort`].
    pub action: Action,
    /// The release afterwards.
    pub next: Release,
    /// Whether the stable version changes (`routes/active` is written first).
    pub sets_active: bool,
    /// The activations to record, in order (a rollback also ends a canary and a shadow).
    pub rows: Vec<Row>,
}

/// One activation of a [`Transition`], before its environment, author and time are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// See [`Action`] for what `previous → version` names.
    pub version: String,
    /// See [`Action`].
    pub previous: Option<String>,
    /// What happened.
    pub action: Action,
    /// Why.
    pub reason: String,
}

impl Transition {
    /// The rows as activations of `environment`, by `author`, at `at` (RFC 3339 UTC).
    pub fn activations<'a>(
        &'a self,
        environment: &'a str,
        author: &'a str,
        at: &'a str,
    ) -> Vec<NewActivation<'a>> {
        self.rows
            .iter()
            .map(|row| NewActivation {
                environment,
                version: &row.version,
                previous: row.previous.as_deref(),
                action: row.action,
                author,
                activated_at: at,
                reason: &row.reason,
            })
            .collect()
    }
}

/// `target` made stable again, from `current` (`None`: nothing was published). A running
/// canary is aborted and a shadow ended; `by_name` says the operator named the version rather
/// than taking the one the stable replaced. The caller checks that `target` is not the stable
/// version and that its document is present and valid.
pub fn rollback(current: Option<&Release>, target: &str, by_name: bool, note: &str) -> Transition {
    let stable = current.map(|r| r.stable.as_str());
    let reason = with_note(
        &match (by_name, stable) {
            (true, _) => format!("rolled back to {target} by name"),
            (false, Some(s)) => format!("rolled back to the version before {s}"),
            (false, None) => "rolled back".to_owned(),
        },
        note,
    );
    let ended = format!("rolling back to {target} ended it");
    let mut rows = Vec::new();
    if let (Some(c), Some(s)) = (current.and_then(|r| r.candidate.as_ref()), stable) {
        rows.push(Row {
            version: s.to_owned(),
            previous: Some(c.version.clone()),
            action: Action::Abort,
            reason: ended.clone(),
        });
    }
    if let Some(shadow) = current.and_then(|r| r.shadow.as_deref()) {
        rows.push(Row {
            version: target.to_owned(),
            previous: Some(shadow.to_owned()),
            action: Action::ShadowEnd,
            reason: ended,
        });
    }
    rows.push(Row {
        version: target.to_owned(),
        previous: stable.map(str::to_owned),
        action: Action::Rollback,
        reason,
    });
    Transition {
        action: Action::Rollback,
        next: Release::stable_only(target),
        sets_active: true,
        rows,
    }
}

/// The canary's candidate made stable; `None` when no canary runs. The caller checks that the
/// candidate's document is present and valid.
pub fn promote(current: &Release, note: &str) -> Option<Transition> {
    let candidate = current.candidate.as_ref()?;
    let reason = format!("promoted by hand at {}", percent(candidate.percent));
    Some(Transition {
        action: Action::Promote,
        next: current.promoted()?,
        sets_active: true,
        rows: vec![Row {
            version: candidate.version.clone(),
            previous: Some(current.stable.clone()),
            action: Action::Promote,
            reason: with_note(&reason, note),
        }],
    })
}

/// The canary dropped (only `routes/release` changes); `None` when no canary runs.
pub fn abort(current: &Release, note: &str) -> Option<Transition> {
    let candidate = current.candidate.as_ref()?;
    let reason = format!("aborted by hand at {}", percent(candidate.percent));
    Some(Transition {
        action: Action::Abort,
        next: current.aborted(),
        sets_active: false,
        rows: vec![Row {
            version: current.stable.clone(),
            previous: Some(candidate.version.clone()),
            action: Action::Abort,
            reason: with_note(&reason, note),
        }],
    })
}

/// A transition's reason with the operator's note, if one was given.
pub fn with_note(reason: &str, note: &str) -> String {
    if note.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason} — {note}")
    }
}
