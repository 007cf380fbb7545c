//! Pagination shared by every list (defined in `payin-types`).

pub use payin_types::page::*;
