//! Address codecs: validation and one canonical spelling per address, so the same address
//! typed in two cases is never two pool entries.

use alloy_primitives::Address;

use super::Protocol;

/// Validates `s` as an address of `protocol` and returns its canonical form: EIP-55 checksum
/// case for EVM, base58check for Tron. Mixed-case EVM input must carry a valid checksum, since
/// a wrong one usually means a typo.
pub fn normalize_address(protocol: Protocol, s: &str) -> Result<String, String> {
    match protocol {
        Protocol::Evm => normalize_evm(s),
        Protocol::Tron => normalize_tron(s),
    }
}

fn normalize_evm(s: &str) -> Result<String, String> {
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("'{s}' is not an EVM address (expected 0x followed by 40 hex digits)"))?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{s}' is not an EVM address (expected 0x followed by 40 hex digits)"
        ));
    }
    let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    let address: Address = if mixed {
        Address::parse_checksummed(s, None).map_err(|_| format!("'{s}' has an invalid EIP-55 checksum"))?
    } else {
        s.parse().map_err(|_| format!("'{s}' is not an EVM address"))?
    };
    if address.is_zero() {
        return Err("the zero address cannot receive payments".to_string());
    }
    Ok(address.to_checksum(None))
}

fn normalize_tron(s: &str) -> Result<String, String> {
    let bytes = bs58::decode(s)
        .with_check(None)
        .into_vec()
        .map_err(|_| format!("'{s}' is not a Tron address (base58check)"))?;
    if bytes.len() != 21 || bytes[0] != 0x41 {
        return Err(format!("'{s}' is not a Tron mainnet-format address (T…)"));
    }
    Ok(s.to_string())
}

/// The version byte of a Tron mainnet-format address (`41…` in hex, `T…` in base58check).
pub const TRON_ADDRESS_PREFIX: u8 = 0x41;

/// The 20-byte account id inside a Tron base58check address (`T…`): what the EVM-compatible
/// JSON-RPC of java-tron, log topics and [`WatchSet`](super::source::WatchSet) keys use.
/// `None` when `s` is not a valid `T…` address.
pub fn tron_to_evm(s: &str) -> Option<Address> {
    let bytes = bs58::decode(s).with_check(None).into_vec().ok()?;
    if bytes.len() != 21 || bytes[0] != TRON_ADDRESS_PREFIX {
        return None;
    }
    Some(Address::from_slice(&bytes[1..]))
}

/// The Tron base58check spelling (`T…`) of a 20-byte account id, as a merchant sees it.
pub fn evm_to_tron(address: Address) -> String {
    let mut bytes = Vec::with_capacity(21);
    bytes.push(TRON_ADDRESS_PREFIX);
    bytes.extend_from_slice(address.as_slice());
    bs58::encode(bytes).with_check().into_string()
}

/// The address of an uncompressed secp256k1 public key (its 64 bytes without the `0x04` tag)
/// in `protocol`'s canonical spelling: keccak-256 of the key, last 20 bytes; EIP-55 for EVM,
/// the same 20 bytes behind `0x41` in base58check for Tron.
pub fn address_of_public_key(protocol: Protocol, uncompressed: &[u8; 64]) -> String {
    let account = Address::from_raw_public_key(uncompressed);
    match protocol {
        Protocol::Evm => account.to_checksum(None),
        Protocol::Tron => evm_to_tron(account),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evm_addresses_are_checksummed() {
        let lower = "0x742d35cc6634c0532925a3b844bc9e7595f0beb0";
        assert_eq!(
            normalize_address(Protocol::Evm, lower).unwrap(),
            "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0"
        );
        assert_eq!(
            normalize_address(Protocol::Evm, "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0").unwrap(),
            "0x742D35CC6634c0532925A3b844BC9E7595F0BEb0"
        );
    }

    #[test]
    fn bad_evm_addresses_are_refused() {
        for bad in [
            "742d35cc6634c0532925a3b844bc9e7595f0beb0",
            "0x742d35cc6634c0532925a3b844bc9e7595f0beb",
            "0x742d35cc6634c0532925a3b844bc9e7595f0beg0",
            "0x742d35CC6634c0532925a3b844bc9e7595f0beb0",
            "0x0000000000000000000000000000000000000000",
            "",
        ] {
            assert!(normalize_address(Protocol::Evm, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tron_spelling_of_an_account_round_trips() {
        // USDT on Tron: 41a614f803b6fd780986a42c78ec9c7f77e6ded13c.
        let account: Address = "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c".parse().unwrap();
        let t = evm_to_tron(account);
        assert_eq!(t, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert_eq!(normalize_address(Protocol::Tron, &t).unwrap(), t);
    }

    #[test]
    fn tron_addresses_are_base58check() {
        assert!(normalize_address(Protocol::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").is_ok());
        assert!(normalize_address(Protocol::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u").is_err());
        assert!(normalize_address(Protocol::Tron, "0x742d35cc6634c0532925a3b844bc9e7595f0beb0").is_err());
    }

    #[test]
    fn tron_to_evm_and_back_is_the_same_account() {
        // USDT on Tron: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t is 41a614f803b6fd780986a42c78ec9c7f77e6ded13c.
        let usdt = tron_to_evm("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
        assert_eq!(
            usdt,
            "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c".parse::<Address>().unwrap()
        );
        assert_eq!(evm_to_tron(usdt), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert_eq!(tron_to_evm("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"), None);
        assert_eq!(tron_to_evm("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c"), None);
    }
}
