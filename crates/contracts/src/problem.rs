//! The `application/problem+json` body (RFC 9457) that the gateway and the services answer
//! errors with.

use serde::{Deserialize, Serialize};

/// The media type of a [`Problem`].
pub const MEDIA_TYPE: &str = "application/problem+json";
/// The `type` of a problem that needs no more explanation than its status.
pub const ABOUT_BLANK: &str = "about:blank";

/// An error body. The gateway adds the request id and, when a route matched, its id, so a
/// client can quote them; a service may too.
///
/// ```json
/// {"type": "about:blank", "status": 504, "title": "Gateway Timeout",
///  "detail": "The upstream did not respond in time. …", "request_id": "…", "route_id": "users-get"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type", default = "about_blank")]
    #[cfg_attr(feature = "openapi", schema(example = "about:blank"))]
    pub kind: String,
    /// The HTTP status.
    pub status: u16,
    /// A short, stable summary of the kind of problem.
    pub title: String,
    /// What happened this time, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A URI naming this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id ([`REQUEST_ID`](crate::headers::REQUEST_ID)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The gateway route that matched, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_id: Option<String>,
}

fn about_blank() -> String {
    ABOUT_BLANK.to_owned()
}

impl Problem {
    /// An `about:blank` problem with `status` and `title`.
    pub fn new(status: u16, title: impl Into<String>) -> Self {
        Self {
            kind: about_blank(),
            status,
            title: title.into(),
            detail: None,
            instance: None,
            request_id: None,
            route_id: None,
        }
    }

    /// With `detail`.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The body as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a problem always serialises")
    }

    /// Parses a body.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults_the_type() {
        let p = Problem::new(404, "Not Found").with_detail("user 7 does not exist");
        let text = p.to_json();
        assert_eq!(
            text,
            r#"{"type":"about:blank","status":404,"title":"Not Found","detail":"user 7 does not exist"}"#
        );
        assert_eq!(Problem::from_json(&text).unwrap(), p);
        let bare = Problem::from_json(r#"{"status": 500, "title": "Internal Server Error"}"#);
        assert_eq!(bare.unwrap().kind, ABOUT_BLANK);
        assert!(Problem::from_json(r#"{"title": "no status"}"#).is_err());
    }
}
