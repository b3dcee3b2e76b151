//! A tiny in-memory store keyed by numeric id, for the sample services' resources.

use std::collections::BTreeMap;
use std::sync::RwLock;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Records of one kind, by id.
#[derive(Debug)]
pub struct Store<T> {
    items: RwLock<BTreeMap<u64, T>>,
}

impl<T: Clone> Store<T> {
    /// A store holding `seed`, numbered from 1.
    pub fn new(seed: impl IntoIterator<Item = T>) -> Self {
        let items = seed
            .into_iter()
            .enumerate()
            .map(|(i, t)| (i as u64 + 1, t))
            .collect();
        Self {
            items: RwLock::new(items),
        }
    }

    /// Every record with its id, in id order.
    pub fn list(&self) -> Vec<(u64, T)> {
        self.items
            .read()
            .expect("store lock")
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// One record.
    pub fn get(&self, id: u64) -> Option<T> {
        self.items.read().expect("store lock").get(&id).cloned()
    }

    /// Adds a record and returns its id.
    pub fn insert(&self, item: T) -> u64 {
        let mut items = self.items.write().expect("store lock");
        let id = items.keys().next_back().map_or(1, |k| k + 1);
        items.insert(id, item);
        id
    }
}

/// A problem+json 404 for a missing record.
pub fn not_found(kind: &str, id: &str) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        &format!("{kind} {id} does not exist"),
    )
}

/// A problem+json response with `status` and `detail`: a [`contracts::Problem`], the body
/// the gateway answers its own errors with.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = contracts::Problem::new(
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
    )
    .with_detail(detail);
    (
        status,
        [("content-type", contracts::problem::MEDIA_TYPE)],
        Json(body),
    )
        .into_response()
}
