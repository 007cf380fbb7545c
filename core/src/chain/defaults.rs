//! Built-in networks. Contracts are the canonical mainnet deployments (and Circle's testnet
//! USDC); where no canonical contract exists the token is listed unconfigured.

use super::{Currency, Network, Protocol, Token};

fn token(currency: Currency, contract: Option<&str>, decimals: u8) -> Token {
    Token {
        currency,
        contract: contract.map(str::to_string),
        decimals,
    }
}

fn evm(id: &str, name: &str, chain_id: u64, testnet: bool, confirmations: u32, tokens: Vec<Token>) -> Network {
    Network {
        id: id.to_string(),
        name: name.to_string(),
        protocol: Protocol::Evm,
        evm_chain_id: Some(chain_id),
        testnet,
        rpc_urls: Vec::new(),
        rpc_timeouts: super::RpcTimeouts::default(),
        rpc_headers: super::RpcHeaders::default(),
        poll_interval: None,
        confirmations,
        tokens,
    }
}

/// A Tron network: watched over java-tron's Ethereum-compatible JSON-RPC (`/jsonrpc`); 19
/// confirmations by default, about when a block is solidified.
fn tron(id: &str, name: &str, testnet: bool, tokens: Vec<Token>) -> Network {
    Network {
        id: id.to_string(),
        name: name.to_string(),
        protocol: Protocol::Tron,
        evm_chain_id: None,
        testnet,
        rpc_urls: Vec::new(),
        rpc_timeouts: super::RpcTimeouts::default(),
        rpc_headers: super::RpcHeaders::default(),
        poll_interval: None,
        confirmations: 19,
        tokens,
    }
}

pub(super) fn networks() -> Vec<Network> {
    use Currency::{Dai, Usdc, Usdt};
    let mut local = evm(
        "local",
        "Local dev chain (anvil)",
        31337,
        true,
        1,
        vec![token(Usdt, None, 6), token(Usdc, None, 6), token(Dai, None, 18)],
    );
    local.rpc_urls = vec!["http://127.0.0.1:8545".to_string()];
    // The Tron-shaped dev chain of `payin dev`: anvil behind a test double of java-tron's
    // JSON-RPC. Its RPC URL and token contracts are recorded by `payin dev`.
    let mut local_tron = tron(
        "local-tron",
        "Local Tron-shaped dev chain (anvil behind a java-tron test double)",
        true,
        vec![token(Usdt, None, 6), token(Usdc, None, 6)],
    );
    local_tron.confirmations = 1;
    local_tron.poll_interval = Some(std::time::Duration::from_millis(50));
    vec![
        evm(
            "ethereum",
            "Ethereum",
            1,
            false,
            12,
            vec![
                token(Usdt, Some("0xdAC17F958D2ee523a2206206994597C13D831ec7"), 6),
                token(Usdc, Some("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"), 6),
                token(Dai, Some("0x6B175474E89094C44Da98b954EedeAC495271d0F"), 18),
            ],
        ),
        evm(
            "ethereum-sepolia",
            "Ethereum Sepolia",
            11_155_111,
            true,
            3,
            vec![
                token(Usdt, None, 6),
                token(Usdc, Some("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"), 6),
                token(Dai, None, 18),
            ],
        ),
        evm(
            "polygon",
            "Polygon PoS",
            137,
            false,
            64,
            vec![
                token(Usdt, Some("0xc2132D05D31c914a87C6611C10748AEb04B58e8F"), 6),
                token(Usdc, Some("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359"), 6),
                token(Dai, None, 18),
            ],
        ),
        evm(
            "polygon-amoy",
            "Polygon Amoy",
            80_002,
            true,
            5,
            vec![
                token(Usdt, None, 6),
                token(Usdc, Some("0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582"), 6),
                token(Dai, None, 18),
            ],
        ),
        evm(
            "base",
            "Base",
            8453,
            false,
            10,
            vec![
                token(Usdt, None, 6),
                token(Usdc, Some("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"), 6),
                token(Dai, None, 18),
            ],
        ),
        evm(
            "base-sepolia",
            "Base Sepolia",
            84_532,
            true,
            3,
            vec![
                token(Usdt, None, 6),
                token(Usdc, Some("0x036CbD53842c5426634e7929541eC2318f3dCF7e"), 6),
                token(Dai, None, 18),
            ],
        ),
        evm(
            "bsc",
            "BNB Smart Chain",
            56,
            false,
            15,
            vec![
                token(Usdt, Some("0x55d398326f99059fF775485246999027B3197955"), 18),
                token(Usdc, None, 18),
                token(Dai, None, 18),
            ],
        ),
        evm(
            "arbitrum",
            "Arbitrum One",
            42_161,
            false,
            20,
            vec![
                token(Usdt, Some("0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"), 6),
                token(Usdc, Some("0xaf88d065e77c8cC2239327C5EDb3A432268e5831"), 6),
                token(Dai, None, 18),
            ],
        ),
        tron(
            "tron",
            "Tron",
            false,
            vec![
                token(Usdt, Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"), 6),
                token(Usdc, Some("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8"), 6),
            ],
        ),
        tron(
            "tron-nile",
            "Tron Nile",
            true,
            vec![token(Usdt, None, 6), token(Usdc, None, 6)],
        ),
        local,
        local_tron,
    ]
}
