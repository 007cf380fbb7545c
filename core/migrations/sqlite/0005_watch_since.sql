-- When an address was last assigned, so the watcher can load only what changed since its last
-- pass instead of every address in use.
ALTER TABLE pool_addresses ADD COLUMN assigned_at INTEGER;
CREATE INDEX pool_addresses_assigned_at ON pool_addresses (protocol, assigned_at);
