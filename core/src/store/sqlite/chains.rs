//! Chains recorded in the database (`payin dev`'s local chain) on SQLite.

use sqlx::{Row, SqlitePool};

use crate::dev::recorded::RecordedChain;
use crate::error::Result;
use crate::time::{from_millis, to_millis};

/// Inserts or replaces the recording of `chain.chain_id`.
pub(super) async fn save(writer: &SqlitePool, chain: &RecordedChain) -> Result<()> {
    sqlx::query(
        "INSERT INTO chain_overrides (chain_id, rpc_url, tokens, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chain_id) DO UPDATE
         SET rpc_url = excluded.rpc_url, tokens = excluded.tokens, updated_at = excluded.updated_at",
    )
    .bind(&chain.chain_id)
    .bind(&chain.rpc_url)
    .bind(chain.tokens_json().to_string())
    .bind(to_millis(&chain.updated_at))
    .execute(writer)
    .await?;
    Ok(())
}

/// Every recorded chain, by chain id.
pub(super) async fn load(reader: &SqlitePool) -> Result<Vec<RecordedChain>> {
    let rows = sqlx::query("SELECT chain_id, rpc_url, tokens, updated_at FROM chain_overrides ORDER BY chain_id")
        .fetch_all(reader)
        .await?;
    rows.iter()
        .map(|r| {
            let tokens: String = r.try_get("tokens")?;
            let tokens = serde_json::from_str(&tokens)
                .map_err(|e| crate::Error::Internal(format!("stored chain tokens are not JSON: {e}")))?;
            RecordedChain::from_stored(
                r.try_get("chain_id")?,
                r.try_get("rpc_url")?,
                tokens,
                from_millis(r.try_get("updated_at")?),
            )
        })
        .collect()
}
