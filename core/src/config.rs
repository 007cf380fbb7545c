//! Configuration: the optional TOML file read at start, and the runtime settings merchants
//! change through `PUT /config/:key`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::chain::ChainOverride;
use crate::error::Error;

/// The TOML config file (`--config` / `PAYIN_CONFIG`). Every table is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Base URL customers reach this server on; used to build `paymentUrl`.
    pub public_url: Option<String>,
    /// Network overrides and additions, keyed by chain id.
    #[serde(default)]
    pub chains: BTreeMap<String, ChainOverride>,
    /// The `[database]` table.
    #[serde(default)]
    pub database: DatabaseConfig,
}

/// The `[database]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// PostgreSQL: the most connections this process opens (default 16; `payin` takes
    /// `PAYIN_DB_MAX_CONNECTIONS` / `--db-max-connections` over it). Every replica opens its
    /// own pool, so replicas × this must stay below the server's `max_connections`.
    pub max_connections: Option<u32>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::validation("config", format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::validation("config", format!("{}: {e}", path.display())))
    }
}

pub use payin_types::config::*;
