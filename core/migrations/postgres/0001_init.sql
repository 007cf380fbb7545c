-- Amounts are NUMERIC (exact, scale as sent); times are TIMESTAMPTZ. Machine identifiers
-- (addresses, references, chain ids) use the "C" collation: byte order, the same as SQLite, and
-- indexes that serve ORDER BY whatever the database locale.

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE pool_addresses (
    protocol        TEXT NOT NULL,
    address         TEXT COLLATE "C" NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('available', 'assigned', 'cooldown')),
    assigned_kind   TEXT CHECK (assigned_kind IN ('order', 'deposit')),
    assigned_ref    TEXT,
    available_since TIMESTAMPTZ NOT NULL,
    cooldown_until  TIMESTAMPTZ,
    imported_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (protocol, address)
);
-- Least recently used first, so a released address rests as long as possible.
CREATE INDEX pool_addresses_claim ON pool_addresses (protocol, state, available_since, address);
-- Finds addresses whose cooldown is over without scanning the pool.
CREATE INDEX pool_addresses_cooling ON pool_addresses (cooldown_until) WHERE state = 'cooldown';

CREATE TABLE pool_alerts (
    protocol    TEXT PRIMARY KEY,
    low         BOOLEAN NOT NULL
);

CREATE TABLE orders (
    order_id               TEXT PRIMARY KEY,
    order_reference        TEXT NOT NULL UNIQUE,
    amount                 NUMERIC NOT NULL,
    amount_received        NUMERIC NOT NULL,
    currency               TEXT NOT NULL,
    chain_id               TEXT NOT NULL,
    protocol               TEXT NOT NULL,
    address                TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'expired')),
    metadata               JSONB NOT NULL,
    success_url            TEXT,
    cancel_url             TEXT,
    payment_url            TEXT NOT NULL,
    payment_window_minutes INTEGER NOT NULL,
    grace_minutes          INTEGER NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL,
    expires_at             TIMESTAMPTZ NOT NULL,
    grace_ends_at          TIMESTAMPTZ NOT NULL,
    completed_at           TIMESTAMPTZ,
    expired_at             TIMESTAMPTZ,
    tx_hash                TEXT,
    block_number           BIGINT,
    confirmations          BIGINT
);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX orders_pending_grace ON orders (grace_ends_at) WHERE status = 'pending';
-- The last line of defence for "one address, one live order".
CREATE UNIQUE INDEX orders_pending_address ON orders (address) WHERE status = 'pending';

CREATE TABLE deposit_references (
    deposit_reference TEXT COLLATE "C" PRIMARY KEY,
    metadata          JSONB NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE deposit_addresses (
    deposit_reference TEXT COLLATE "C" NOT NULL REFERENCES deposit_references (deposit_reference),
    protocol          TEXT NOT NULL,
    address           TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    released_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX deposit_addresses_live_ref ON deposit_addresses (deposit_reference, protocol) WHERE released_at IS NULL;
CREATE UNIQUE INDEX deposit_addresses_live_address ON deposit_addresses (address) WHERE released_at IS NULL;

CREATE TABLE deposit_bindings (
    deposit_reference TEXT COLLATE "C" NOT NULL REFERENCES deposit_references (deposit_reference),
    chain_id          TEXT COLLATE "C" NOT NULL,
    currency          TEXT,
    protocol          TEXT NOT NULL,
    address           TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (deposit_reference, chain_id)
);

CREATE TABLE deposits (
    deposit_id        TEXT PRIMARY KEY,
    deposit_reference TEXT COLLATE "C" NOT NULL REFERENCES deposit_references (deposit_reference),
    address           TEXT NOT NULL,
    chain_id          TEXT NOT NULL,
    currency          TEXT NOT NULL,
    amount            NUMERIC NOT NULL,
    tx_hash           TEXT NOT NULL,
    log_index         BIGINT NOT NULL,
    block_number      BIGINT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'completed')),
    confirmations     BIGINT NOT NULL,
    detected_at       TIMESTAMPTZ NOT NULL,
    confirmed_at      TIMESTAMPTZ,
    completed_at      TIMESTAMPTZ,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX deposits_reference ON deposits (deposit_reference, detected_at);
CREATE INDEX deposits_detected_at ON deposits (detected_at);

CREATE TABLE events (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    -- The exact webhook body: stored as text so every delivery signs the same bytes.
    payload     TEXT NOT NULL
);
CREATE INDEX events_type ON events (type, seq);
