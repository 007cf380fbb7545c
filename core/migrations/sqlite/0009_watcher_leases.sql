-- One watcher per chain across processes on this database: the process holding a chain's lease
-- scans it and renews the lease every few seconds; once `expires_at` passes another process may
-- take it over. With each renewal the holder publishes its progress for `/health`. Times are
-- Unix milliseconds.
CREATE TABLE watcher_leases (
    chain_id        TEXT PRIMARY KEY,
    holder          TEXT NOT NULL,
    acquired_at     INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    head            INTEGER,
    last_success_at INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER
);
