//! The local dev chain on a real anvil: token deployment, transfers, mining, snapshots, reorgs,
//! the process's lifetime, the committed token bytecode, and the chain recorded in the database.

use std::path::Path;
use std::process::Command;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;

use payin_core::amount::AmountUnits;
use payin_core::chain::Currency;
use payin_core::dev::devnet::{DevChain, DevnetOptions, PAYER_TOKENS, TEST_TOKEN_ARTIFACT};
use payin_core::testing::{Backend, anvil_with, anvil_with_tokens, fresh_database, local_chain_config};
use payin_core::{Amount, Engine, EngineOptions};

fn units(amount: &str, decimals: u8) -> U256 {
    Amount::parse_positive("amount", amount)
        .unwrap()
        .to_base_units(decimals)
        .unwrap()
}

fn address(n: u8) -> Address {
    Address::repeat_byte(n)
}

#[tokio::test]
async fn tokens_are_deployed_with_their_decimals_and_the_payer_holds_the_supply() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let expected = [(Currency::Usdt, 6), (Currency::Usdc, 6), (Currency::Dai, 18)];
    assert_eq!(devnet.tokens().len(), expected.len());
    for (currency, decimals) in expected {
        let token = devnet.token(currency);
        assert_eq!(token.decimals, decimals, "{currency}");
        assert_eq!(devnet.decimals(token.address).await.unwrap(), decimals, "{currency}");
        assert_eq!(
            devnet.balance_of(token.address, devnet.payer()).await.unwrap(),
            U256::from(PAYER_TOKENS) * U256::from(10u64).pow(U256::from(decimals)),
            "{currency}"
        );
    }
    let chain_id = devnet.provider().get_chain_id().await.unwrap();
    assert_eq!(chain_id, 31337);
}

#[tokio::test]
async fn a_fresh_chain_always_gets_the_same_token_addresses() {
    let Some(a) = anvil_with_tokens().await else { return };
    let Some(b) = anvil_with_tokens().await else { return };
    assert_ne!(a.rpc_url(), b.rpc_url(), "each devnet runs its own anvil");
    assert_eq!(a.tokens(), b.tokens());
}

#[tokio::test]
async fn transfer_moves_exact_base_units_and_reports_its_block() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let usdt = devnet.token(Currency::Usdt).address;
    let dai = devnet.token(Currency::Dai).address;
    let to = address(0x11);

    let sent = devnet.transfer(usdt, to, U256::from(1)).await.unwrap();
    assert_eq!(devnet.balance_of(usdt, to).await.unwrap(), U256::from(1));
    assert_eq!(sent.block_number, devnet.block_number().await.unwrap());
    let receipt = devnet
        .provider()
        .get_transaction_receipt(sent.tx_hash)
        .await
        .unwrap()
        .expect("mined");
    assert_eq!(receipt.block_number, Some(sent.block_number));
    assert_eq!(receipt.inner.logs().len(), 1, "one Transfer event");

    devnet.transfer(usdt, to, units("123.456789", 6)).await.unwrap();
    assert_eq!(devnet.balance_of(usdt, to).await.unwrap(), U256::from(123_456_790u64));

    devnet
        .transfer(dai, to, units("0.000000000000000001", 18))
        .await
        .unwrap();
    devnet.transfer(dai, to, units("2.5", 18)).await.unwrap();
    assert_eq!(
        devnet.balance_of(dai, to).await.unwrap(),
        U256::from(2_500_000_000_000_000_001u128)
    );
}

#[tokio::test]
async fn a_transfer_beyond_the_balance_reverts() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let usdc = devnet.token(Currency::Usdc).address;
    let supply = devnet.balance_of(usdc, devnet.payer()).await.unwrap();
    let err = devnet
        .transfer(usdc, address(0x12), supply + U256::from(1))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("insufficient balance") || err.to_string().contains("revert"),
        "{err}"
    );
    assert_eq!(devnet.balance_of(usdc, address(0x12)).await.unwrap(), U256::ZERO);
}

