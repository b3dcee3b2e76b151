//! The operator console: three static files (`src/console/`) embedded in the worker and served
//! under `/__gateway/` without a token — they hold no data; every view asks the admin API with
//! the token the operator enters — with a strict Content-Security-Policy: nothing but the
//! console's own script, style and API, no inline code, never framed.

/// Where the console lives (`/__gateway` redirects here).
pub const CONSOLE_PATH: &str = "/__gateway/";

/// The console's Content-Security-Policy: only its own files and API, no inline script or
/// style, no plugins, forms or framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One of the console's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// `GET /__gateway/`: the page.
    Index,
    /// `GET /__gateway/console.js`: its script.
    Script,
    /// `GET /__gateway/console.css`: its style sheet.
    Style,
}

impl Asset {
    /// The file at `rest`, the path after `/__gateway`.
    pub fn at(rest: &str) -> Option<Self> {
        match rest {
            "/" => Some(Self::Index),
            "/console.js" => Some(Self::Script),
            "/console.css" => Some(Self::Style),
            _ => None,
        }
    }

    /// The file's content, as built into the worker.
    pub fn body(self) -> &'static str {
        match self {
            Self::Index => include_str!("../console/index.html"),
            Self::Script => include_str!("../console/console.js"),
            Self::Style => include_str!("../console/console.css"),
        }
    }

    /// Its media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Index => "text/html; charset=utf-8",
            Self::Script => "text/javascript; charset=utf-8",
            Self::Style => "text/css; charset=utf-8",
        }
    }

    /// Every header of its response but `x-request-id`: the type, no caching (a new worker
    /// serves new files at once), the CSP, no sniffing, no referrer, same-origin only.
    pub fn headers(self) -> [(&'static str, &'static str); 7] {
        [
            ("content-type", self.content_type()),
            ("cache-control", "no-store"),
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "same-origin"),
        ]
    }
}
