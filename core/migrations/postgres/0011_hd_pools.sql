-- Watch-only HD pools: account-level xpubs the pool derives addresses from, each with the next
-- index to derive (advanced under the key row's lock in the transaction that inserts the
-- derived addresses, so no index is derived twice across replicas), and the `retired` address
-- state of `address_reuse = "never"`.
CREATE TABLE hd_keys (
    key_id       TEXT PRIMARY KEY,
    protocol     TEXT NOT NULL,
    xpub         TEXT COLLATE "C" NOT NULL,
    fingerprint  TEXT NOT NULL,
    account      BIGINT NOT NULL,
    start_index  BIGINT NOT NULL,
    next_index   BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (protocol, xpub)
);

ALTER TABLE pool_addresses DROP CONSTRAINT pool_addresses_state_check;
ALTER TABLE pool_addresses ADD CONSTRAINT pool_addresses_state_check
    CHECK (state IN ('available', 'assigned', 'cooldown', 'retired'));
ALTER TABLE pool_addresses ADD COLUMN hd_key_id TEXT;
ALTER TABLE pool_addresses ADD COLUMN hd_index BIGINT;
