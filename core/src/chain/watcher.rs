//! The engine's chain watchers: one [`Scanner`] per watched network, hosted by the [`Engine`]
//! (its store, clock, settings and `/health` board), each scanning while this replica holds the
//! chain's lease (see [`super::lease`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;

use super::lease::{Leadership, LeaseOptions, keep_lease};
use super::rpc::{RpcTimeouts, redact_url};
use super::scanner::{ScanHost, ScanOptions, Scanner};
use super::status::ChainStatusBoard;
use crate::engine::Engine;
use crate::error::Result;
use crate::store::ChainStore;
use crate::time::Timestamp;

impl ScanHost for Engine {
    fn chain_store(&self) -> &dyn ChainStore {
        Engine::chain_store(self)
    }

    fn now(&self) -> Timestamp {
        Engine::now(self)
    }

    fn address_cooldown(&self) -> ChronoDuration {
        ChronoDuration::minutes(i64::from(self.settings().address_cooldown_minutes))
    }

    fn chain_status(&self) -> &ChainStatusBoard {
        Engine::chain_status(self)
    }

    fn notify_events_written(&self) {
        Engine::notify_events_written(self)
    }
}

/// Starts, for every watched network (see [`super::Network::check_watched`]), its scanner and
/// the task that keeps its lease, each until `shutdown` flips to true. The scanner passes only
/// while this replica holds the lease.
pub fn spawn_watchers(
    engine: &Arc<Engine>,
    lease: LeaseOptions,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for network in engine.chains().networks() {
        let options = ScanOptions::for_network(network);
        let poll_interval = options.poll_interval;
        if let Some(scanner) = Scanner::new(engine.clone(), network.clone(), options)? {
            let rpc: Vec<String> = network.rpc_urls.iter().map(|u| redact_url(u)).collect();
            tracing::info!(chain = %network.id, rpc = ?rpc, replica = %engine.replica_id(), "watching chain while holding its lease");
            engine
                .chain_status()
                .watching(&network.id, stalled_after(poll_interval, network.rpc_timeouts, lease));
            let (held, leadership) = Leadership::channel();
            handles.push(tokio::spawn(keep_lease(
                engine.clone(),
                network.id.clone(),
                engine.replica_id().to_string(),
                lease,
                held,
                shutdown.clone(),
            )));
            handles.push(tokio::spawn(scanner.run(leadership, shutdown.clone())));
        }
    }
    Ok(handles)
}

/// How long a chain may go without a successful pass before `/health` calls it stalled: ten
/// poll intervals, and at least what a pass that fails over from a hanging URL may take (two
/// request timeouts) plus the delay before the holder's progress reaches the other replicas.
pub fn stalled_after(poll_interval: Duration, rpc: RpcTimeouts, lease: LeaseOptions) -> Duration {
    (poll_interval * 10).max(rpc.request * 2) + lease.renew_every
}
