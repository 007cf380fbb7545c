-- The notifier seam. Each endpoint has a kind that renders its requests and judges the answers
-- at send time ('payin': the event JSON signed with both schemes, any 2xx received).
ALTER TABLE webhook_endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'payin';

-- Who is subscribed is decided once, in Rust (webhook::outbox): the stores write each event's
-- deliveries in the event's own transaction, so the trigger that decided it in SQL goes.
DROP TRIGGER events_outbox;
