//! The admin API's write endpoints — `POST /__gateway/rollback`, `/promote` and `/abort`, used
//! by the console — before and after their I/O: the JSON bodies they take, the checks that
//! refuse a request (each a problem with its own status: 400 a bad body, 404 a version that is
//! not there, 409 a state that does not allow it, 422 a document that does not validate), and
//! the transition to carry out ([`crate::rollout::transition`], shared with `gatewayctl`).
//!
//! Repeating a request is harmless: a rollback to the stable version, or a promote or abort
//! without a canary, is refused with 409 and changes nothing. The optional `from` (rollback)
//! and `candidate` (promote, abort) make a request apply only to the release the operator saw.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::query::is_version_id;
use crate::problem::Answer;
use crate::rollout::release::Release;
use crate::rollout::transition::{self, Transition};
use crate::table::{version_key, RouteDocument, RouteTable};

/// The author of the activations the write endpoints record.
pub const CONSOLE_AUTHOR: &str = "console";
/// The largest body a write endpoint reads, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest `note`, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// The body of `POST /__gateway/rollback` (all optional; an empty body is `{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The version to make stable; without it, the one the stable version replaced (as
    /// `gatewayctl rollback` does — send `to` to make a repeated request harmless).
    pub to: Option<String>,
    /// Refuse (409) unless this is the stable version.
    pub from: Option<String>,
    /// Why, added to the recorded reason.
    pub note: Option<String>,
}

/// The body of `POST /__gateway/promote` and `/abort` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryBody {
    /// Refuse (409) unless this is the canary's candidate.
    pub candidate: Option<String>,
    /// Why, added to the recorded reason.
    pub note: Option<String>,
}

/// Why a write request changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the body is not one the endpoint takes.
    BadBody(String),
    /// 404: the version was never published, or its document is gone from KV.
    NotFound(String),
    /// 409: the release in force does not allow it (already active, no canary, …).
    Conflict(String),
    /// 422: the version's document does not validate for this environment.
    Invalid(String),
}

impl Refusal {
    /// 400 for a body over [`MAX_BODY_BYTES`].
    pub fn too_large() -> Self {
        Self::BadBody(format!("The body is larger than {MAX_BODY_BYTES} bytes."))
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadBody(_) => 400,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Invalid(_) => 422,
        }
    }

    /// The problem's title.
    pub fn title(&self) -> &'static str {
        match self {
            Self::BadBody(_) => "Bad Request",
            Self::NotFound(_) => "Not Found",
            Self::Conflict(_) => "Conflict",
            Self::Invalid(_) => "Unprocessable Content",
        }
    }

    /// What the problem's detail says.
    pub fn detail(&self) -> &str {
        match self {
            Self::BadBody(d) | Self::NotFound(d) | Self::Conflict(d) | Self::Invalid(d) => d,
        }
    }

    /// The problem answer (`application/problem+json`), the detail saying what and why.
    pub fn answer(&self, request_id: &str) -> Answer {
        Answer {
            title: Some(self.title()),
            detail: Some(Cow::Owned(self.detail().to_owned())),
            ..Answer::empty(self.status(), request_id)
        }
    }
}

/// A write endpoint's JSON body: its fields (serde refuses any other), then their checks.
pub trait Body: DeserializeOwned + Default {
    /// Checks the fields serde cannot: version ids that could be ones, the note's length.
    fn check(&self) -> Result<(), Refusal>;
}

impl Body for RollbackBody {
    fn check(&self) -> Result<(), Refusal> {
        check_version("to", self.to.as_deref())?;
        check_version("from", self.from.as_deref())?;
        check_note(self.note.as_deref())
    }
}

impl Body for CanaryBody {
    fn check(&self) -> Result<(), Refusal> {
        check_version("candidate", self.candidate.as_deref())?;
        check_note(self.note.as_deref())
    }
}

fn check_version(field: &str, value: Option<&str>) -> Result<(), Refusal> {
    match value {
        Some(v) if !is_version_id(v) => {
            Err(Refusal::BadBody(format!("`{field}` is not a version id.")))
        }
        _ => Ok(()),
    }
}

fn check_note(note: Option<&str>) -> Result<(), Refusal> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(Refusal::BadBody(format!(
            "`note` may have at most {MAX_NOTE_CHARS} characters."
        ))),
        _ => Ok(()),
    }
}

