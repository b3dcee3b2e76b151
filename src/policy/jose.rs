//! JOSE pieces the token policies share: base64url, compact JWS parsing, JWK sets, and the
//! rule that binds a signing algorithm to a key type (no algorithm confusion).

use serde::{Deserialize, Serialize};

/// Signature algorithms the gateway verifies (all through WebCrypto). HMAC and `none` are
/// deliberately absent: a gateway holds no shared secrets, and `none` is no signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 5] = [Alg::RS256, Alg::RS384, Alg::RS512, Alg::ES256, Alg::ES384];

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
        }
    }

    /// Parses a JOSE name.
    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether a JWK can verify this algorithm: the key type (and curve) must be the
    /// algorithm's, and a key that names an algorithm must name this one.
    pub fn fits(self, key: &Jwk) -> bool {
        let kind = match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 => key.kty == "RSA",
            Alg::ES256 => key.kty == "EC" && key.crv.as_deref() == Some("P-256"),
            Alg::ES384 => key.kty == "EC" && key.crv.as_deref() == Some("P-384"),
        };
        let named = key.alg.as_deref().is_none_or(|a| a == self.name());
        let usable = key.key_use.as_deref().is_none_or(|u| u == "sig");
        kind && named && usable
    }
}

/// A public key from a JWK set, with the fields WebCrypto imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA` or `EC`.
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig` or `enc`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// EC curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// Parses a JWK set (`{"keys": […]}`); keys of other types are kept (and never fit).
pub fn parse_jwks(text: &str) -> Result<Vec<Jwk>, String> {
    serde_json::from_str::<JwkSet>(text)
        .map(|set| set.keys)
        .map_err(|e| format!("not a JWK set: {e}"))
}

/// A compact JWS split into what verification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The header's `alg`, as written.
    pub alg: String,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The payload, decoded (JSON text).
    pub payload: String,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: String,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Vec<String>>,
}

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Splits and decodes a compact JWS (`header.payload.signature`).
pub fn parse_token(text: &str) -> Result<Token, String> {
    if text.len() > MAX_TOKEN_LEN {
        return Err(format!("token is longer than {MAX_TOKEN_LEN} bytes"));
    }
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("token is not three dot-separated parts".into());
    };
    let header = base64url(h).ok_or("token header is not base64url")?;
    let header: Header = serde_json::from_slice(&header)
        .map_err(|e| format!("token header is not a JOSE header: {e}"))?;
    if header.crit.is_some_and(|c| !c.is_empty()) {
        return Err("token has critical header parameters this gateway does not know".into());
    }
    let payload = base64url(p).ok_or("token payload is not base64url")?;
    let payload = String::from_utf8(payload).map_err(|_| "token payload is not UTF-8")?;
    let signature = base64url(s).ok_or("token signature is not base64url")?;
    Ok(Token {
        alg: header.alg,
        kid: header.kid,
        payload,
        signing_input: text[..h.len() + 1 + p.len()].to_owned(),
        signature,
    })
}

/// Decodes unpadded base64url (RFC 4648 §5); `None` on any other character or padding.
pub fn base64url(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    }
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}
