//! Public identifiers (defined in `payin-types`).

pub use payin_types::ids::*;
