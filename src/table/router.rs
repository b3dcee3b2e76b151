//! The table's matchers: per host, a matchit router from path pattern to a slot holding the
//! routes that serve each method; built (with the method-overlap, ambiguity and path-conflict
//! checks) from the validated routes.

use std::collections::{HashMap, HashSet};

use super::methods::method_index;
use super::validate::{Problem, Report, Subject};
use super::{Route, METHODS};
use crate::rollout::when::disjoint;

/// One host's paths: matchit maps a path to an index into `slots`.
#[derive(Debug, Default)]
pub(super) struct PathRouter {
    pub(super) matcher: matchit::Router<usize>,
    pub(super) slots: Vec<Slot>,
    /// The routes of each method that more than one route serves on a path: those with
    /// conditions in table order, then the one without (if any). Slots refer to them with
    /// [`CHAIN`]; slots with the same list share it.
    chains: Vec<Box<[u32]>>,
}

/// All routes that share one (host, path) pattern, keyed by method.
#[derive(Debug)]
pub(super) struct Slot {
    /// For each of [`METHODS`]: the index of the only route serving it, [`CHAIN`] and the
    /// index of a chain of routes, or [`NO_ROUTE`]; a route that lists no methods fills every
    /// entry.
    routes: [u32; METHODS.len()],
    /// The index of the `Allow` header value (for a 405) in the table's list of them.
    pub(super) allow: u8,
}

/// A method the slot's path has no route for.
const NO_ROUTE: u32 = u32::MAX;
/// Marks a slot entry that is the index of a chain, not of a route.
const CHAIN: u32 = 1 << 31;

impl PathRouter {
    /// The routes serving method `m` (an index into [`METHODS`]) on `slot`, in the order they
    /// are tried.
    pub(super) fn routes<'s>(&'s self, slot: &'s Slot, m: usize) -> &'s [u32] {
        match slot.routes[m] {
            NO_ROUTE => &[],
            entry if entry & CHAIN != 0 => &self.chains[(entry & !CHAIN) as usize],
            _ => std::slice::from_ref(&slot.routes[m]),
        }
    }
}

/// The routers: per host, then for any host, and the distinct `Allow` values their slots
/// refer to.
pub(super) struct Routers {
    pub(super) by_host: Vec<(String, PathRouter)>,
    pub(super) any_host: PathRouter,
    pub(super) allows: Vec<String>,
}

/// Groups routes by (host, path), checks method overlaps (between routes without conditions)
/// and ambiguity (between routes with conditions), and inserts each path into matchit.
/// `written` holds the methods as written of the routes whose list has a problem;
/// `bad_when`, the routes whose conditions did not validate (left out of the method checks).
pub(super) fn routers(
    routes: &[Route],
    written: &HashMap<usize, Vec<String>>,
    bad_when: &HashSet<usize>,
    report: &mut Report,
) -> Routers {
    let mut by_host: Vec<(String, Building)> = Vec::new();
    let mut any_host = Building::default();
    for (i, route) in routes.iter().enumerate() {
        let subject = || Subject::Route(route.id.clone());
        let router = match &route.host {
            None => &mut any_host,
            Some(h) => match by_host.iter().position(|(x, _)| x == h) {
                Some(p) => &mut by_host[p].1,
                None => {
                    by_host.push((h.clone(), Building::default()));
                    &mut by_host.last_mut().expect("just pushed").1
                }
            },
        };
        let slot = match router.paths.get(route.path.as_str()) {
            Some(&slot) => slot,
            None => {
                let slot = router.slots.len();
                if let Err(e) = router.insert(&route.path, slot) {
                    report.add(&subject(), router.insert_problem(e, routes));
                    continue;
                }
                slot
            }
        };
        if bad_when.contains(&i) {
            continue;
        }
        let methods: Vec<&str> = match written.get(&i) {
            Some(list) => list.iter().map(String::as_str).collect(),
            None if route.methods.is_empty() => vec![EVERY],
            None => route.methods.iter().collect(),
        };
        if route.when.is_some() {
            router.add_conditional(slot, &methods, i, routes, &subject(), report);
            continue;
        }
        for m in methods {
            match router.overlap(slot, m) {
                // A method listed twice in one route is reported once, on the route.
                Some(other) if other == i => {}
                Some(other) => report.add(
                    &subject(),
                    Problem::MethodOverlap {
                        method: m.to_owned(),
                        with: routes[other].id.clone(),
                    },
                ),
                None => router.add(slot, m, i),
            }
        }
    }
    let mut allows = Vec::new();
    let by_host = by_host
        .into_iter()
        .map(|(host, router)| (host, router.finish(&mut allows)))
        .collect();
    let any_host = any_host.finish(&mut allows);
    Routers {
        by_host,
        any_host,
        allows,
    }
}

