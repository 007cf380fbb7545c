-- Chain settings recorded by `payin dev` (its local chain's RPC URL and test token contracts),
-- so every process opened on this database sees chain `local` configured. The engine applies
-- only chain `local` from here; the config file wins over it.

CREATE TABLE chain_overrides (
    chain_id    TEXT COLLATE "C" PRIMARY KEY,
    rpc_url     TEXT NOT NULL,
    -- By symbol: {"USDT": {"contract": "0x…", "decimals": 6}, …}
    tokens      JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
