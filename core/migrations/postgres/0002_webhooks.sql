-- Webhooks. The outbox: every event insert also inserts one delivery per active endpoint
-- subscribed to its type, in the same statement (the `events_outbox` trigger below, so no writer
-- of events can forget it and it costs no extra round trip); the dispatcher works through the pending
-- ones (claimed with FOR UPDATE SKIP LOCKED) and records one attempt row per try.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT,
    -- JSON array of event types; [] subscribes to every type.
    events          JSONB NOT NULL,
    -- Needed in clear to sign each delivery; only ever returned by the creation call.
    secret          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at      TIMESTAMPTZ NOT NULL,
    disabled_at     TIMESTAMPTZ,
    disabled_reason TEXT,
    -- Deleted endpoints stay (their deliveries remain queryable) but are no longer listed.
    deleted_at      TIMESTAMPTZ
);

CREATE TABLE webhook_deliveries (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Attempts started so far; a claim increments it, so it also fences stale workers.
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- When a pending delivery is due; while an attempt runs, the end of its lease.
    next_attempt_at  TIMESTAMPTZ,
    last_http_status INTEGER,
    last_error       TEXT,
    last_duration_ms BIGINT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);
-- The dispatcher's queue: due pending deliveries, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt     INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    -- Both NULL while the attempt runs (or if its worker died: see `error` set on reclaim).
    http_status INTEGER,
    error       TEXT,
    duration_ms BIGINT,
    PRIMARY KEY (delivery_id, attempt)
);

-- The outbox. Deliveries are due at once, at the event's time (the engine's clock, not now()).
CREATE FUNCTION events_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at, created_at)
    SELECT 'dlv_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), NEW.id, e.id, 'pending', 0,
           NEW.created_at, NEW.created_at
    FROM webhook_endpoints e
    WHERE e.status = 'active' AND (e.events = '[]'::jsonb OR e.events @> jsonb_build_array(NEW.type));
    RETURN NULL;
END
$$;
CREATE TRIGGER events_outbox AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_outbox();
