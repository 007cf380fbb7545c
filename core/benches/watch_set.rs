//! Memory of the watched-address set and the cost of matching one log against it.
//!
//! `cargo bench -p payin-core --bench watch_set [-- ADDRESSES LOGS]` (defaults 1,000,000 and
//! 2,000,000). Prints RSS growth for the set and nanoseconds per log for
//! `LogMatcher::decode`, with 1% of logs addressed to a watched address.

use std::collections::HashMap;
use std::time::Instant;

use alloy::primitives::{Address, B256, Bytes, Log as PrimitiveLog, LogData, U256};
use alloy::rpc::types::Log;
use payin_core::chain::Currency;
use payin_core::chain::evm::{LogMatcher, TRANSFER_TOPIC};
use payin_core::chain::source::WatchSet;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn address(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    bytes[0] = 0x42;
    Address::from(bytes)
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let logs_n = args.get(1).copied().unwrap_or(2_000_000);

    let before = rss_kib();
    let started = Instant::now();
    let watched: WatchSet = (0..n).map(address).collect();
    let built = started.elapsed();
    let after = rss_kib();
    println!(
        "watched set: {n} addresses, RSS +{:.1} MiB ({:.0} bytes/address), built in {:.0} ms",
        (after - before) as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / n as f64,
        built.as_secs_f64() * 1000.0
    );

    let token = Address::repeat_byte(0x11);
    let matcher = LogMatcher::new("ethereum", HashMap::from([(token, (Currency::Usdt, 6))]));
    let logs: Vec<Log> = (0..logs_n)
        .map(|i| {
            // 1 in 100 transfers pays a watched address; the rest go elsewhere.
            let to = if i % 100 == 0 { address(i % n) } else { address(n + i) };
            Log {
                inner: PrimitiveLog {
                    address: token,
                    data: LogData::new_unchecked(
                        vec![TRANSFER_TOPIC, address(u64::MAX - i).into_word(), to.into_word()],
                        Bytes::from(U256::from(1_000_000u64 + i).to_be_bytes::<32>().to_vec()),
                    ),
                },
                block_hash: Some(B256::repeat_byte(1)),
                block_number: Some(1 + i / 100),
                transaction_hash: Some(B256::from(U256::from(i))),
                log_index: Some(i % 100),
                ..Default::default()
            }
        })
        .collect();
    let started = Instant::now();
    let matched = logs.iter().filter_map(|l| matcher.decode(l, &watched)).count();
    let elapsed = started.elapsed();
    println!(
        "matching: {logs_n} logs in {:.0} ms, {:.0} ns/log, {matched} matched",
        elapsed.as_secs_f64() * 1000.0,
        elapsed.as_nanos() as f64 / logs_n as f64
    );
    assert_eq!(matched as u64, logs_n.div_ceil(100));
}
