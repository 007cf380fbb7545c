-- The chain watcher: cursors, recent block hashes (reorg detection), every matched transfer.

ALTER TABLE orders ADD COLUMN amount_confirmed TEXT NOT NULL DEFAULT '0';
ALTER TABLE orders ADD COLUMN surplus TEXT;
ALTER TABLE deposits ADD COLUMN block_hash TEXT;
-- The `deposit.confirmed` event: the deposit completes once every delivery of it succeeded.
ALTER TABLE deposits ADD COLUMN confirmed_event_id TEXT;

CREATE TABLE chain_cursors (
    chain_id           TEXT PRIMARY KEY,
    -- Every block below this one has been scanned.
    next_block         INTEGER NOT NULL,
    -- Timestamp (Unix ms) of the last scanned block: expiry waits until the scan passed a deadline.
    scanned_block_time INTEGER,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE chain_blocks (
    chain_id TEXT NOT NULL,
    number   INTEGER NOT NULL,
    hash     TEXT NOT NULL,
    PRIMARY KEY (chain_id, number)
);

CREATE TABLE transfers (
    chain_id      TEXT NOT NULL,
    tx_hash       TEXT NOT NULL,
    log_index     INTEGER NOT NULL,
    block_number  INTEGER NOT NULL,
    block_hash    TEXT NOT NULL,
    block_time    INTEGER NOT NULL,
    token         TEXT NOT NULL,
    currency      TEXT NOT NULL,
    from_address  TEXT NOT NULL,
    to_address    TEXT NOT NULL,
    amount        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('unconfirmed', 'confirmed', 'reversed')),
    -- payment: counted toward order_id; late: after order_id ended; mismatch: wrong token or chain
    -- for order_id; deposit: deposit_id; unmatched: no owner at that time.
    kind          TEXT NOT NULL CHECK (kind IN ('payment', 'late', 'mismatch', 'deposit', 'unmatched')),
    order_id      TEXT,
    deposit_id    TEXT,
    detected_at   INTEGER NOT NULL,
    confirmed_at  INTEGER,
    reversed_at   INTEGER,
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX transfers_unconfirmed ON transfers (chain_id, block_number) WHERE status = 'unconfirmed';
CREATE INDEX transfers_order ON transfers (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX orders_address ON orders (address, created_at);
CREATE INDEX deposit_addresses_address ON deposit_addresses (address, created_at);
