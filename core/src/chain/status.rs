//! Each watched chain's progress as `/health` shows it: written by this process's scanners and
//! lease keepers, merged with what the lease holders published in the database (see
//! [`super::lease`]), so every replica reports a chain's progress whichever replica scans it.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::lease::{LeaseRecord, WatcherProgress};
use crate::time::Timestamp;

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
    /// The last pass's failure; cleared by the next pass that succeeds.
    pub last_error: Option<String>,
    #[serde(with = "crate::time::serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_error_at: Option<Timestamp>,
    /// When a pass (head read, range scanned, confirmations checked) last succeeded, on
    /// whichever replica holds the chain's lease.
    #[serde(with = "crate::time::serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_success_at: Option<Timestamp>,
    /// The replica that scans this chain (holds its watcher lease); none while the lease is
    /// free or expired.
    pub lease_holder: Option<String>,
    /// Whether that replica is the one answering.
    pub lease_held_here: bool,
    /// True when no pass succeeded for `stalledAfterMs`: payments on the chain are not being
    /// seen. Any stalled chain makes the top-level status `degraded`.
    pub stalled: bool,
    /// How long without a successful pass counts as stalled: ten poll intervals, and at least
    /// two RPC request timeouts (one failover) plus a lease renewal.
    pub stalled_after_ms: Option<u64>,
}

/// What this process knows of one chain.
#[derive(Debug, Clone, Default)]
struct Local {
    head: Option<u64>,
    cursor: Option<u64>,
    last_success: Option<(Instant, Timestamp)>,
    last_error: Option<(String, Instant, Timestamp)>,
    /// Set when this process runs the chain's watcher: since when, and when it counts as stalled.
    watched: Option<(Instant, Duration)>,
    /// Until when this process holds the chain's lease.
    lease_until: Option<Instant>,
}

/// Every chain's progress as this process knows it, shared by the scanners and lease keepers
/// (writers) and `/health` (reader).
#[derive(Debug)]
pub struct ChainStatusBoard {
    replica_id: String,
    chains: RwLock<BTreeMap<String, Local>>,
}

impl Default for ChainStatusBoard {
    fn default() -> Self {
        ChainStatusBoard::new("this-replica")
    }
}

impl ChainStatusBoard {
    /// The board of the replica named `replica_id`.
    pub fn new(replica_id: impl Into<String>) -> ChainStatusBoard {
        ChainStatusBoard {
            replica_id: replica_id.into(),
            chains: RwLock::default(),
        }
    }

    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    fn update(&self, chain_id: &str, f: impl FnOnce(&mut Local)) {
        let mut map = self.chains.write().unwrap_or_else(|e| e.into_inner());
        f(map.entry(chain_id.to_string()).or_default());
    }

    /// Notes that this process runs `chain_id`'s watcher, which counts as stalled after
    /// `stalled_after` without a successful pass (by whichever replica scans it).
    pub fn watching(&self, chain_id: &str, stalled_after: Duration) {
        self.update(chain_id, |l| l.watched = Some((Instant::now(), stalled_after)));
    }

    /// Records a successful pass (clearing the last error).
    pub fn record_success(&self, chain_id: &str, head: u64, cursor: Option<u64>) {
        self.update(chain_id, |l| {
            l.head = Some(head);
            l.cursor = cursor;
            l.last_success = Some((Instant::now(), chrono::Utc::now()));
            l.last_error = None;
        });
    }

    /// Notes a chain's last failure, keeping the progress last recorded.
    pub fn record_error(&self, chain_id: &str, error: String) {
        self.update(chain_id, |l| {
            l.last_error = Some((error, Instant::now(), chrono::Utc::now()))
        });
    }

    /// Until when this process holds the chain's lease (`None`: it does not).
    pub fn set_lease(&self, chain_id: &str, until: Option<Instant>) {
        self.update(chain_id, |l| l.lease_until = until);
    }

