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
    /// Connection limits of the HTTP server (`[http]`).
    #[serde(default)]
    pub http: HttpConfig,
    /// Request rate limits (`[rate_limit]`).
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// Per-protocol address pool rules (`[pool.evm]`, `[pool.tron]`).
    #[serde(default)]
    pub pool: PoolConfig,
    /// The CNY/USDT rate of fiat-priced orders (`[rates]`, see [`crate::rates`]).
    #[serde(default)]
    pub rates: crate::rates::RatesConfig,
    /// The compatible APIs (`[compat.hashnut]`; issue 13).
    #[serde(default)]
    pub compat: CompatConfig,
}

/// The `[compat]` table: one sub-table per compatible API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompatConfig {
    pub hashnut: HashnutConfig,
    pub qiejiao: QiejiaoConfig,
}

/// `[compat.qiejiao]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QiejiaoConfig {
    /// QieJiao `chain_type` → PayIn chain id. Defaults: `1` (TRC20) → `tron`, `2` (ERC20) →
    /// `ethereum`; entries given here replace or add to them (`payin dev` maps them to its
    /// `local-tron` and `local` chains).
    pub chain_types: BTreeMap<String, String>,
}

impl QiejiaoConfig {
    /// The chain id a `chain_type` names: the config's entry, else the default's.
    pub fn chain_id(&self, chain_type: &str) -> Option<String> {
        self.chain_types
            .get(chain_type)
            .cloned()
            .or_else(|| crate::compat::qiejiao::default_chain_types().remove(chain_type))
    }
}

/// `[compat.hashnut]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashnutConfig {
    /// HashNut `chainCode` → PayIn chain id. Defaults: `erc20` → `ethereum`, `bsc-erc20` →
    /// `bsc`, `polygon-erc20` → `polygon`, `tron-trc20` → `tron`; entries given here replace
    /// or add to them (`payin dev` maps them to its `local` and `local-tron` chains).
    pub chains: BTreeMap<String, String>,
}

impl HashnutConfig {
    /// The chain id a HashNut `chainCode` (case-sensitive) names: the config's entry, else the
    /// default's.
    pub fn chain_id(&self, code: &str) -> Option<String> {
        self.chains
            .get(code)
            .cloned()
            .or_else(|| Self::default_chains().remove(code))
    }

    /// The chain code a chain id is known by (the config's entries first).
    pub fn code_of(&self, chain_id: &str) -> Option<String> {
        let mut all = Self::default_chains();
        all.extend(self.chains.clone());
        all.into_iter().find(|(_, c)| c == chain_id).map(|(code, _)| code)
    }

    /// The default chain codes.
    pub fn default_chains() -> BTreeMap<String, String> {
        [
            ("erc20", "ethereum"),
            ("bsc-erc20", "bsc"),
            ("polygon-erc20", "polygon"),
            ("tron-trc20", "tron"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// The chain ids `payin dev` maps HashNut's codes to: EVM codes to `local`, Tron's to
    /// `local-tron`.
    pub fn dev_chains() -> BTreeMap<String, String> {
        Self::default_chains()
            .into_keys()
            .map(|code| {
                let chain = if code.starts_with("tron") {
                    "local-tron"
                } else {
                    "local"
                };
                (code, chain.to_string())
            })
            .collect()
    }
}

/// The `[pool]` table: one sub-table per protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    pub evm: ProtocolPoolConfig,
    pub tron: ProtocolPoolConfig,
}

impl PoolConfig {
    pub fn protocol(&self, protocol: crate::chain::Protocol) -> &ProtocolPoolConfig {
        match protocol {
            crate::chain::Protocol::Evm => &self.evm,
            crate::chain::Protocol::Tron => &self.tron,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        for (name, p) in [("evm", &self.evm), ("tron", &self.tron)] {
            if !(1..=3650).contains(&p.late_watch_days) {
                return Err(Error::validation(
                    format!("pool.{name}.late_watch_days"),
                    format!("pool.{name}.late_watch_days must be from 1 to 3650"),
                ));
            }
        }
        Ok(())
    }
}

/// `[pool.evm]` / `[pool.tron]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolPoolConfig {
    /// `"reuse"` (default): an address returns to the pool after its cooldown. `"never"`: an
    /// address serves one order or deposit binding, stays watched for late payments for
    /// `late_watch_days` after it ended, then retires (never watched or assigned again).
    pub address_reuse: AddressReuse,
    /// Days a `never`-reused address stays watched after its order or binding ended (30).
    pub late_watch_days: u32,
}

impl Default for ProtocolPoolConfig {
    fn default() -> Self {
        ProtocolPoolConfig {
            address_reuse: AddressReuse::Reuse,
            late_watch_days: 30,
        }
    }
}

/// Whether a pool address is used again after the order or binding that held it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressReuse {
    #[default]
    Reuse,
    Never,
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
        let config: FileConfig =
            toml::from_str(&text).map_err(|e| Error::validation("config", format!("{}: {e}", path.display())))?;
        config.http.validate()?;
        config.rate_limit.validate()?;
        config.pool.validate()?;
        config.rates.source()?;
        Ok(config)
    }
}

/// `[http]`: how long clients may take and how many may be connected at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's line and headers, from their first byte (and
    /// a new connection's first request, from the connect). Slow-header clients are cut off.
    pub header_read_timeout_seconds: u64,
    /// Seconds a kept-alive connection may wait idle for its next request. Longer than the
    /// idle timeout of a load balancer in front (often 60 s), so the balancer closes first.
    pub keep_alive_timeout_seconds: u64,
    /// Connections served at once; further clients wait in the listen queue until one closes.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_seconds: 10,
            keep_alive_timeout_seconds: 75,
            max_connections: 4096,
        }
    }
}

