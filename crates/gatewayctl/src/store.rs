//! The route table store of one environment: versions and the active pointer in KV, history
//! in D1 — all through wrangler.

use gateway::history::{self, Activation, VersionRecord};
use gateway::table::{version_key, RouteDocument, ACTIVE_KEY};

use crate::sql::{bind, Param};
use crate::wrangler::Wrangler;

/// KV and D1 for one environment.
pub struct Store {
    /// How to reach them.
    pub wrangler: Wrangler,
    /// The environment (`local`, `production`, …).
    pub env: String,
}

impl Store {
    /// The version the KV pointer names, if any.
    pub fn active(&self) -> Result<Option<String>, String> {
        Ok(self
            .wrangler
            .kv_get(ACTIVE_KEY)?
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()))
    }

    /// The document stored for `version`, if any (parsed, not yet validated).
    pub fn document(&self, version: &str) -> Result<Option<RouteDocument>, String> {
        let key = version_key(version);
        match self.wrangler.kv_get(&key)? {
            None => Ok(None),
            Some(text) => RouteDocument::from_json(&text)
                .map(Some)
                .map_err(|e| format!("{key} in KV is not a route document: {e}")),
        }
    }

    /// Uploads a version's document (its key is never reused).
    pub fn put_document(&self, doc: &RouteDocument) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("gatewayctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("document.json");
        let written = std::fs::write(&file, doc.to_json())
            .map_err(|e| format!("{}: {e}", file.display()))
            .and_then(|()| self.wrangler.kv_put_file(&version_key(&doc.version), &file));
        let _ = std::fs::remove_dir_all(&dir);
        written
    }

    /// Points the gateway at `version`.
    pub fn set_active(&self, version: &str) -> Result<(), String> {
        self.wrangler.kv_put(ACTIVE_KEY, version)
    }

    /// Records a published version and its activation, in one D1 call.
    pub fn record_publish(&self, r: &VersionRecord, previous: Option<&str>) -> Result<(), String> {
        let version = bind(
            history::INSERT_VERSION,
            &[
                Param::Text(&r.version),
                Param::Text(&r.checksum),
                Param::Text(&r.environment),
                Param::Text(&r.author),
                Param::Text(&r.note),
                Param::Int(r.route_count),
                Param::Text(&r.created_at),
            ],
        )?;
        let activation =
            self.activation_sql(&r.version, previous, "publish", &r.author, &r.created_at)?;
        self.wrangler
            .d1(&format!("{version}; {activation}"))
            .map(drop)
    }

    /// Records a rollback.
    pub fn record_rollback(
        &self,
        version: &str,
        previous: Option<&str>,
        author: &str,
        at: &str,
    ) -> Result<(), String> {
        let sql = self.activation_sql(version, previous, "rollback", author, at)?;
        self.wrangler.d1(&sql).map(drop)
    }

    fn activation_sql(
        &self,
        version: &str,
        previous: Option<&str>,
        action: &str,
        author: &str,
        at: &str,
    ) -> Result<String, String> {
        let previous = previous.map_or(Param::Null, Param::Text);
        bind(
            history::INSERT_ACTIVATION,
            &[
                Param::Text(&self.env),
                Param::Text(version),
                previous,
                Param::Text(action),
                Param::Text(author),
                Param::Text(at),
            ],
        )
    }

    /// Versions, newest first.
    pub fn versions(&self, limit: i64) -> Result<Vec<VersionRecord>, String> {
        self.rows(
            history::SELECT_VERSIONS,
            &[Param::Text(&self.env), Param::Int(limit)],
        )
    }

    /// One version's record.
    pub fn version(&self, version: &str) -> Result<Option<VersionRecord>, String> {
        let rows = self.rows(
            history::SELECT_VERSION,
            &[Param::Text(&self.env), Param::Text(version)],
        )?;
        Ok(rows.into_iter().next())
    }

    /// Activations, newest first.
    pub fn activations(&self, limit: i64) -> Result<Vec<Activation>, String> {
        self.rows(
            history::SELECT_ACTIVATIONS,
            &[Param::Text(&self.env), Param::Int(limit)],
        )
    }

    fn rows<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>, String> {
        self.wrangler
            .d1(&bind(sql, params)?)?
            .into_iter()
            .map(|row| serde_json::from_value(row).map_err(|e| format!("unexpected D1 row: {e}")))
            .collect()
    }
}