    /// What the chain's lease holder publishes with each renewal.
    pub fn progress(&self, chain_id: &str) -> WatcherProgress {
        let map = self.chains.read().unwrap_or_else(|e| e.into_inner());
        let Some(l) = map.get(chain_id) else {
            return WatcherProgress::default();
        };
        WatcherProgress {
            head: l.head,
            last_success_age: l.last_success.map(|(at, _)| at.elapsed()),
            last_error: l.last_error.as_ref().map(|(e, _, _)| e.clone()),
            last_error_age: l.last_error.as_ref().map(|(_, at, _)| at.elapsed()),
        }
    }

    /// Every chain's status as this process alone knows it, ordered by chain id.
    pub fn snapshot(&self) -> Vec<ChainStatus> {
        self.report(None)
    }

    /// Every chain's status, ordered by chain id: this process's own progress for the chains
    /// whose lease it holds, the holder's published progress (`shared`, from the database) for
    /// the others. A chain this process watches is stalled when its last success, wherever it
    /// happened, is older than its threshold (or, with none yet, when watching began longer
    /// ago than that).
    pub fn report(&self, shared: Option<&[LeaseRecord]>) -> Vec<ChainStatus> {
        let map = self.chains.read().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.iter()
            .map(|(chain_id, l)| {
                let record = shared.and_then(|s| s.iter().find(|r| &r.chain_id == chain_id));
                let held_here = l.lease_until.is_some_and(|until| now < until);
                let mine = (
                    l.head,
                    l.last_success.map(|(at, ts)| (now.duration_since(at), ts)),
                    l.last_error.as_ref().map(|(e, _, ts)| (e.clone(), *ts)),
                );
                let (head, success, error) = match record {
                    Some(r) if !held_here => {
                        let published = r.last_success_age.zip(r.last_success_at);
                        // Whichever success is newer: ours from an earlier tenure, or the holder's.
                        let success = match (published, mine.1) {
                            (Some(p), Some(m)) => Some(if m.0 < p.0 { m } else { p }),
                            (p, m) => p.or(m),
                        };
                        (r.head.or(mine.0), success, r.last_error.clone().zip(r.last_error_at))
                    }
                    _ => mine,
                };
                let cursor = if held_here {
                    l.cursor.or(record.and_then(|r| r.cursor))
                } else {
                    record.and_then(|r| r.cursor).or(l.cursor)
                };
                let lease_holder = if held_here {
                    Some(self.replica_id.clone())
                } else {
                    record.filter(|r| r.live).map(|r| r.holder.clone())
                };
                let stalled = l.watched.is_some_and(|(since, limit)| match success {
                    Some((age, _)) => age > limit,
                    None => now.duration_since(since) > limit,
                });
                ChainStatus {
                    chain_id: chain_id.clone(),
                    head,
                    cursor,
                    lag: head.zip(cursor).map(|(h, c)| h.saturating_sub(c.saturating_sub(1))),
                    last_error: error.as_ref().map(|(e, _)| e.clone()),
                    last_error_at: error.map(|(_, at)| at),
                    last_success_at: success.map(|(_, at)| at),
                    lease_holder,
                    lease_held_here: held_here,
                    stalled,
                    stalled_after_ms: l.watched.map(|(_, limit)| limit.as_millis() as u64),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_cursor_lag(s: &ChainStatus) -> (Option<u64>, Option<u64>, Option<u64>) {
        (s.head, s.cursor, s.lag)
    }

    #[test]
    fn an_error_keeps_the_progress_and_the_next_pass_clears_it() {
        let board = ChainStatusBoard::default();
        board.record_success("polygon", 10, Some(11));
        board.record_error("polygon", "rpc: timeout".into());
        let failed = board.snapshot();
        assert_eq!(failed[0].head, Some(10));
        assert_eq!(failed[0].last_error.as_deref(), Some("rpc: timeout"));
        assert!(failed[0].last_error_at.is_some());
        assert!(failed[0].last_success_at.is_some());

        board.record_success("polygon", 11, Some(12));
        let fixed = board.snapshot();
        assert_eq!(head_cursor_lag(&fixed[0]), (Some(11), Some(12), Some(0)));
        assert_eq!((fixed[0].last_error.as_deref(), fixed[0].last_error_at), (None, None));
    }

    #[test]
    fn a_chain_that_never_succeeded_shows_only_its_error() {
        let board = ChainStatusBoard::default();
        board.record_success("polygon", 10, Some(11));
        board.record_error("base", "rpc: connection refused".into());
        let chains = board.snapshot();
        let ids: Vec<&str> = chains.iter().map(|c| c.chain_id.as_str()).collect();
        assert_eq!(ids, ["base", "polygon"]);
        assert_eq!(chains[0].head, None);
        assert_eq!(chains[0].last_success_at, None);
        assert_eq!(chains[0].last_error.as_deref(), Some("rpc: connection refused"));
    }

    #[test]
    fn a_watched_chain_without_a_recent_success_is_stalled() {
        let board = ChainStatusBoard::new("r1");
        board.watching("polygon", Duration::from_millis(30));
        board.watching("base", Duration::from_secs(60));
        board.record_success("polygon", 10, Some(11));
        assert!(board.snapshot().iter().all(|c| !c.stalled));

        std::thread::sleep(Duration::from_millis(60));
        board.record_error("polygon", "rpc: every RPC URL failed".into());
        let chains = board.snapshot();
        assert!(chains[1].stalled, "{chains:?}");
        assert_eq!(chains[1].stalled_after_ms, Some(30));
        assert!(!chains[0].stalled, "base has a minute");

        board.record_success("polygon", 12, Some(13));
        assert!(!board.snapshot()[1].stalled, "a success ends the stall");
    }

    #[test]
    fn a_replica_without_the_lease_reports_the_holders_published_progress() {
        let board = ChainStatusBoard::new("r2");
        board.watching("polygon", Duration::from_secs(10));
        let holder = LeaseRecord {
            chain_id: "polygon".into(),
            holder: "r1".into(),
            live: true,
            head: Some(100),
            cursor: Some(99),
            last_success_at: Some(chrono::Utc::now()),
            last_success_age: Some(Duration::from_millis(400)),
            last_error: None,
            last_error_at: None,
        };
        let chains = board.report(Some(std::slice::from_ref(&holder)));
        let polygon = &chains[0];
        assert_eq!(head_cursor_lag(polygon), (Some(100), Some(99), Some(2)));
        assert_eq!(polygon.lease_holder.as_deref(), Some("r1"));
        assert!(!polygon.lease_held_here);
        assert!(!polygon.stalled, "r2 does not poll, but r1 does");

        // The holder died long ago: its last success ages past the threshold.
        let dead = LeaseRecord {
            live: false,
            last_success_age: Some(Duration::from_secs(11)),
            ..holder
        };
        let chains = board.report(Some(std::slice::from_ref(&dead)));
        assert_eq!(chains[0].lease_holder, None);
        assert!(chains[0].stalled);
    }

    #[test]
    fn the_holder_reports_its_own_progress() {
        let board = ChainStatusBoard::new("r1");
        board.watching("polygon", Duration::from_secs(10));
        board.set_lease("polygon", Some(Instant::now() + Duration::from_secs(5)));
        board.record_success("polygon", 120, Some(121));
        let stale = LeaseRecord {
            chain_id: "polygon".into(),
            holder: "r1".into(),
            live: true,
            head: Some(100),
            cursor: Some(101),
            ..LeaseRecord::default()
        };
        let chains = board.report(Some(std::slice::from_ref(&stale)));
        assert_eq!(head_cursor_lag(&chains[0]), (Some(120), Some(121), Some(0)));
        assert_eq!(chains[0].lease_holder.as_deref(), Some("r1"));
        assert!(chains[0].lease_held_here);
    }
}
