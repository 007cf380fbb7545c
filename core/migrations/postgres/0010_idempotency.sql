-- Idempotency keys (`Idempotency-Key` on POST): the first request with a key, per API key,
-- reserves it (status_code NULL while it runs, until locked_until); its response is stored so
-- a retry with the same key and the same request replays it for 24 hours.
CREATE TABLE idempotency_keys (
    scope           TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    status_code     BIGINT,
    response_body   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
