//! Signing keys: an RSA-2048 (RS256) and a P-256 (ES256) pair per generation, their public JWKs,
//! and compact JWS signing.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature as EcSignature, SigningKey as EcSigningKey};
use rand_core::OsRng;
use rsa::pkcs1v15::SigningKey as RsaSigningKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;

/// RSA modulus size, bits.
pub const RSA_BITS: usize = 2048;

/// A JWS algorithm this provider signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256, signature as 64 raw bytes `r || s`.
    Es256,
}

impl Alg {
    /// The algorithm named `name` (`RS256` or `ES256`, exactly as JOSE spells them).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// The `kid` prefix of this algorithm's keys.
    fn prefix(self) -> &'static str {
        match self {
            Self::Rs256 => "rsa",
            Self::Es256 => "ec",
        }
    }
}

/// Fresh key pairs that have no number (hence no `kid`) yet.
pub struct Material {
    rsa: RsaSigningKey<Sha256>,
    rsa_public: RsaPublicKey,
    ec: EcSigningKey,
}

impl Material {
    /// Generates both pairs. RSA generation is CPU-heavy (tens to hundreds of ms even
    /// optimised): call it from a blocking thread inside async code.
    pub fn generate() -> Self {
        let private = RsaPrivateKey::new(&mut OsRng, RSA_BITS).expect("RSA key generation");
        let rsa_public = private.to_public_key();
        Self {
            rsa: RsaSigningKey::<Sha256>::new(private),
            rsa_public,
            ec: EcSigningKey::random(&mut OsRng),
        }
    }
}

/// One numbered generation of keys: `rsa-N` and `ec-N`.
pub struct Generation {
    number: u32,
    keys: Material,
}

impl Generation {
    /// The `kid` of this generation's key for `alg`.
    pub fn kid(&self, alg: Alg) -> String {
        format!("{}-{}", alg.prefix(), self.number)
    }

    /// Both public keys as JWKs, RSA first.
    pub fn jwks(&self) -> [Value; 2] {
        let point = self.keys.ec.verifying_key().to_encoded_point(false);
        let (x, y) = (
            point.x().expect("uncompressed point has x"),
            point.y().expect("uncompressed point has y"),
        );
        [
            json!({
                "kty": "RSA",
                "kid": self.kid(Alg::Rs256),
                "alg": "RS256",
                "use": "sig",
                "n": b64(&self.keys.rsa_public.n().to_bytes_be()),
                "e": b64(&self.keys.rsa_public.e().to_bytes_be()),
            }),
            json!({
                "kty": "EC",
                "kid": self.kid(Alg::Es256),
                "alg": "ES256",
                "use": "sig",
                "crv": "P-256",
                "x": b64(x),
                "y": b64(y),
            }),
        ]
    }

    /// A compact JWS of `payload` signed with this generation's `alg` key. The header carries
    /// `kid` if given (to test unknown kids), else the signing key's own.
    pub fn sign(&self, alg: Alg, kid: Option<&str>, payload: &Value) -> String {
        let kid = kid.map_or_else(|| self.kid(alg), str::to_owned);
        let header = json!({"alg": alg.name(), "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(payload.to_string().as_bytes())
        );
        let signature = match alg {
            Alg::Rs256 => self
                .keys
                .rsa
                .sign_with_rng(&mut OsRng, input.as_bytes())
                .to_vec(),
            Alg::Es256 => {
                let signature: EcSignature = self.keys.ec.sign(input.as_bytes());
                signature.to_bytes().to_vec()
            }
        };
        format!("{input}.{}", b64(&signature))
    }
}

/// The keys in use: the newest generation signs; every kept generation is published.
pub struct KeyRing {
    /// Newest first.
    generations: Vec<Arc<Generation>>,
    last: u32,
}

impl KeyRing {
    /// A ring holding `keys` as generation 1 (`rsa-1`, `ec-1`).
    pub fn new(keys: Material) -> Self {
        Self {
            generations: vec![Arc::new(Generation { number: 1, keys })],
            last: 1,
        }
    }

    /// Makes `keys` the next generation and the signing one; drops the older ones unless
    /// `keep_old`.
    pub fn rotate(&mut self, keys: Material, keep_old: bool) -> Arc<Generation> {
        self.last += 1;
        let generation = Arc::new(Generation {
            number: self.last,
            keys,
        });
        if !keep_old {
            self.generations.clear();
        }
        self.generations.insert(0, generation.clone());
        generation
    }

    /// The generation new tokens are signed with.
    pub fn current(&self) -> Arc<Generation> {
        self.generations[0].clone()
    }

    /// Every published `kid`, newest generation first.
    pub fn kids(&self) -> Vec<String> {
        self.generations
            .iter()
            .flat_map(|g| [g.kid(Alg::Rs256), g.kid(Alg::Es256)])
            .collect()
    }

    /// The JWK set: `{"keys": […]}`, newest generation first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.generations.iter().flat_map(|g| g.jwks()).collect();
        json!({ "keys": keys })
    }
}

/// Base64url without padding, as JOSE uses it.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
