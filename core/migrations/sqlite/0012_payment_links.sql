-- Payment links (issue 12): a public checkout at /checkout/{slug} that opens an order per
-- payer. Inventory is not a counter: reserved = the link's pending orders, sold = its
-- completed orders, so completion and expiry move units without touching this table. An order
-- is opened under the writer lock (BEGIN IMMEDIATE) after counting them.
CREATE TABLE payment_links (
    id              TEXT    PRIMARY KEY,
    slug            TEXT    NOT NULL UNIQUE,
    title           TEXT    NOT NULL,
    description     TEXT,
    amount          TEXT    NOT NULL,
    min_amount      TEXT,
    max_amount      TEXT,
    currencies      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    inventory_total INTEGER,
    expires_at      INTEGER,
    metadata        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX payment_links_created_at ON payment_links (created_at);

ALTER TABLE orders ADD COLUMN payment_link_id TEXT REFERENCES payment_links (id);
CREATE INDEX orders_payment_link ON orders (payment_link_id, status) WHERE payment_link_id IS NOT NULL;
