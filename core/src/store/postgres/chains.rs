//! Chains recorded in the database (`payin dev`'s local chain) on PostgreSQL.

use sqlx::types::Json;
use sqlx::{PgPool, Row};

use crate::dev::recorded::RecordedChain;
use crate::error::Result;

/// Inserts or replaces the recording of `chain.chain_id`.
pub(super) async fn save(pool: &PgPool, chain: &RecordedChain) -> Result<()> {
    sqlx::query(
        "INSERT INTO chain_overrides (chain_id, rpc_url, tokens, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chain_id) DO UPDATE
         SET rpc_url = excluded.rpc_url, tokens = excluded.tokens, updated_at = excluded.updated_at",
    )
    .bind(&chain.chain_id)
    .bind(&chain.rpc_url)
    .bind(Json(chain.tokens_json()))
    .bind(chain.updated_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every recorded chain, by chain id.
pub(super) async fn load(pool: &PgPool) -> Result<Vec<RecordedChain>> {
    let rows = sqlx::query("SELECT chain_id, rpc_url, tokens, updated_at FROM chain_overrides ORDER BY chain_id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let Json(tokens): Json<serde_json::Value> = r.try_get("tokens")?;
            RecordedChain::from_stored(
                r.try_get("chain_id")?,
                r.try_get("rpc_url")?,
                tokens,
                r.try_get("updated_at")?,
            )
        })
        .collect()
}
