//! PayIn's wire types: what the REST API, the MCP tools and the language bindings send and
//! receive — orders, deposits, events, webhook endpoints, chains, settings, pages — the
//! [`Gateway`] trait of the operations, and the [`Error`] a client can see (code, message,
//! field and the members naming its subject).
//!
//! Light on purpose: serde, chrono, rust_decimal and url, no database, chain or HTTP stack,
//! so the typed client and the Python/Node packages built on it stay small. The webhook
//! [`signature`] code (HMAC-SHA256, base64, hex) is behind the `signature` feature.

pub mod amount;
pub mod chain;
pub mod config;
pub mod deposit;
pub mod error;
pub mod event;
pub mod gateway;
pub mod ids;
pub mod metadata;
pub mod order;
pub mod page;
pub mod payment_link;
pub mod pool;
#[cfg(feature = "signature")]
pub mod signature;
#[cfg(feature = "dev")]
pub mod simulate;
pub mod time;
pub mod webhook;

pub use amount::Amount;
pub use error::{Error, Result};
pub use gateway::Gateway;
