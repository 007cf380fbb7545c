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
    fn tron_addresses_are_base58check() {
        assert!(normalize_address(Protocol::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").is_ok());
        assert!(normalize_address(Protocol::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u").is_err());
        assert!(normalize_address(Protocol::Tron, "0x742d35cc6634c0532925a3b844bc9e7595f0beb0").is_err());
    }
}
