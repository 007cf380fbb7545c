//! Events: every state change writes one, in the same transaction as the change. The stored
//! payload is the exact webhook body, `{"id","type","createdAt","data"}` (types defined in
//! `payin-types`).

pub use payin_types::event::*;
