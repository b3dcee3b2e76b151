//! The per-request context: what the gateway knows about a request, built once when it
//! arrives and handed to every phase (routing, policies, forwarding, logging), and the
//! [`Effects`] the policies accumulate on the way to the origin.

use serde::Serialize;

use crate::forward::UrlParts;

/// Reads a request header by lower-case name. The edge implements it over the runtime's
/// `Headers`; tests over a list.
pub trait HeaderLookup {
    /// The header's value, if present (several values joined by `, `).
    fn header(&self, name: &str) -> Option<String>;
}

impl HeaderLookup for Vec<(&str, &str)> {
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

/// Everything known about a request when it arrives.
pub struct RequestContext {
    /// The absolute request URL as the runtime gives it.
    url: String,
    /// Byte ranges of the URL's parts in `url`.
    scheme: (usize, usize),
    host: (usize, usize),
    path: Option<(usize, usize)>,
    query: Option<(usize, usize)>,
    /// The request method, upper case.
    pub method: String,
    /// The request id: the client's, if valid, else generated.
    pub request_id: String,
    /// When the request arrived, in ms since the epoch; also "now" for policy decisions.
    pub started_ms: f64,
    /// The client address (`CF-Connecting-IP`), if the runtime says.
    pub client_ip: Option<String>,
    /// The request's headers.
    pub headers: Box<dyn HeaderLookup>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("url", &self.url)
            .field("method", &self.method)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// A context for `url`; `None` when the URL is not absolute.
    pub fn new(
        url: String,
        method: String,
        request_id: String,
        started_ms: f64,
        headers: Box<dyn HeaderLookup>,
    ) -> Option<Self> {
        let parts = UrlParts::split(&url)?;
        let range = |s: &str| {
            let start = s.as_ptr() as usize - url.as_ptr() as usize;
            (start, start + s.len())
        };
        // `split` answers a static "/" when the URL has no path.
        let within = |s: &str| {
            let (at, end) = (s.as_ptr() as usize, url.as_ptr() as usize);
            at >= end && at < end + url.len()
        };
        let path = within(parts.path).then(|| range(parts.path));
        let (scheme, host, query) = (
            range(parts.scheme),
            range(parts.host),
            parts.query.map(range),
        );
        let client_ip = headers.header("cf-connecting-ip");
        Some(Self {
            scheme,
            host,
            path,
            query,
            url,
            method,
            request_id,
            started_ms,
            client_ip,
            headers,
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.url[self.scheme.0..self.scheme.1]
    }

    /// The host, with its port if the URL has one.
    pub fn host(&self) -> &str {
        &self.url[self.host.0..self.host.1]
    }

    /// The raw path, still percent-encoded; at least `/`.
    pub fn path(&self) -> &str {
        self.path.map_or("/", |(a, b)| &self.url[a..b])
    }

    /// The raw query after `?`, byte for byte.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|(a, b)| &self.url[a..b])
    }

    /// A request header by lower-case name.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.header(name)
    }

    /// The value of cookie `name` (the first one sent), as sent.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.header("cookie")?;
        header
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().trim_matches('"').to_owned())
    }

    /// The first value of query parameter `name`, still percent-encoded.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// A header operation, applied to the origin request or to the client's response. Sent to
/// `glue.js` as `["set", name, value]`, `["append", name, value]` or `["remove", name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Replace the header with this value.
    Set(String, String),
    /// Add a value (after any existing ones).
    Append(String, String),
    /// Remove the header.
    Remove(String),
}

impl Serialize for HeaderOp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Set(n, v) => ("set", n, v).serialize(s),
            Self::Append(n, v) => ("append", n, v).serialize(s),
            Self::Remove(n) => ("remove", n).serialize(s),
        }
    }
}

/// A check the JavaScript half runs just before forwarding: a rate limit that lives in a
/// binding or a Durable Object. Decided and described in Rust, performed at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gate {
    /// The policy's name, for the log.
    pub policy: String,
    /// `binding` (the Workers Rate Limiting binding) or `object` (a Durable Object).
    pub store: &'static str,
    /// The binding's name in `env`.
    pub binding: String,
    /// The rate limit key.
    pub key: String,
    /// The limit and window, for the Durable Object.
    pub limit: u64,
    /// The window, in seconds.
    pub period_s: u64,
    /// Only log what would be rejected.
    pub log_only: bool,
    /// The answer when the limit is reached (its headers are completed at the edge for
    /// a Durable Object, which knows the remaining count and reset time).
    pub reject: crate::problem::Answer,
}

/// What the policies decided to do to a request that goes on to its origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Who is calling, once an authentication policy knows.
    pub consumer: Option<String>,
    /// Header operations on the origin request, in order.
    pub request_ops: Vec<HeaderOp>,
    /// Header operations on the response to the client (also on gateway answers, so CORS
    /// headers reach a browser with every error), in order.
    pub response_ops: Vec<HeaderOp>,
    /// Checks to run at the edge before forwarding.
    pub gates: Vec<Gate>,
    /// The largest request body to forward when its length is not declared, and the
    /// policy that set it.
    pub max_body: Option<(u64, String)>,
}
