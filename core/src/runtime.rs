//! The engine's runtime: the background workers a gateway runs beside its front doors — one
//! chain scanner per watched network, the webhook dispatcher, and maintenance (order expiry,
//! address cooldown, deposit completion) — started by one call and stopped by one token.
//!
//! This is the one place that decides which workers a process runs. Every replica runs them
//! all: each chain's scanner passes only while this replica holds the chain's lease
//! ([`crate::chain::lease`]: one watcher per chain across replicas), while the dispatcher
//! (deliveries claimed under a lease row each) and maintenance (expiry and cooldown skip or
//! wait on locked rows) are safe on every replica at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::chain::lease::LeaseOptions;
use crate::chain::watcher::spawn_watchers;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::webhook::dispatch::{Dispatcher, DispatcherOptions};

/// How often the time-driven workers wake up.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The dispatcher's poll interval (it is also woken when events are written) and the
    /// maintenance interval.
    pub tick: Duration,
    /// The chain watchers' leases: lifetime and renewal interval.
    pub lease: LeaseOptions,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            tick: Duration::from_secs(1),
            lease: LeaseOptions::default(),
        }
    }
}

/// The running background workers of one engine, until its shutdown token is cancelled.
#[derive(Debug)]
pub struct Workers {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts every worker of `engine`; each stops at its next safe point once `shutdown` is
    /// cancelled (a scan or a delivery in flight finishes and commits first).
    pub fn start(engine: &Arc<Engine>, options: WorkerOptions, shutdown: CancellationToken) -> Result<Workers> {
        // The workers wait on a watch channel; the token drives it.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = vec![tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                let _ = stop_tx.send(true);
            }
        })];
        tasks.extend(spawn_watchers(engine, options.lease, stop_rx.clone())?);
        let dispatcher = Dispatcher::new(
            engine.clone(),
            DispatcherOptions {
                poll_every: options.tick,
                ..DispatcherOptions::default()
            },
        )?;
        tasks.push(tokio::spawn(Arc::new(dispatcher).run(stop_rx.clone())));
        if let Some(rates) = engine.rates() {
            tasks.push(tokio::spawn(rates.clone().poll(engine.clock(), stop_rx.clone())));
        }
        tasks.push(tokio::spawn(engine.clone().maintain(options.tick, stop_rx)));
        Ok(Workers { shutdown, tasks })
    }

    /// Cancels the shutdown token and waits until every worker has stopped.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.join().await
    }

    /// Waits until every worker has stopped (after the shutdown token is cancelled).
    pub async fn join(self) -> Result<()> {
        for task in self.tasks {
            task.await
                .map_err(|e| Error::Internal(format!("a background worker failed: {e}")))?;
        }
        Ok(())
    }
}
