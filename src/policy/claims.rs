//! JWT claims as the token policies read them: the registered claims they check (`exp`,
//! `nbf`, `iss`, `aud`) and the ones configured to reach the origin as headers, parsed in one
//! pass without building a JSON tree; every other claim is skipped unparsed.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The claims a policy looks at; everything else in the payload is skipped unparsed.
#[derive(Debug, Default, PartialEq)]
pub struct Claims {
    /// `exp`, in seconds.
    pub exp: Option<f64>,
    /// `nbf`, in seconds.
    pub nbf: Option<f64>,
    /// `iss`.
    pub iss: Option<String>,
    /// `aud` (a string or a list).
    pub aud: Vec<String>,
    /// Wanted claims with a scalar value, as text.
    pub picked: Vec<(String, String)>,
}

impl Claims {
    /// Reads the registered claims and the `wanted` ones from a JSON payload.
    pub fn parse(payload: &str, wanted: &[&str]) -> Result<Claims, String> {
        let mut de = serde_json::Deserializer::from_str(payload);
        ClaimsSeed { wanted }
            .deserialize(&mut de)
            .and_then(|c| de.end().map(|()| c))
            .map_err(|e| format!("token payload is not a JSON object of claims: {e}"))
    }
}

struct ClaimsSeed<'w> {
    wanted: &'w [&'w str],
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Claims, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut claims = Claims::default();
        while let Some(key) = map.next_key::<String>()? {
            let wanted = self.wanted.contains(&key.as_str());
            let text = match key.as_str() {
                "exp" | "nbf" => {
                    let n: f64 = map.next_value()?;
                    *(if key == "exp" {
                        &mut claims.exp
                    } else {
                        &mut claims.nbf
                    }) = Some(n);
                    Some(whole(n))
                }
                "iss" => {
                    let s: String = map.next_value()?;
                    claims.iss = Some(s.clone());
                    Some(s)
                }
                "aud" => {
                    claims.aud = map.next_value::<OneOrMany>()?.0;
                    Some(claims.aud.join(", "))
                }
                _ if wanted => map.next_value::<Scalar>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    None
                }
            };
            if let (true, Some(text)) = (wanted, text) {
                claims.picked.push((key, text));
            }
        }
        Ok(claims)
    }
}

/// A whole number as header text (`exp`, `nbf` and numeric claims; a fraction is dropped).
fn whole(n: f64) -> String {
    (n.trunc() as i64).to_string()
}

/// A string or a list of strings.
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![s.to_owned()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    all.push(s);
                }
                Ok(OneOrMany(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// A claim's value as header text: strings, numbers and booleans; `None` for objects,
/// lists and null.
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                // Only printable ASCII makes a safe header value: no control characters (no
                // header injection), nothing the runtime's `Headers` would refuse.
                let printable = s.bytes().all(|b| (b' '..=b'~').contains(&b));
                Ok(Scalar(printable.then(|| s.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Scalar, E> {
                Ok(Scalar(Some(b.to_string())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Scalar, E> {
                // A fraction is not passed on: formatting floats would add kilobytes.
                Ok(Scalar((n.fract() == 0.0).then(|| whole(n))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}
