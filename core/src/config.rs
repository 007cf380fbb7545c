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
    /// Webhook delivery (`[webhooks]`).
    #[serde(default)]
    pub webhooks: WebhooksConfig,
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

/// The `[webhooks]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Non-public address ranges webhook endpoints may point at anyway (CIDRs such as
    /// `"10.0.0.0/8"` or single addresses), e.g. a receiver on the same private network. Every
    /// other loopback, private, link-local, CGNAT, multicast or reserved address is refused at
    /// registration and at every delivery (see [`crate::webhook::guard`]).
    #[serde(default, deserialize_with = "crate::webhook::guard::deserialize_nets")]
    pub allow_private: Vec<ipnet::IpNet>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::validation("config", format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::validation("config", format!("{}: {e}", path.display())))
    }
}

pub use payin_types::config::*;
