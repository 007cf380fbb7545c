//! Merchant metadata attached to orders and deposit references (defined in `payin-types`).

pub use payin_types::metadata::*;
