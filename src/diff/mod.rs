//! What changes between two route table versions: item by item ([`changes`]: routes,
//! upstreams, policies, `default_policies`), and which sample requests would be served
//! differently ([`moved`]). One implementation for `gatewayctl diff` (which prints each
//! [`Change`] and [`Moved`] as a line) and the admin API's `GET /__gateway/diff` (which
//! returns a [`Diff`] as JSON, each entry with the same line).

mod changes;
mod samples;

pub use changes::{changes, Change, FieldChange, Item, Op};
pub use samples::{fill, moved, outcome, parse_requests, samples, Moved, Sample};

use serde::Serialize;

use crate::table::{RouteDocument, RouteTable};

/// The comparison of two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Item-level changes, in [`changes`]' order.
    pub changes: Vec<Change>,
    /// How many sample requests were tried against both tables.
    pub samples: usize,
    /// The samples that would be served differently.
    pub moved: Vec<Moved>,
}

/// Compares `old` with `new` (each with its validated table): their changes, and the samples
/// of both (plus `extra`) that would move.
pub fn compare(
    old: (&RouteDocument, &RouteTable),
    new: (&RouteDocument, &RouteTable),
    extra: Vec<Sample>,
) -> Diff {
    let samples = samples(&[old.0, new.0], extra);
    Diff {
        changes: changes(old.0, new.0),
        samples: samples.len(),
        moved: moved(old.1, new.1, &samples),
    }
}