#[tokio::test]
async fn mine_advances_the_head_by_that_many_blocks() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let before = devnet.block_number().await.unwrap();
    devnet.mine(5).await.unwrap();
    assert_eq!(devnet.block_number().await.unwrap(), before + 5);
    devnet.mine(1).await.unwrap();
    assert_eq!(devnet.block_number().await.unwrap(), before + 6);
}

#[tokio::test]
async fn reorg_replaces_blocks_and_drops_their_transfers() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let usdt = devnet.token(Currency::Usdt).address;
    let to = address(0x21);
    let sent = devnet.transfer(usdt, to, units("10", 6)).await.unwrap();
    devnet.mine(2).await.unwrap();
    let head = devnet.block_number().await.unwrap();
    assert_eq!(head, sent.block_number + 2);
    let old_block = devnet
        .provider()
        .get_block_by_number(sent.block_number.into())
        .await
        .unwrap()
        .unwrap();

    devnet.reorg(3).await.unwrap();

    assert_eq!(devnet.block_number().await.unwrap(), head, "the head keeps its height");
    let new_block = devnet
        .provider()
        .get_block_by_number(sent.block_number.into())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        new_block.header.hash, old_block.header.hash,
        "the transfer's block was replaced"
    );
    assert_eq!(
        new_block.header.parent_hash, old_block.header.parent_hash,
        "the fork point is the block before"
    );
    assert_eq!(
        devnet.balance_of(usdt, to).await.unwrap(),
        U256::ZERO,
        "the transfer is gone"
    );
    assert!(
        devnet
            .provider()
            .get_transaction_receipt(sent.tx_hash)
            .await
            .unwrap()
            .is_none(),
        "no receipt for a reorged-away transaction"
    );
}

#[tokio::test]
async fn revert_returns_to_the_snapshot() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let dai = devnet.token(Currency::Dai).address;
    let to = address(0x31);
    let snapshot = devnet.snapshot().await.unwrap();
    let head = devnet.block_number().await.unwrap();
    devnet.transfer(dai, to, units("1", 18)).await.unwrap();
    devnet.mine(3).await.unwrap();
    assert!(devnet.revert(snapshot).await.unwrap());
    assert_eq!(devnet.block_number().await.unwrap(), head);
    assert_eq!(devnet.balance_of(dai, to).await.unwrap(), U256::ZERO);
    assert!(
        !devnet.revert(snapshot).await.unwrap(),
        "a snapshot is used up by a revert"
    );
}

#[tokio::test]
async fn with_a_block_time_transfers_wait_for_the_next_block() {
    let Some(devnet) = anvil_with(DevnetOptions {
        block_time: Some(1),
        ..DevnetOptions::default()
    })
    .await
    else {
        return;
    };
    let usdc = devnet.token(Currency::Usdc).address;
    let sent = devnet.transfer(usdc, address(0x41), U256::from(7)).await.unwrap();
    assert_eq!(devnet.balance_of(usdc, address(0x41)).await.unwrap(), U256::from(7));
    // Blocks come on their own, with or without transactions.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(devnet.block_number().await.unwrap() >= sent.block_number + 2);
}

#[tokio::test]
async fn a_client_connected_by_url_sees_the_same_chain() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let client = DevChain::connect(devnet.rpc_url()).unwrap();
    let usdt = devnet.token(Currency::Usdt).address;
    client.transfer(usdt, address(0x51), U256::from(42)).await.unwrap();
    assert_eq!(devnet.balance_of(usdt, address(0x51)).await.unwrap(), U256::from(42));
}

#[tokio::test]
async fn dropping_the_devnet_stops_anvil() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let client = DevChain::connect(devnet.rpc_url()).unwrap();
    assert!(client.block_number().await.is_ok());
    drop(devnet);
    assert!(client.block_number().await.is_err(), "anvil still answers after drop");
}

