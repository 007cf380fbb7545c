//! PayIn engine: orders with per-order addresses from an address pool, permanent deposit
//! addresses, the chain registry, events, and storage on SQLite or PostgreSQL.
//!
//! Front-ends (REST, MCP, language bindings) call [`Engine`]; they never touch SQL.

pub mod amount;
pub mod apikey;
pub mod chain;
pub mod clock;
pub mod config;
pub mod deposit;
pub mod devnet;
pub mod engine;
pub mod error;
pub mod event;
pub mod gateway;
pub mod ids;
pub mod metadata;
pub mod order;
pub mod page;
pub mod pool;
pub mod runtime;
pub mod settle;
pub mod simulate;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod webhook;

pub use amount::Amount;
pub use engine::{Engine, EngineOptions};
pub use error::{Error, Result};
pub use gateway::Gateway;