/// Parses a write endpoint's body: at most [`MAX_BODY_BYTES`]; empty means every field
/// absent; otherwise a JSON object with only the endpoint's fields, checked.
pub fn parse_body<T: Body>(text: &str) -> Result<T, Refusal> {
    if text.len() > MAX_BODY_BYTES {
        return Err(Refusal::too_large());
    }
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    let body: T = serde_json::from_str(text)
        .map_err(|e| Refusal::BadBody(format!("The body is not one this endpoint takes: {e}.")))?;
    body.check()?;
    Ok(body)
}

/// The version a rollback goes to: `to`, else `replaced` (what the latest activation that set
/// the stable version replaced; the caller reads it from D1 only when `to` is absent).
/// Refused when it is already stable, when there is none, or when `from` is not the stable.
pub fn rollback_target(
    current: Option<&Release>,
    body: &RollbackBody,
    replaced: Option<&str>,
) -> Result<String, Refusal> {
    let stable = current.map(|r| r.stable.as_str());
    let target = body.to.as_deref().or(replaced).ok_or_else(|| {
        Refusal::Conflict(
            "There is no previous version to roll back to; name one with `to`.".into(),
        )
    })?;
    if stable == Some(target) {
        return Err(Refusal::Conflict(format!("{target} is already active.")));
    }
    match (&body.from, stable) {
        (Some(from), Some(stable)) if from != stable => Err(Refusal::Conflict(format!(
            "The active version is {stable}, not {from}: nothing was changed."
        ))),
        (Some(_), None) => Err(Refusal::Conflict("Nothing is published yet.".into())),
        _ => Ok(target.to_owned()),
    }
}

/// The rollback to `target` (checked by [`rollback_target`] and [`check_document`]).
pub fn rollback(current: Option<&Release>, target: &str, body: &RollbackBody) -> Transition {
    let note = body.note.as_deref().unwrap_or("");
    transition::rollback(current, target, body.to.is_some(), note)
}

/// The canary's candidate made stable. Refused when nothing is published, no canary runs,
/// or `candidate` names another version; the caller then checks the candidate's document.
pub fn promote(current: Option<&Release>, body: &CanaryBody) -> Result<Transition, Refusal> {
    let current = running(current, body)?;
    let note = body.note.as_deref().unwrap_or("");
    Ok(transition::promote(current, note).expect("a canary runs"))
}

/// The canary dropped. Refused as [`promote`] is.
pub fn abort(current: Option<&Release>, body: &CanaryBody) -> Result<Transition, Refusal> {
    let current = running(current, body)?;
    let note = body.note.as_deref().unwrap_or("");
    Ok(transition::abort(current, note).expect("a canary runs"))
}

/// The release in force, if a canary runs (of `candidate`, when the body names one).
fn running<'a>(current: Option<&'a Release>, body: &CanaryBody) -> Result<&'a Release, Refusal> {
    let current = current.ok_or_else(|| Refusal::Conflict("Nothing is published yet.".into()))?;
    let Some(candidate) = &current.candidate else {
        return Err(Refusal::Conflict(format!(
            "No canary runs: {} serves every request.",
            current.stable
        )));
    };
    match body.candidate.as_deref() {
        Some(named) if named != candidate.version => Err(Refusal::Conflict(format!(
            "The canary's candidate is {}, not {named}: nothing was changed.",
            candidate.version
        ))),
        _ => Ok(current),
    }
}

/// 404 for a rollback target that D1 has no record of.
pub fn never_published(version: &str, environment: &str) -> Refusal {
    Refusal::NotFound(format!(
        "Version {version} was never published to {environment} (see /__gateway/versions)."
    ))
}

/// Checks `version`'s document (`text`, as read from KV) as the worker would load it: present
/// (404), a route document of this version and `environment` that validates (422).
pub fn check_document(
    version: &str,
    environment: &str,
    text: Option<&str>,
) -> Result<(RouteDocument, RouteTable), Refusal> {
    let key = version_key(version);
    let text = text.ok_or_else(|| {
        Refusal::NotFound(format!("Version {version} has no document in KV ({key})."))
    })?;
    let doc = RouteDocument::from_json(text)
        .map_err(|e| Refusal::Invalid(format!("{key} is not a route document: {e}.")))?;
    if doc.version != version || doc.environment != environment {
        return Err(Refusal::Invalid(format!(
            "The KV document for {version} says it is {} for {}, not for {environment}.",
            doc.version, doc.environment
        )));
    }
    let table = RouteTable::try_from(doc.clone())
        .map_err(|e| Refusal::Invalid(format!("Version {version} does not validate: {e}")))?;
    Ok((doc, table))
}
