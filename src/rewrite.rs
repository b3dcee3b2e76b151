//! Path rewrites: strip a literal prefix, or build the origin path from a template of captures.

use std::fmt;

/// A validated path rewrite, applied after a route matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rewrite {
    /// Remove this literal prefix; what is left (or `/`) is the origin path.
    StripPrefix(String),
    /// Concatenate the pieces, substituting captured parameters.
    Template(Vec<Piece>),
}

/// One piece of a rewrite template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Literal text, copied as is.
    Literal(String),
    /// The value captured for this parameter name.
    Param(String),
}

/// Why a template could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The template does not start with `/`.
    NotAbsolute,
    /// A `{` without its `}`, a stray `}`, or an empty `{}`.
    Unbalanced,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAbsolute => f.write_str("must start with `/`"),
            Self::Unbalanced => f.write_str(
                "has an unbalanced or empty `{}` (write `{{` or `}}` for a literal brace)",
            ),
        }
    }
}

impl Rewrite {
    /// Parses a template such as `/v1/users/{id}` or `/files/{*rest}` (`{{`/`}}` are literal).
    pub fn template(text: &str) -> Result<Self, TemplateError> {
        if !text.starts_with('/') {
            return Err(TemplateError::NotAbsolute);
        }
        pieces(text).map(Self::Template)
    }

    /// Parameter names the rewrite refers to.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        let pieces: &[Piece] = match self {
            Self::Template(pieces) => pieces,
            Self::StripPrefix(_) => &[],
        };
        pieces.iter().filter_map(|p| match p {
            Piece::Param(name) => Some(name.as_str()),
            Piece::Literal(_) => None,
        })
    }

    /// The origin path for a matched request `path` with its captured `params`.
    ///
    /// Captured values are inserted exactly as they appeared in the request (still
    /// percent-encoded), so nothing is decoded or re-encoded on the way through.
    pub fn apply<'v>(&self, path: &str, mut param: impl FnMut(&str) -> Option<&'v str>) -> String {
        match self {
            Self::StripPrefix(prefix) => match path.strip_prefix(prefix.as_str()) {
                Some("") => "/".to_owned(),
                Some(rest) if rest.starts_with('/') => rest.to_owned(),
                _ => path.to_owned(),
            },
            Self::Template(pieces) => {
                let mut out = String::with_capacity(path.len() + 16);
                for piece in pieces {
                    match piece {
                        Piece::Literal(text) => out.push_str(text),
                        Piece::Param(name) => out.push_str(param(name).unwrap_or_default()),
                    }
                }
                out
            }
        }
    }
}

/// Splits template text into literal pieces and `{name}` parameters (`{{`/`}}` are literal
/// braces; a leading `*` of a name is dropped). Shared by path rewrites and header templates.
pub fn pieces(text: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err(TemplateError::Unbalanced),
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return Err(TemplateError::Unbalanced),
                        Some(c) => name.push(c),
                    }
                }
                let name = name.strip_prefix('*').unwrap_or(&name).to_owned();
                if name.is_empty() {
                    return Err(TemplateError::Unbalanced);
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Param(name));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// The parameter names a matchit 0.9 path pattern captures (`{id}` → `id`, `{*rest}` → `rest`).
pub fn captures(pattern: &str) -> Vec<&str> {
    let bytes = pattern.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => {
                let start = i + 1;
                let Some(len) = pattern[start..].find('}') else {
                    break;
                };
                let name = &pattern[start..start + len];
                names.push(name.strip_prefix('*').unwrap_or(name));
                i = start + len + 1;
            }
            _ => i += 1,
        }
    }
    names
}
