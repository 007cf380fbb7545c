//! PayIn engine: orders with per-order addresses from an address pool, permanent deposit
//! addresses, the chain registry, events, and storage on SQLite or PostgreSQL.
//!
//! Front-ends (REST, MCP, language bindings) call [`Engine`]; they never touch SQL.
//!
//! # Cargo features
//!
//! - `dev`: the dev chain ([`dev`]): the anvil sandbox of `payin dev` and its payer account,
//!   simulated payments and mined blocks (`Engine::simulate_payment`, `Engine::mine_blocks` and
//!   the matching [`Gateway`] methods), and chain `local` as `payin dev` records it in the
//!   database (`Engine::record_chain`; engines opened with the feature layer that recording
//!   under the config file). Without it the engine reads chains from the config file alone and
//!   has no dev methods. The `payin` binary enables it.
//! - `openapi`: `utoipa::ToSchema` on the public types.
//! - `testing`: fresh SQLite/PostgreSQL databases and anvil chains for tests (enables `dev`).

pub mod amount;
pub mod apikey;
pub mod chain;
pub mod claim;
pub mod clock;
pub mod compat;
pub mod config;
pub mod deposit;
#[cfg(feature = "dev")]
pub mod dev;
pub mod engine;
pub mod error;
pub mod event;
pub mod gateway;
pub mod idempotency;
pub mod ids;
pub mod metadata;
pub mod metrics;
pub mod order;
pub mod page;
pub mod payment_link;
pub mod pool;
pub mod rates;
pub mod runtime;
pub mod settle;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod webhook;

pub use amount::Amount;
pub use engine::{Engine, EngineOptions, Idempotent};
pub use error::{Error, Result};
pub use gateway::Gateway;