/// How a route that lists no methods is keyed while the slots are built.
const EVERY: &str = "*";

/// A router while it is built.
#[derive(Default)]
struct Building<'r> {
    matcher: matchit::Router<usize>,
    /// How many paths `matcher` held when it was last compacted.
    compacted: usize,
    slots: Vec<Pending>,
    /// The slot of each path inserted.
    paths: HashMap<&'r str, usize>,
    /// (slot, method, route) for methods outside [`METHODS`], as written (only in a table
    /// that fails validation).
    other: Vec<(usize, &'r str, usize)>,
}

/// A slot while it is built: which route has each method.
struct Pending {
    /// The route without conditions of each of [`METHODS`], or [`NO_ROUTE`].
    routes: [u32; METHODS.len()],
    /// The route without conditions that lists no methods, if one holds the path (it is then
    /// the only one without conditions).
    every: u32,
    /// The first route without conditions added: a route that lists no methods overlaps it.
    first: u32,
    /// The routes with conditions, in table order, each with its methods as a bit set.
    conditional: Vec<(u32, u8)>,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            routes: [NO_ROUTE; METHODS.len()],
            every: NO_ROUTE,
            first: NO_ROUTE,
            conditional: Vec::new(),
        }
    }
}

/// `route` as stored in a slot.
fn stored(route: usize) -> u32 {
    u32::try_from(route)
        .ok()
        .filter(|&r| r < CHAIN)
        .expect("fewer than 2³¹ routes")
}

/// A stored route as an index, `None` for [`NO_ROUTE`].
fn found(route: u32) -> Option<usize> {
    (route != NO_ROUTE).then_some(route as usize)
}

/// The fewest paths a router holds before it is first compacted.
const FIRST_COMPACTION: usize = 1_024;

impl<'r> Building<'r> {
    /// Adds `path` with a new, empty slot. matchit makes room for four nodes when it adds a
    /// node's first child, so a freshly built tree is mostly empty room; a clone allocates
    /// each list at its length (a third of the bytes). Compacting whenever the number of paths
    /// has doubled keeps that room to the paths added since, for about one more clone of
    /// the final tree in all.
    fn insert(&mut self, path: &'r str, slot: usize) -> Result<(), matchit::InsertError> {
        self.matcher.insert(path, slot)?;
        self.slots.push(Pending::default());
        self.paths.insert(path, slot);
        if self.slots.len() >= 2 * self.compacted.max(FIRST_COMPACTION / 2) {
            self.matcher = self.matcher.clone();
            self.compacted = self.slots.len();
        }
        Ok(())
    }

    /// The route that already serves `method` on `slot` (or, for [`EVERY`], any route there).
    fn overlap(&self, slot: usize, method: &str) -> Option<usize> {
        let pending = &self.slots[slot];
        if method == EVERY {
            return found(pending.first);
        }
        if pending.every != NO_ROUTE {
            return found(pending.every);
        }
        match method_index(method) {
            Some(m) => found(pending.routes[m]),
            None => self
                .other
                .iter()
                .find(|&&(s, have, _)| s == slot && have == method)
                .map(|&(_, _, route)| route),
        }
    }

    /// Adds a route with conditions for `methods` (its valid ones), reporting each earlier
    /// route with conditions on a shared method that a request could match as well.
    fn add_conditional(
        &mut self,
        slot: usize,
        methods: &[&str],
        route: usize,
        routes: &[Route],
        subject: &Subject,
        report: &mut Report,
    ) {
        let mask = methods.iter().fold(0u8, |mask, &m| match method_index(m) {
            _ if m == EVERY => u8::MAX,
            Some(i) => mask | 1 << i,
            None => mask,
        });
        let when = routes[route]
            .when
            .as_deref()
            .expect("a route with conditions");
        let pending = &mut self.slots[slot];
        for &(other, other_mask) in &pending.conditional {
            let theirs = routes[other as usize].when.as_deref();
            if mask & other_mask != 0 && !theirs.is_some_and(|w| disjoint(when, w)) {
                report.add(
                    subject,
                    Problem::Ambiguous {
                        with: routes[other as usize].id.clone(),
                    },
                );
            }
        }
        pending.conditional.push((stored(route), mask));
    }