impl HttpConfig {
    pub fn validate(&self) -> Result<(), Error> {
        seconds(
            "http.header_read_timeout_seconds",
            self.header_read_timeout_seconds,
            3600,
        )?;
        seconds("http.keep_alive_timeout_seconds", self.keep_alive_timeout_seconds, 3600)?;
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(Error::validation(
                "http.max_connections",
                "http.max_connections must be from 1 to 1000000",
            ));
        }
        Ok(())
    }
}

/// `[rate_limit]`: requests per API key (the authenticated `/api/v1` and `/mcp`) and per client
/// IP (the public payment pages and endpoints); beyond them a request is answered 429.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub api_key: RateQuota,
    pub client_ip: RateQuota,
    /// Requests from loopback addresses are not limited (`payin dev` turns this on).
    pub exempt_loopback: bool,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client:
    /// the client is the right-most address in it that is not one of these.
    #[serde(deserialize_with = "crate::webhook::guard::deserialize_nets")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            api_key: RateQuota {
                requests: 6000,
                window_seconds: 60,
            },
            client_ip: RateQuota {
                requests: 600,
                window_seconds: 60,
            },
            exempt_loopback: false,
            trusted_proxies: Vec::new(),
        }
    }
}

/// `requests` per `window_seconds`, refilled evenly: a client may spend the whole quota at
/// once, then one more request every `window_seconds / requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateQuota {
    pub requests: u32,
    pub window_seconds: u32,
}

impl RateLimitConfig {
    /// No limits (the library router's default, tests).
    pub fn disabled() -> Self {
        RateLimitConfig {
            enabled: false,
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        for (name, q) in [("api_key", self.api_key), ("client_ip", self.client_ip)] {
            if q.requests == 0 {
                return Err(Error::validation(
                    format!("rate_limit.{name}.requests"),
                    format!("rate_limit.{name}.requests must be at least 1"),
                ));
            }
            seconds(
                &format!("rate_limit.{name}.window_seconds"),
                q.window_seconds.into(),
                86_400,
            )?;
        }
        Ok(())
    }
}

fn seconds(key: &str, value: u64, max: u64) -> Result<(), Error> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::validation(key, format!("{key} must be from 1 to {max} seconds")))
    }
}

pub use payin_types::config::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payin.toml");
        std::fs::write(&path, text).unwrap();
        FileConfig::load(&path)
    }

    #[test]
    fn http_and_rate_limit_tables_are_optional_with_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.http, HttpConfig::default());
        assert_eq!(config.rate_limit, RateLimitConfig::default());
        assert!(config.rate_limit.enabled);
        let config = parse(
            "[http]\nmax_connections = 10\n[rate_limit]\nenabled = false\n\
             api_key = { requests = 5, window_seconds = 1 }\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]\n",
        )
        .unwrap();
        assert_eq!(config.http.max_connections, 10);
        assert_eq!(
            config.http.header_read_timeout_seconds, 10,
            "unset keys keep their default"
        );
        assert!(!config.rate_limit.enabled);
        assert_eq!(config.rate_limit.api_key.requests, 5);
        assert_eq!(config.rate_limit.client_ip, RateLimitConfig::default().client_ip);
        assert_eq!(config.rate_limit.trusted_proxies.len(), 3);
        assert!(config.rate_limit.trusted_proxies[1].contains(&"10.9.8.7".parse::<std::net::IpAddr>().unwrap()));
    }

    #[test]
    fn pool_tables_set_address_reuse_per_protocol() {
        let config = parse("").unwrap();
        assert_eq!(config.pool.evm.address_reuse, AddressReuse::Reuse);
        assert_eq!(config.pool.tron.late_watch_days, 30);
        let config = parse("[pool.tron]\naddress_reuse = \"never\"\nlate_watch_days = 7\n").unwrap();
        assert_eq!(config.pool.tron.address_reuse, AddressReuse::Never);
        assert_eq!(config.pool.tron.late_watch_days, 7);
        assert_eq!(config.pool.evm, ProtocolPoolConfig::default());
        match parse("[pool.evm]\nlate_watch_days = 0") {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "pool.evm.late_watch_days"),
            other => panic!("{other:?}"),
        }
        assert!(parse("[pool.evm]\naddress_reuse = \"sometimes\"").is_err());
        assert!(parse("[pool.solana]\naddress_reuse = \"never\"").is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[http]\nmax_connections = 0", "http.max_connections"),
            (
                "[http]\nheader_read_timeout_seconds = 0",
                "http.header_read_timeout_seconds",
            ),
            (
                "[rate_limit]\napi_key = { requests = 0, window_seconds = 60 }",
                "rate_limit.api_key.requests",
            ),
            (
                "[rate_limit]\nclient_ip = { requests = 1, window_seconds = 0 }",
                "rate_limit.client_ip.window_seconds",
            ),
        ] {
            match parse(text) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // Unknown keys are refused like everywhere in the file; a bad proxy names itself.
        assert!(parse("[http]\nmax_conections = 5").is_err());
        for bad in ["10.0.0.0/33", "proxy.local"] {
            let err = parse(&format!("[rate_limit]\ntrusted_proxies = [\"{bad}\"]")).unwrap_err();
            assert!(
                err.to_string().contains("trusted_proxies") && err.to_string().contains(bad),
                "{err}"
            );
        }
    }
}
