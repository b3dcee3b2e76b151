//! The `ip_rules` policy: client addresses (`CF-Connecting-IP`) allowed or denied by CIDR
//! blocks, IPv4 and IPv6. A deny match wins; with an allow list, anything else is refused
//! (403), including a request whose client address is unknown.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Check, Exchange, Phase, Rejection, Spec, Verdict};
use crate::problem::GatewayError;

/// The `ip_rules` policy as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpRulesSpec {
    /// Blocks allowed (`203.0.113.0/24`, `2001:db8::/32`, or a single address); empty:
    /// every address not denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Blocks refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// An address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits zero).
    pub network: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("`{text}`: prefix length must be 0..={max}")),
            },
        };
        let cidr = Cidr {
            network: addr,
            prefix,
        };
        if cidr.mask(addr) != addr {
            return Err(format!(
                "`{text}` has host bits set: write `{}/{prefix}`",
                cidr.mask(addr)
            ));
        }
        Ok(cidr)
    }

    fn mask(&self, addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V4(a) => {
                let bits =
                    u32::from(a) & u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                IpAddr::V4(bits.into())
            }
            IpAddr::V6(a) => {
                let bits =
                    u128::from(a) & u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                IpAddr::V6(bits.into())
            }
        }
    }

    /// Whether `addr` is inside the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        addr.is_ipv4() == self.network.is_ipv4() && self.mask(addr) == self.network
    }
}

/// Validated IP rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRules {
    /// Allowed blocks (empty: all not denied).
    pub allow: Vec<Cidr>,
    /// Denied blocks.
    pub deny: Vec<Cidr>,
}

impl Spec for IpRulesSpec {
    type Checked = IpRules;

    fn validate(self) -> Result<IpRules, Vec<String>> {
        let mut problems = Vec::new();
        let mut parse = |field: &str, list: &[String]| -> Vec<Cidr> {
            list.iter()
                .filter_map(|t| {
                    Cidr::parse(t)
                        .map_err(|e| problems.push(format!("{field}: {e}")))
                        .ok()
                })
                .collect()
        };
        let (allow, deny) = (parse("allow", &self.allow), parse("deny", &self.deny));
        if self.allow.is_empty() && self.deny.is_empty() {
            problems.push("needs `allow` or `deny` blocks".into());
        }
        if problems.is_empty() {
            Ok(IpRules { allow, deny })
        } else {
            Err(problems)
        }
    }
}

impl IpRules {
    /// `Err(reason)` when the client at `ip` is refused.
    pub fn decide(&self, ip: Option<&str>) -> Result<(), String> {
        let addr = ip.and_then(|s| s.trim().parse::<IpAddr>().ok());
        if let Some(addr) = addr {
            if let Some(block) = self.deny.iter().find(|c| c.contains(addr)) {
                return Err(format!(
                    "client {addr} is in denied block {}/{}",
                    block.network, block.prefix
                ));
            }
        }
        if self.allow.is_empty() {
            return Ok(());
        }
        match addr {
            Some(addr) if self.allow.iter().any(|c| c.contains(addr)) => Ok(()),
            Some(addr) => Err(format!("client {addr} is in no allowed block")),
            None => Err("client address unknown; an allow list refuses it".into()),
        }
    }
}

impl Check for IpRules {
    const PHASE: Phase = Phase::IpRules;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        match self.decide(x.request.client_ip.as_deref()) {
            Ok(()) => Verdict::Continue,
            Err(reason) => Verdict::Reject(Rejection::new(GatewayError::Forbidden, reason)),
        }
    }
}