    fn add(&mut self, slot: usize, method: &'r str, route: usize) {
        let pending = &mut self.slots[slot];
        if pending.first == NO_ROUTE {
            pending.first = stored(route);
        }
        match method_index(method) {
            _ if method == EVERY => pending.every = stored(route),
            Some(m) => pending.routes[m] = stored(route),
            None => self.other.push((slot, method, route)),
        }
    }

    /// The problem matchit's refusal of a path means.
    fn insert_problem(&self, error: matchit::InsertError, routes: &[Route]) -> Problem {
        match error {
            matchit::InsertError::Conflict { with } => {
                let first = self
                    .paths
                    .get(with.as_str())
                    .and_then(|&slot| found(self.slots[slot].named()));
                Problem::Conflict {
                    with: first.map_or(with, |r| routes[r].id.clone()),
                }
            }
            other => Problem::BadPath(format!("is rejected by matchit: {other}")),
        }
    }

    /// The router as the table keeps it: compacted (see [`Building::insert`]) unless
    /// nothing was added since.
    fn finish(self, allows: &mut Vec<String>) -> PathRouter {
        drop(self.paths);
        let mut chains = Chains::default();
        let mut slots = Vec::with_capacity(self.slots.len());
        slots.extend(
            self.slots
                .into_iter()
                .map(|p| p.finish(allows, &mut chains)),
        );
        let matcher = if self.compacted == slots.len() {
            self.matcher
        } else {
            self.matcher.clone()
        };
        PathRouter {
            matcher,
            slots,
            chains: chains.list,
        }
    }
}

/// The chains of a router while it is built, each stored once.
#[derive(Default)]
struct Chains {
    list: Vec<Box<[u32]>>,
    index: HashMap<Box<[u32]>, u32>,
}

impl Chains {
    /// The slot entry for `chain`.
    fn entry(&mut self, chain: Vec<u32>) -> u32 {
        let chain: Box<[u32]> = chain.into();
        if let Some(&i) = self.index.get(&chain) {
            return i | CHAIN;
        }
        let i = u32::try_from(self.list.len())
            .ok()
            .filter(|&i| i < CHAIN)
            .expect("fewer than 2³¹ chains");
        self.list.push(chain.clone());
        self.index.insert(chain, i);
        i | CHAIN
    }
}

impl Pending {
    /// The route a path conflict names: the first one added.
    fn named(&self) -> u32 {
        let conditional = self.conditional.first().map_or(NO_ROUTE, |&(r, _)| r);
        self.first.min(conditional)
    }

    /// The slot, its `Allow` value added to `allows` unless it is there already, and its
    /// chains to `chains`.
    fn finish(self, allows: &mut Vec<String>, chains: &mut Chains) -> Slot {
        let mut routes = if self.every == NO_ROUTE {
            self.routes
        } else {
            [self.every; METHODS.len()]
        };
        for (m, entry) in routes.iter_mut().enumerate() {
            let mut chain: Vec<u32> = self
                .conditional
                .iter()
                .filter(|&&(_, mask)| mask & 1 << m != 0)
                .map(|&(r, _)| r)
                .collect();
            if chain.is_empty() {
                continue;
            }
            if *entry != NO_ROUTE {
                chain.push(*entry);
            }
            *entry = chains.entry(chain);
        }
        let allow = allow_header(&routes);
        let index = match allows.iter().position(|a| *a == allow) {
            Some(i) => i,
            None => {
                allows.push(allow);
                allows.len() - 1
            }
        };
        Slot {
            routes,
            // At most one value per set of methods: 2⁷.
            allow: u8::try_from(index).expect("at most 128 Allow values"),
        }
    }
}

/// The methods served, in [`METHODS`] order, with `HEAD` wherever `GET` is (the `GET` route
/// answers it).
fn allow_header(routes: &[u32; METHODS.len()]) -> String {
    let mut allow: Vec<&str> = METHODS
        .iter()
        .zip(routes)
        .filter(|&(_, &r)| r != NO_ROUTE)
        .map(|(&m, _)| m)
        .collect();
    if allow.contains(&"GET") && !allow.contains(&"HEAD") {
        allow.insert(1, "HEAD");
    }
    allow.join(", ")
}
