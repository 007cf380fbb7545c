-- The signature headers each attempt was sent with (a JSON object by header name), so a
-- merchant can check a delivery against their secret without capturing it (the body is the
-- event's stored payload). Signatures are not secrets: they are HMACs of the body.
ALTER TABLE webhook_attempts ADD COLUMN headers TEXT;
