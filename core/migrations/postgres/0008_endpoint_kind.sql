-- The notifier seam. Each endpoint has a kind that renders its requests and judges the answers
-- at send time ('payin': the event JSON signed with both schemes, any 2xx received).
ALTER TABLE webhook_endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'payin';

