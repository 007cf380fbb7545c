-- Issue 13: shared-address orders (unique amount tails) and fiat quotes.
-- pay_amount: what the payer sends (NULL on older rows: they pay `amount`).
-- pay_key: the normalized pay amount of a shared-address order (NULL for pool orders); a
-- transfer to a shared address is matched on (address, chain_id, currency, pay_key).
ALTER TABLE orders ADD COLUMN pay_amount TEXT;
ALTER TABLE orders ADD COLUMN pay_key TEXT;
ALTER TABLE orders ADD COLUMN fiat_currency TEXT;
ALTER TABLE orders ADD COLUMN fiat_amount TEXT;
ALTER TABLE orders ADD COLUMN rate TEXT;

-- "One address, one live order" holds for pool addresses only: a shared address serves many.
DROP INDEX orders_pending_address;
CREATE UNIQUE INDEX orders_pending_address ON orders (address) WHERE status = 'pending' AND pay_key IS NULL;
CREATE INDEX orders_shared_match ON orders (address, chain_id, currency, pay_key, created_at)
    WHERE pay_key IS NOT NULL;

-- One row per amount tail in use on a shared address: the primary key is what makes two live
-- orders on one (chain, token, address) never share a payable amount, on any replica. A lock
-- lives until the order's window + grace ends (longer while the order is still pending) and
-- is deleted by maintenance, or when a new order on the address finds it stale.
CREATE TABLE amount_locks (
    chain_id     TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    pay_key      TEXT    NOT NULL,
    protocol     TEXT    NOT NULL,
    order_id     TEXT    NOT NULL UNIQUE REFERENCES orders (order_id),
    locked_until TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chain_id, currency, address, pay_key)
);
CREATE INDEX amount_locks_until ON amount_locks (locked_until);
CREATE INDEX amount_locks_watch ON amount_locks (protocol, created_at);

-- Transfers to a shared address that matched no order (also in `transfers` as 'unmatched'),
-- with the `payment.unmatched` event that reported them.
CREATE TABLE unmatched_transfers (
    chain_id    TEXT    NOT NULL,
    tx_hash     TEXT    NOT NULL,
    log_index   BIGINT  NOT NULL,
    address     TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    amount      TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX unmatched_transfers_address ON unmatched_transfers (address, detected_at);
