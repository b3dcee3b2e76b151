//! The methods a validated route serves, in the order written, stored inline (no heap).

use std::fmt;

use super::METHODS;

/// Up to all of [`METHODS`], each at most once, in the order the route lists them.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Methods {
    /// Indices into [`METHODS`]; the first `len` are used.
    list: [u8; METHODS.len()],
    len: u8,
}

impl Methods {
    /// Appends `method` if it is one of [`METHODS`] and not yet listed; says whether it was.
    pub fn push(&mut self, method: &str) -> bool {
        match method_index(method) {
            Some(i) if !self.indices().any(|have| have == i) => {
                self.list[usize::from(self.len)] = i as u8;
                self.len += 1;
                true
            }
            _ => false,
        }
    }

    /// Whether no method is listed (the route serves every method in [`METHODS`]).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many methods are listed.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether `method` is listed.
    pub fn contains(&self, method: &str) -> bool {
        method_index(method).is_some_and(|i| self.indices().any(|have| have == i))
    }

    /// The methods, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.indices().map(|i| METHODS[i])
    }

    /// Their indices in [`METHODS`], in the order written.
    pub(crate) fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.list[..self.len()].iter().map(|&i| usize::from(i))
    }
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The position of `method` in [`METHODS`] (case-sensitive), `None` for any other method.
/// A `match` on the text: the compiler dispatches on its length, then compares once.
pub(crate) fn method_index(method: &str) -> Option<usize> {
    match method {
        "GET" => Some(0),
        "HEAD" => Some(1),
        "POST" => Some(2),
        "PUT" => Some(3),
        "PATCH" => Some(4),
        "DELETE" => Some(5),
        "OPTIONS" => Some(6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_index_follows_the_methods_list() {
        for (i, m) in METHODS.iter().enumerate() {
            assert_eq!(method_index(m), Some(i), "{m}");
        }
        for other in ["get", "TRACE", "CONNECT", "", "*"] {
            assert_eq!(method_index(other), None, "{other}");
        }
    }

    #[test]
    fn keeps_the_written_order_once_each() {
        let mut methods = Methods::default();
        assert!(methods.is_empty());
        for (m, added) in [
            ("POST", true),
            ("GET", true),
            ("POST", false),
            ("BREW", false),
        ] {
            assert_eq!(methods.push(m), added, "{m}");
        }
        assert_eq!(methods.iter().collect::<Vec<_>>(), ["POST", "GET"]);
        assert!(methods.contains("GET") && !methods.contains("PUT"));
        assert_eq!(format!("{methods:?}"), r#"["POST", "GET"]"#);
    }
}
