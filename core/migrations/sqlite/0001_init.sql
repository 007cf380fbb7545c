-- Amounts are exact decimal strings (SQLite has no decimal type); `*_sort` columns hold a
-- fixed-width key whose text order is numeric order. Times are Unix milliseconds.

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE pool_addresses (
    protocol        TEXT NOT NULL,
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('available', 'assigned', 'cooldown')),
    assigned_kind   TEXT CHECK (assigned_kind IN ('order', 'deposit')),
    assigned_ref    TEXT,
    available_since INTEGER NOT NULL,
    cooldown_until  INTEGER,
    imported_at     INTEGER NOT NULL,
    PRIMARY KEY (protocol, address)
);
-- Least recently used first, so a released address rests as long as possible.
CREATE INDEX pool_addresses_claim ON pool_addresses (protocol, state, available_since, address);
-- Finds addresses whose cooldown is over without scanning the pool.
CREATE INDEX pool_addresses_cooling ON pool_addresses (cooldown_until) WHERE state = 'cooldown';

CREATE TABLE pool_alerts (
    protocol    TEXT PRIMARY KEY,
    low         INTEGER NOT NULL
);

CREATE TABLE orders (
    order_id               TEXT PRIMARY KEY,
    order_reference        TEXT NOT NULL UNIQUE,
    amount                 TEXT NOT NULL,
    amount_sort            TEXT NOT NULL,
    amount_received        TEXT NOT NULL,
    currency               TEXT NOT NULL,
    chain_id               TEXT NOT NULL,
    protocol               TEXT NOT NULL,
    address                TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'expired')),
    metadata               TEXT NOT NULL,
    success_url            TEXT,
    cancel_url             TEXT,
    payment_url            TEXT NOT NULL,
    payment_window_minutes INTEGER NOT NULL,
    grace_minutes          INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
    grace_ends_at          INTEGER NOT NULL,
    completed_at           INTEGER,
    expired_at             INTEGER,
    tx_hash                TEXT,
    block_number           INTEGER,
    confirmations          INTEGER
);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX orders_pending_grace ON orders (grace_ends_at) WHERE status = 'pending';
-- The last line of defence for "one address, one live order".
CREATE UNIQUE INDEX orders_pending_address ON orders (address) WHERE status = 'pending';

CREATE TABLE deposit_references (
    deposit_reference TEXT PRIMARY KEY,
    metadata          TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);

CREATE TABLE deposit_addresses (
    deposit_reference TEXT NOT NULL REFERENCES deposit_references (deposit_reference),
    protocol          TEXT NOT NULL,
    address           TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    released_at       INTEGER
);
CREATE UNIQUE INDEX deposit_addresses_live_ref ON deposit_addresses (deposit_reference, protocol) WHERE released_at IS NULL;
CREATE UNIQUE INDEX deposit_addresses_live_address ON deposit_addresses (address) WHERE released_at IS NULL;

CREATE TABLE deposit_bindings (
    deposit_reference TEXT NOT NULL REFERENCES deposit_references (deposit_reference),
    chain_id          TEXT NOT NULL,
    currency          TEXT,
    protocol          TEXT NOT NULL,
    address           TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (deposit_reference, chain_id)
);

CREATE TABLE deposits (
    deposit_id        TEXT PRIMARY KEY,
    deposit_reference TEXT NOT NULL REFERENCES deposit_references (deposit_reference),
    address           TEXT NOT NULL,
    chain_id          TEXT NOT NULL,
    currency          TEXT NOT NULL,
    amount            TEXT NOT NULL,
    amount_sort       TEXT NOT NULL,
    tx_hash           TEXT NOT NULL,
    log_index         INTEGER NOT NULL,
    block_number      INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'completed')),
    confirmations     INTEGER NOT NULL,
    detected_at       INTEGER NOT NULL,
    confirmed_at      INTEGER,
    completed_at      INTEGER,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX deposits_reference ON deposits (deposit_reference, detected_at);
CREATE INDEX deposits_detected_at ON deposits (detected_at);

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX events_type ON events (type, seq);
