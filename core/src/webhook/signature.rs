//! Webhook signatures: the pure code lives in [`payin_types::signature`], shared with the
//! clients that verify what this server signs.

pub use payin_types::signature::*;
