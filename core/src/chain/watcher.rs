//! The engine's chain watchers: one [`Scanner`] per watched network, hosted by the [`Engine`]
//! (its store, clock, settings and `/health` board).

use std::sync::Arc;

use chrono::Duration as ChronoDuration;

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

/// Starts a scanner for every watched network (see [`super::Network::check_watched`]), each
/// until `shutdown` flips to true.
pub fn spawn_watchers(
    engine: &Arc<Engine>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for network in engine.chains().networks() {
        let options = ScanOptions::for_network(network);
        if let Some(scanner) = Scanner::new(engine.clone(), network.clone(), options)? {
            tracing::info!(chain = %network.id, rpc = network.rpc_urls.len(), "watching chain");
            handles.push(tokio::spawn(scanner.run(shutdown.clone())));
        }
    }
    Ok(handles)
}
