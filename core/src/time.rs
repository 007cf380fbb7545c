//! Timestamps as the API writes them (defined in `payin-types`).

pub use payin_types::time::*;
