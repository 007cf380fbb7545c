//! Chains as clients name them: protocol families, currencies, and the networks `GET /chains`
//! lists.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, InvalidCode};

/// An address family: one pool of addresses serves every chain of a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Evm,
    Tron,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::Evm, Protocol::Tron];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Evm => "evm",
            Protocol::Tron => "tron",
        }
    }

    /// Parses a protocol name sent by a client; `field` is named in the error.
    pub fn parse(field: &str, s: &str) -> Result<Protocol, Error> {
        match s {
            "evm" => Ok(Protocol::Evm),
            "tron" => Ok(Protocol::Tron),
            "solana" => Err(Error::validation(
                field,
                format!("{field} 'solana' is not supported yet; use 'evm' or 'tron'"),
            )),
            other => Err(Error::validation(
                field,
                format!("{field} '{other}' is not supported; use 'evm' or 'tron'"),
            )),
        }
    }

    pub fn from_stored(s: &str) -> Result<Protocol, Error> {
        Protocol::parse("protocol", s).map_err(|_| Error::Internal(format!("unknown stored protocol {s:?}")))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stablecoin PayIn accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Currency {
    #[serde(rename = "USDT")]
    Usdt,
    #[serde(rename = "USDC")]
    Usdc,
    #[serde(rename = "DAI")]
    Dai,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Usdt, Currency::Usdc, Currency::Dai];

    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Usdt => "USDT",
            Currency::Usdc => "USDC",
            Currency::Dai => "DAI",
        }
    }

    /// Parses a currency code (`USDT`, `USDC`, `DAI`); `field` is named in the error.
    pub fn parse(field: &str, s: &str) -> Result<Currency, Error> {
        Currency::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            Error::invalid(
                InvalidCode::Currency,
                field,
                format!("{field} '{s}' is not supported; use one of USDT, USDC, DAI"),
            )
        })
    }

    pub fn from_stored(s: &str) -> Result<Currency, Error> {
        Currency::parse("currency", s).map_err(|_| Error::Internal(format!("unknown stored currency {s:?}")))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A network as `GET /chains` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    pub chain_id: String,
    pub name: String,
    pub protocol: Protocol,
    /// The EVM `chainId` (EIP-155), for EVM networks.
    pub evm_chain_id: Option<u64>,
    pub testnet: bool,
    /// Blocks a payment needs on top of its own before it counts.
    pub confirmations: u32,
    /// Whether at least one RPC URL is configured for the watcher.
    pub rpc_configured: bool,
    /// What this chain's RPC URL must serve, where that is not plain Ethereum JSON-RPC (Tron:
    /// java-tron's JSON-RPC, e.g. `https://api.trongrid.io/jsonrpc`, with TronGrid's
    /// `TRON-PRO-API-KEY` header in `rpc_headers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_requirements: Option<String>,
    pub tokens: Vec<TokenInfo>,
}

/// A token of a network as `GET /chains` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub currency: Currency,
    pub contract: Option<String>,
    pub decimals: u8,
    /// False when no contract is configured: orders and bindings for it are refused.
    pub configured: bool,
    /// The config-file table that configures this token.
    pub config_key: String,
}
