//! Each watched chain's progress as `/health` shows it, written by the scanners.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::Serialize;

/// A chain's progress, shown by `/health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    pub chain_id: String,
    pub head: Option<u64>,
    /// Next block to scan.
    pub cursor: Option<u64>,
    /// Blocks between the head and the last scanned block.
    pub lag: Option<u64>,
    pub last_error: Option<String>,
}

/// The latest [`ChainStatus`] of every chain, shared by the scanners (writers) and `/health`
/// (reader).
#[derive(Debug, Default)]
pub struct ChainStatusBoard {
    chains: RwLock<BTreeMap<String, ChainStatus>>,
}

impl ChainStatusBoard {
    /// Replaces a chain's status after a successful pass (clearing its last error).
    pub fn record(&self, status: ChainStatus) {
        let mut map = self.chains.write().unwrap_or_else(|e| e.into_inner());
        map.insert(status.chain_id.clone(), status);
    }

    /// Notes a chain's last failure, keeping the progress last recorded.
    pub fn record_error(&self, chain_id: &str, error: String) {
        let mut map = self.chains.write().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(chain_id.to_string()).or_insert_with(|| ChainStatus {
            chain_id: chain_id.to_string(),
            ..ChainStatus::default()
        });
        entry.last_error = Some(error);
    }

    /// Every chain's status, ordered by chain id.
    pub fn snapshot(&self) -> Vec<ChainStatus> {
        self.chains
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(chain_id: &str, head: u64) -> ChainStatus {
        ChainStatus {
            chain_id: chain_id.to_string(),
            head: Some(head),
            cursor: Some(head + 1),
            lag: Some(0),
            last_error: None,
        }
    }

    #[test]
    fn an_error_keeps_the_progress_and_the_next_pass_clears_it() {
        let board = ChainStatusBoard::default();
        board.record(progress("polygon", 10));
        board.record_error("polygon", "rpc: timeout".into());
        let failed = board.snapshot();
        assert_eq!(failed[0].head, Some(10));
        assert_eq!(failed[0].last_error.as_deref(), Some("rpc: timeout"));

        board.record(progress("polygon", 11));
        assert_eq!(board.snapshot(), vec![progress("polygon", 11)]);
    }

    #[test]
    fn a_chain_that_never_succeeded_shows_only_its_error() {
        let board = ChainStatusBoard::default();
        board.record(progress("polygon", 10));
        board.record_error("base", "rpc: connection refused".into());
        let chains = board.snapshot();
        let ids: Vec<&str> = chains.iter().map(|c| c.chain_id.as_str()).collect();
        assert_eq!(ids, ["base", "polygon"]);
        assert_eq!(chains[0].head, None);
        assert_eq!(chains[0].last_error.as_deref(), Some("rpc: connection refused"));
    }
}
