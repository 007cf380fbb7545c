-- Chain settings recorded by `payin dev` (its local chain's RPC URL and test token contracts),
-- so every process opened on this database sees chain `local` configured. The engine applies
-- only chain `local` from here; the config file wins over it. Times are Unix milliseconds.

CREATE TABLE chain_overrides (
    chain_id    TEXT PRIMARY KEY,
    rpc_url     TEXT NOT NULL,
    -- JSON object by symbol: {"USDT": {"contract": "0x…", "decimals": 6}, …}
    tokens      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
