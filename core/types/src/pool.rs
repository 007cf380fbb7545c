//! The address pool as clients see it: imports and per-protocol counts.

use serde::{Deserialize, Serialize};

use crate::chain::Protocol;
use crate::time::{Timestamp, serde_millis};

/// Body of `POST /addresses/import`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportAddressesRequest {
    /// "evm" or "tron".
    #[cfg_attr(feature = "openapi", schema(value_type = Protocol))]
    pub protocol: String,
    /// Watch-only addresses you control; 1 to 100,000 per request.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100000))]
    pub addresses: Vec<String>,
}

/// Result of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub protocol: Protocol,
    /// Addresses in the request.
    pub received: u64,
    /// Addresses newly added to the pool.
    pub imported: u64,
    /// Addresses already in the pool (or repeated in the request), left as they were.
    pub duplicates: u64,
}

/// Address counts of one protocol's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PoolStatus {
    pub protocol: Protocol,
    pub available: u64,
    pub assigned: u64,
    pub cooldown: u64,
    /// Addresses of an `address_reuse = "never"` protocol whose late-payment watch ended:
    /// neither watched nor assigned again. Not part of `total`.
    #[serde(default)]
    pub retired: u64,
    pub total: u64,
    pub low_watermark: u32,
    /// True when fewer than `lowWatermark` addresses are available.
    pub low: bool,
}

/// Most addresses one import takes.
pub const MAX_IMPORT: usize = 100_000;

/// Body of `POST /addresses/xpubs`: a watch-only account key the pool derives addresses from.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddXpubRequest {
    /// "evm" (addresses m/44'/60'/a'/0/i) or "tron" (m/44'/195'/a'/0/i).
    #[cfg_attr(feature = "openapi", schema(value_type = Protocol))]
    pub protocol: String,
    /// The ACCOUNT-level extended public key (`xpub…` or `tpub…`, depth 3: m/44'/60'/0' for
    /// EVM, m/44'/195'/0' for Tron), as wallets export it. Never an `xprv`, a mnemonic or any
    /// private key: those are refused and never stored or logged.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP"
        )
    )]
    pub xpub: String,
    /// First address index to derive (default 0), e.g. to skip addresses the wallet used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
}

/// One address derived from an xpub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DerivedAddress {
    pub index: u32,
    /// Full derivation path, e.g. `m/44'/60'/0'/0/0`.
    pub path: String,
    pub address: String,
}

/// A watch-only HD key of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct XpubKey {
    pub id: String,
    pub protocol: Protocol,
    pub xpub: String,
    /// The key's BIP-32 fingerprint (first 4 bytes of HASH160 of its public key), hex.
    #[cfg_attr(feature = "openapi", schema(example = "8bb2ae4c"))]
    pub fingerprint: String,
    /// The account key's path, e.g. `m/44'/60'/0'`.
    pub path: String,
    /// Index the pool derived from first.
    pub start_index: u32,
    /// Next index the pool will derive; every index below it was derived once.
    pub next_index: u32,
    /// The first three addresses from `startIndex`, to compare with the wallet.
    pub first_addresses: Vec<DerivedAddress>,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}
