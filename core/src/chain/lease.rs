//! One watcher per chain across replicas: a lease per chain in the database. Every replica runs
//! a [`keep_lease`] task per watched chain that takes the lease when nobody holds it (or its
//! holder stopped renewing it) and renews it while it holds it; the chain's scanner passes only
//! while its [`Leadership`] says so. A holder that dies (even `kill -9`) stops renewing, and
//! another replica takes over once the lease expires: within `ttl + renew_every`.
//!
//! Two scanners of one chain never corrupt anything (the store drops a scan whose cursor moved,
//! see `store::postgres::settle`): the lease exists so N replicas cost one replica's RPC traffic,
//! and so `/health` can say who watches each chain. On SQLite the one process takes every lease.
//!
//! With each renewal the holder publishes its progress (head, last success, last error) in the
//! lease row: a replica that does not hold the lease reports the holder's progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::scanner::ScanHost;
use crate::time::Timestamp;

/// How long a lease lasts and how often its holder renews it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseOptions {
    /// A holder that stops renewing loses the lease this long after its last renewal.
    pub ttl: Duration,
    /// How often every replica claims (holder: renews) each chain's lease.
    pub renew_every: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            ttl: Duration::from_secs(5),
            renew_every: Duration::from_secs(1),
        }
    }
}

/// What a holder publishes with each renewal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatcherProgress {
    pub head: Option<u64>,
    /// How long ago the last pass succeeded.
    pub last_success_age: Option<Duration>,
    pub last_error: Option<String>,
    /// How long ago the last error happened.
    pub last_error_age: Option<Duration>,
}

/// A replica's claim on a chain's lease (see `ChainStore::claim_watcher_lease`).
#[derive(Debug, Clone)]
pub struct LeaseClaim<'a> {
    pub chain_id: &'a str,
    pub holder: &'a str,
    pub ttl: Duration,
    pub progress: &'a WatcherProgress,
}

/// A chain's lease as stored, with the progress its holder last published and the chain's
/// cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    pub chain_id: String,
    pub holder: String,
    /// False once the lease expired (its holder stopped renewing it).
    pub live: bool,
    pub head: Option<u64>,
    pub cursor: Option<u64>,
    pub last_success_at: Option<Timestamp>,
    /// How long ago `last_success_at` was, by the database's clock.
    pub last_success_age: Option<Duration>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
}

/// Whether this replica may scan a chain: until when its lease is known to hold, as the
/// chain's [`keep_lease`] task last learnt. It lapses on its own when renewals stop succeeding.
#[derive(Debug, Clone)]
pub struct Leadership(watch::Receiver<Option<Instant>>);

impl Leadership {
    /// A leadership and the sender [`keep_lease`] updates it through.
    pub fn channel() -> (watch::Sender<Option<Instant>>, Leadership) {
        let (tx, rx) = watch::channel(None);
        (tx, Leadership(rx))
    }

    /// True while the lease is held.
    pub fn is_held(&self) -> bool {
        self.0.borrow().is_some_and(|until| Instant::now() < until)
    }

    /// Resolves at the next renewal attempt's outcome (never, once the keeper stopped).
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Claims `chain_id`'s lease for `holder` every `options.renew_every` until `shutdown` flips,
/// telling the chain's scanner through `held` (and `/health` through the host's status board)
/// until when it holds it. On shutdown a held lease is released, so another replica takes over
/// at once.
pub async fn keep_lease(
    host: Arc<dyn ScanHost>,
    chain_id: String,
    holder: String,
    options: LeaseOptions,
    held: watch::Sender<Option<Instant>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut holding = false;
    loop {
        let started = Instant::now();
        let progress = host.chain_status().progress(&chain_id);
        let claim = LeaseClaim {
            chain_id: &chain_id,
            holder: &holder,
            ttl: options.ttl,
            progress: &progress,
        };
        let outcome = tokio::time::timeout(options.ttl, host.chain_store().claim_watcher_lease(&claim)).await;
        match outcome {
            Ok(Ok(true)) => {
                if !holding {
                    tracing::info!(chain = %chain_id, replica = %holder, "this replica now watches the chain (lease taken)");
                }
                holding = true;
                // Counted from before the claim: the lease cannot outlive the database's view of it.
                let until = started + options.ttl;
                host.chain_status().set_lease(&chain_id, Some(until));
                held.send_replace(Some(until));
            }
            Ok(Ok(false)) => {
                if holding {
                    tracing::warn!(chain = %chain_id, replica = %holder, "another replica took over the chain's lease");
                }
                holding = false;
                host.chain_status().set_lease(&chain_id, None);
                held.send_replace(None);
            }
            // The lease (if held) lapses on its own at its known expiry; retried next round.
            Ok(Err(e)) => {
                tracing::warn!(chain = %chain_id, error = %e, "could not claim or renew the watcher lease")
            }
            Err(_) => tracing::warn!(
                chain = %chain_id,
                "claiming the watcher lease took longer than its {} ms lifetime",
                options.ttl.as_millis()
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(options.renew_every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    if holding {
        held.send_replace(None);
        host.chain_status().set_lease(&chain_id, None);
        if let Err(e) = host.chain_store().release_watcher_lease(&chain_id, &holder).await {
            tracing::warn!(chain = %chain_id, error = %e, "could not release the watcher lease; it expires on its own");
        }
    }
}

/// A name for this process in leases and `/health`: host name, process id and a random
/// suffix (a restarted container may reuse both).
pub fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "payin".to_string());
    format!("{host}-{}-{}", std::process::id(), crate::ids::random_lower_alnum(4))
}