/// The bytecode the Rust code embeds is what `solc` makes of the committed source today.
#[test]
fn committed_token_artifact_matches_a_fresh_compile() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !repo.join("node_modules/solc").is_dir() {
        assert!(!ci, "CI=true but node_modules/solc is missing: run `npm ci`");
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: node_modules/solc is missing (run `npm ci`); the token artifact was not recompiled\n",
        );
        return;
    }
    let out = Command::new("node")
        .arg(repo.join("scripts/compile-contracts.js"))
        .arg("--stdout")
        .output()
        .expect("running node");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8(out.stdout).unwrap() == TEST_TOKEN_ARTIFACT,
        "core/contracts/TestToken.json is stale: run `node scripts/compile-contracts.js` and commit the result"
    );
}

async fn engine_on_local_chain_is_configured(backend: Backend) {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    let mut engine = Engine::open(EngineOptions::new(&db.url)).await.unwrap();
    assert!(
        engine
            .chains()
            .get("local")
            .unwrap()
            .configured_token(Currency::Usdt)
            .is_err(),
        "a fresh database has no local chain recorded"
    );
    engine.record_chain(&devnet.recorded_chain(engine.now())).await.unwrap();
    let check = |engine: &Engine| {
        let local = engine.chains().get("local").unwrap();
        assert_eq!(local.rpc_urls, [devnet.rpc_url()]);
        for t in devnet.tokens() {
            let token = local.configured_token(t.currency).unwrap();
            assert_eq!(token.contract.as_deref(), Some(t.address.to_checksum(None).as_str()));
            assert_eq!(token.decimals, t.decimals);
        }
    };
    check(&engine);
    // Another process on the same database sees it.
    let other = Engine::open(EngineOptions::new(&db.url)).await.unwrap();
    check(&other);
    drop((engine, other));

    // Recording again replaces the previous recording.
    let Some(second) = anvil_with_tokens().await else {
        return;
    };
    let mut engine = Engine::open(EngineOptions::new(&db.url)).await.unwrap();
    engine.record_chain(&second.recorded_chain(engine.now())).await.unwrap();
    let reopened = Engine::open(EngineOptions::new(&db.url)).await.unwrap();
    assert_eq!(reopened.chains().get("local").unwrap().rpc_urls, [second.rpc_url()]);

    // A stopping sandbox forgets only its own recording: the first chain's is long replaced.
    let now = reopened.now();
    assert!(
        !reopened
            .forget_recorded_chain(&devnet.recorded_chain(now))
            .await
            .unwrap()
    );
    assert!(
        reopened
            .forget_recorded_chain(&second.recorded_chain(now))
            .await
            .unwrap()
    );
    let after = Engine::open(EngineOptions::new(&db.url)).await.unwrap();
    assert!(
        after
            .chains()
            .get("local")
            .unwrap()
            .configured_token(Currency::Usdt)
            .is_err(),
        "a forgotten chain leaves `local` unconfigured"
    );
}

#[tokio::test]
async fn recorded_local_chain_configures_engines_on_the_same_database_sqlite() {
    engine_on_local_chain_is_configured(Backend::Sqlite).await;
}

#[tokio::test]
async fn recorded_local_chain_configures_engines_on_the_same_database_postgres() {
    engine_on_local_chain_is_configured(Backend::Postgres).await;
}

#[tokio::test]
async fn local_chain_config_points_an_engine_at_the_devnet() {
    let Some(devnet) = anvil_with_tokens().await else {
        return;
    };
    let Some(db) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    let mut options = EngineOptions::new(&db.url);
    options.config = local_chain_config(&devnet);
    let engine = Engine::open(options).await.unwrap();
    let local = engine.chains().get("local").unwrap();
    assert_eq!(local.rpc_urls, [devnet.rpc_url()]);
    assert_eq!(local.evm_chain_id, Some(31337));
    assert_eq!(
        local.configured_token(Currency::Dai).unwrap().contract.as_deref(),
        Some(devnet.token(Currency::Dai).address.to_checksum(None).as_str())
    );
}
