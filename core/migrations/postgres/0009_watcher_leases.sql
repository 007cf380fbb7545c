-- One watcher per chain across replicas: the replica holding a chain's lease scans it and
-- renews the lease every few seconds; once `expires_at` passes (the holder died or lost the
-- database) another replica takes it over. With each renewal the holder publishes its progress,
-- so `/health` on every replica shows the chain's state. Times are the database's clock.
CREATE TABLE watcher_leases (
    chain_id        TEXT COLLATE "C" PRIMARY KEY,
    holder          TEXT NOT NULL,
    acquired_at     TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    head            BIGINT,
    last_success_at TIMESTAMPTZ,
    last_error      TEXT,
    last_error_at   TIMESTAMPTZ
);
