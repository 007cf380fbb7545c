-- Compatible APIs (issue 13): HashNut v3 and QieJiao (epay style) over the same engine.
--
-- A merchant's credentials for one compatible API: the public id it sends (HashNut access key
-- id, QieJiao pid) and the secret that verifies its requests (HMAC-SHA256 for HashNut, MD5 for
-- QieJiao). The secret is kept in clear, like webhook secrets: it must recompute signatures.
-- It is only ever shown by the creation call.
CREATE TABLE compat_merchants (
    id          TEXT PRIMARY KEY,
    api         TEXT NOT NULL CHECK (api IN ('hashnut', 'qiejiao')),
    name        TEXT NOT NULL,
    public_id   TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    UNIQUE (api, public_id)
);

-- What a compatible API knows about one of its orders beside the order itself. The row is
-- written before the order (it reserves the merchant's order id), so it has no foreign key to
-- `orders`; a creation that fails removes it.
CREATE TABLE compat_orders (
    order_id           TEXT PRIMARY KEY,
    api                TEXT NOT NULL,
    merchant_id        TEXT NOT NULL REFERENCES compat_merchants (id),
    merchant_order_id  TEXT NOT NULL,
    -- HashNut's accessSign (64 uppercase hex, random): what authorises a query of this order.
    access_sign        TEXT NOT NULL UNIQUE,
    -- The per-order callback (HashNut callBackUrl, QieJiao notify_url) and return page.
    callback_url       TEXT,
    frontend_url       TEXT,
    -- Merchant data echoed back (QieJiao `param`, HashNut `param1`/`param2` as JSON).
    param              TEXT,
    -- The API's own chain and coin words as the merchant sent them (`tron-trc20`, `usdt`; `1`).
    chain_code         TEXT NOT NULL,
    coin_code          TEXT NOT NULL,
    -- Anything else an API needs to answer as it does (a JSON object: QieJiao's currency and
    -- CNY amount, HashNut's subject/remark …).
    extra              TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    UNIQUE (api, merchant_id, merchant_order_id)
);

-- Request uuids (nonces) seen within the replay window, shared by every replica; maintenance
-- purges those older than the window.
CREATE TABLE compat_nonces (
    api      TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (api, nonce)
);
CREATE INDEX compat_nonces_seen ON compat_nonces (seen_at);

-- Per-order callbacks are deliveries to a hidden endpoint scoped to one order: `order_id` set,
-- it gets only that order's events, is never listed, and `context` (JSON) carries what its
-- kind's notifier renders besides the event (HashNut: merchantOrderId, accessSign).
ALTER TABLE webhook_endpoints ADD COLUMN order_id TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN context TEXT;
CREATE INDEX webhook_endpoints_order ON webhook_endpoints (order_id) WHERE order_id IS NOT NULL;
