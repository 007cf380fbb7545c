-- Watch-only HD pools: account-level xpubs the pool derives addresses from, each with the next
-- index to derive (advanced in the transaction that inserts the derived addresses, so no index
-- is derived twice), and the `retired` address state of `address_reuse = "never"`.
CREATE TABLE hd_keys (
    key_id       TEXT PRIMARY KEY,
    protocol     TEXT NOT NULL,
    xpub         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    account      INTEGER NOT NULL,
    start_index  INTEGER NOT NULL,
    next_index   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (protocol, xpub)
);

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with `retired` allowed
-- and the derivation of HD addresses (`hd_key_id`, `hd_index`) recorded.
CREATE TABLE pool_addresses_new (
    protocol        TEXT NOT NULL,
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('available', 'assigned', 'cooldown', 'retired')),
    assigned_kind   TEXT CHECK (assigned_kind IN ('order', 'deposit')),
    assigned_ref    TEXT,
    available_since INTEGER NOT NULL,
    cooldown_until  INTEGER,
    imported_at     INTEGER NOT NULL,
    assigned_at     INTEGER,
    hd_key_id       TEXT,
    hd_index        INTEGER,
    PRIMARY KEY (protocol, address)
);
INSERT INTO pool_addresses_new
    (protocol, address, state, assigned_kind, assigned_ref, available_since, cooldown_until, imported_at, assigned_at)
SELECT protocol, address, state, assigned_kind, assigned_ref, available_since, cooldown_until, imported_at, assigned_at
FROM pool_addresses;
DROP TABLE pool_addresses;
ALTER TABLE pool_addresses_new RENAME TO pool_addresses;
CREATE INDEX pool_addresses_claim ON pool_addresses (protocol, state, available_since, address);
CREATE INDEX pool_addresses_cooling ON pool_addresses (cooldown_until) WHERE state = 'cooldown';
CREATE INDEX pool_addresses_assigned_at ON pool_addresses (protocol, assigned_at);
