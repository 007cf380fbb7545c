//! The dev chain, behind the `dev` cargo feature: nothing here is needed to run a production
//! gateway, and a build without the feature carries none of it (no anvil process management,
//! no payer key, no simulated payments, no chains read from the database).
//!
//! - [`devnet`]: a local anvil chain with PayIn's test tokens (`payin dev`, tests);
//! - [`simulate`]: real payments and blocks on that chain on request (`payin dev pay`, the REST
//!   `/dev/…` routes, the MCP `simulate_payment` / `mine_blocks` tools);
//! - [`recorded`]: where `payin dev` records its chains in the database so that every process on
//!   the same database sees chains `local` and `local-tron` configured;
//! - [`tron_double`]: chain `local-tron`, an anvil behind a test double of a Tron node
//!   (java-tron's JSON-RPC: block ids, `stateRoot`, range and result caps, 20-byte filters).

pub mod devnet;
pub mod recorded;
pub mod simulate;
pub mod tron_double;
