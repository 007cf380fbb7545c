-- Secret rotation: after a rotation the previous secret keeps signing deliveries (as a second
-- `webhook-signature` entry) until `previous_secret_expires_at`, so receivers can switch
-- without losing a webhook.
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT, ADD COLUMN previous_secret_expires_at TIMESTAMPTZ;
