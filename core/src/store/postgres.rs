//! PostgreSQL backend (placeholder until the port lands).

use crate::error::{Error, Result};

pub struct PgStore;

impl PgStore {
    pub async fn connect(_url: &str) -> Result<PgStore> {
        Err(Error::Internal("postgres backend not built yet".into()))
    }
}
