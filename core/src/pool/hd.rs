//! Watch-only HD keys: the pool derives addresses from an ACCOUNT-level extended public key
//! (BIP-32/BIP-44), never from a private key.
//!
//! Why the account level: a wallet's account xpub (`m/44'/60'/0'` for EVM, `m/44'/195'/0'` for
//! Tron) is what wallets export, and everything below it (`0/i`, the external chain) is
//! non-hardened, so it derives from public data alone. A master or coin-level key would need
//! hardened steps, that is the private key. [`AccountKey::parse`] therefore insists on depth 3
//! with a hardened child number, and refuses anything that carries a private key (an
//! `xprv`/`tprv`-style key, a mnemonic, raw hex) with a message that never repeats the input.

use std::fmt;

use bip32::{ChildNumber, XPub};

use crate::chain::{Protocol, address_of_public_key};
use crate::error::Error;

/// BIP-32 version bytes of the public keys taken (`xpub`, `tpub`): derivation is the same.
const PUBLIC_VERSIONS: [u32; 2] = [0x0488_b21e, 0x0435_87cf];
/// Version bytes of private extended keys: xprv, tprv, yprv, zprv, Yprv, Zprv, uprv, vprv,
/// Uprv, Vprv. Recognised so the refusal can say what it was.
const PRIVATE_VERSIONS: [u32; 10] = [
    0x0488_ade4,
    0x0435_8394,
    0x049d_7878,
    0x04b2_430c,
    0x0295_b005,
    0x02aa_7a99,
    0x044a_4e28,
    0x045f_18bc,
    0x0242_85b5,
    0x0257_5048,
];
/// Prefixes of private extended keys as typed (caught even with a broken checksum).
const PRIVATE_PREFIXES: [&str; 10] = [
    "xprv", "tprv", "yprv", "zprv", "Yprv", "Zprv", "uprv", "vprv", "Uprv", "Vprv",
];
/// Highest non-hardened child index + 1.
pub const MAX_INDEX: u32 = 1 << 31;

/// The message every refusal of private material carries.
pub const NEVER_PRIVATE: &str = "PayIn never takes private keys: paste the account's extended PUBLIC key \
     (xpub…), exported by your wallet for the account";

/// BIP-44 coin type of a protocol.
pub fn coin_type(protocol: Protocol) -> u32 {
    match protocol {
        Protocol::Evm => 60,
        Protocol::Tron => 195,
    }
}

/// A parsed account-level xpub, with its external chain (`…/0`) derived once.
#[derive(Clone)]
pub struct AccountKey {
    protocol: Protocol,
    account: XPub,
    external: XPub,
    canonical: String,
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKey")
            .field("protocol", &self.protocol)
            .field("xpub", &self.canonical)
            .finish()
    }
}

impl AccountKey {
    /// Parses what a merchant pasted as `field`. Errors name `field` and never contain the input
    /// when it may be private.
    pub fn parse(protocol: Protocol, field: &str, input: &str) -> Result<AccountKey, Error> {
        let s = input.trim();
        let refuse = |what: &str| Error::validation(field, format!("{field}: this is {what}. {NEVER_PRIVATE}."));
        if s.is_empty() {
            return Err(Error::validation(field, format!("{field} must not be empty")));
        }
        if s.split_whitespace().count() > 1 {
            return Err(refuse("a list of words (a mnemonic / seed phrase?)"));
        }
        let hex = s.strip_prefix("0x").unwrap_or(s);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(refuse("a raw 32-byte hex key (a private key?)"));
        }
        if PRIVATE_PREFIXES.iter().any(|p| s.starts_with(p)) {
            return Err(refuse("an extended PRIVATE key"));
        }
        let bytes = match bs58::decode(s).with_check(None).into_vec() {
            Ok(b) => b,
            Err(bs58::decode::Error::InvalidChecksum { .. }) => {
                return Err(Error::validation(
                    field,
                    format!("{field}: the base58check checksum does not match (a typo or a truncated copy?)"),
                ));
            }
            Err(_) => {
                return Err(Error::validation(
                    field,
                    format!("{field} is not an extended public key (expected base58check text starting with xpub)"),
                ));
            }
        };
        if bytes.len() != 78 {
            return Err(Error::validation(
                field,
                format!(
                    "{field} is not an extended public key ({} bytes decoded, 78 expected)",
                    bytes.len()
                ),
            ));
        }
        let version = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if PRIVATE_VERSIONS.contains(&version) || bytes[45] == 0 {
            return Err(refuse("an extended PRIVATE key"));
        }
        if !PUBLIC_VERSIONS.contains(&version) {
            return Err(Error::validation(
                field,
                format!(
                    "{field}: version bytes 0x{version:08x} are not those of an xpub (0x0488b21e) or tpub \
                     (0x043587cf); ypub/zpub-style keys are Bitcoin SegWit keys, not EVM or Tron accounts"
                ),
            ));
        }
        let account: XPub = s.parse().map_err(|_| {
            Error::validation(
                field,
                format!("{field}: the public key inside is not a valid secp256k1 point"),
            )
        })?;
        let attrs = account.attrs();
        let coin = coin_type(protocol);
        if attrs.depth != 3 || !attrs.child_number.is_hardened() {
            return Err(Error::validation(
                field,
                format!(
                    "{field} must be the ACCOUNT-level xpub (depth 3, m/44'/{coin}'/0'); this key has depth {}{}. \
                     Export the account's xpub from the wallet",
                    attrs.depth,
                    if attrs.depth == 3 {
                        " but a non-hardened index"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let external = account
            .derive_child(ChildNumber::new(0, false).expect("0 is a valid index"))
            .map_err(|_| Error::validation(field, format!("{field}: its external chain (…/0) cannot be derived")))?;
        Ok(AccountKey {
            protocol,
            canonical: account.to_string(if version == PUBLIC_VERSIONS[0] {
                bip32::Prefix::XPUB
            } else {
                bip32::Prefix::TPUB
            }),
            account,
            external,
        })
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The key in its canonical spelling (as stored and listed).
    pub fn xpub(&self) -> &str {
        &self.canonical
    }

    /// BIP-32 fingerprint of this key, 8 hex digits.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.account.fingerprint())
    }

    /// The account index (the hardened third step).
    pub fn account(&self) -> u32 {
        self.account.attrs().child_number.index()
    }

    /// `m/44'/coin'/account'`.
    pub fn path(&self) -> String {
        format!("m/44'/{}'/{}'", coin_type(self.protocol), self.account())
    }

    /// Full path of external address `index`.
    pub fn address_path(&self, index: u32) -> String {
        format!("{}/0/{index}", self.path())
    }

    /// The address at `m/44'/coin'/account'/0/index`. `None` for the (about 2^-127 likely)
    /// index BIP-32 declares invalid, which the pool skips; an index of 2^31 or more is not a
    /// non-hardened index and is an error.
    pub fn derive(&self, index: u32) -> Result<Option<String>, Error> {
        let child = ChildNumber::new(index, false)
            .map_err(|_| Error::validation("index", format!("index {index} is beyond the last non-hardened index")))?;
        let Ok(key) = self.external.derive_child(child) else {
            return Ok(None);
        };
        let point = key.public_key().to_encoded_point(false);
        let raw: &[u8; 64] = point.as_bytes()[1..]
            .try_into()
            .expect("an uncompressed point is 65 bytes");
        Ok(Some(address_of_public_key(self.protocol, raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVM_ACCOUNT: &str = "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";
    const TRON_ACCOUNT: &str = "xpub6BuRy7ZmkGfP2RWhoor1kWB1w9DvrtmJbFBvnC1bQ4SB5NbCHTyQYCJSXZtxDbFyHTmC7wkU2he3nYYdpZ3Vf6qUAkXSnL6RPif4BDtDEKr";
    const MNEMONIC: &str = "test test test test test test test test test test test junk";

    fn invalid_field(e: Error) -> (String, String) {
        match e {
            Error::Invalid { field, message, .. } => (field, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn evm_account_xpub_of_the_test_mnemonic_derives_its_published_addresses() {
        let key = AccountKey::parse(Protocol::Evm, "xpub", EVM_ACCOUNT).unwrap();
        assert_eq!(key.path(), "m/44'/60'/0'");
        let first: Vec<_> = (0..3).map(|i| key.derive(i).unwrap().unwrap()).collect();
        assert_eq!(
            first,
            [
                "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            ]
        );
        assert_eq!(key.xpub(), EVM_ACCOUNT);
    }

    #[test]
    fn tron_account_xpub_of_the_test_mnemonic_derives_its_published_addresses() {
        let key = AccountKey::parse(Protocol::Tron, "xpub", TRON_ACCOUNT).unwrap();
        assert_eq!(key.path(), "m/44'/195'/0'");
        let first: Vec<_> = (0..3).map(|i| key.derive(i).unwrap().unwrap()).collect();
        assert_eq!(
            first,
            [
                "TWer2Ygk5TEheHp3TPuYeqxmB6SsGZmaL6",
                "TPjjvMwjPoDC32V2dGDYTkLH4E5LAtBZ6C",
                "TB7mhtkvfhsRBRhe5FuRa4tFXSEyGDe4eA",
            ]
        );
    }

    /// The public derivation agrees with alloy's mnemonic signer deriving the PRIVATE key at
    /// the full path (an independent BIP-32/39 implementation, coins-bip32), for both coins.
    #[test]
    fn public_derivation_matches_alloys_private_derivation_of_the_mnemonic() {
        use alloy::signers::local::{MnemonicBuilder, coins_bip39::English};
        for (protocol, xpub) in [(Protocol::Evm, EVM_ACCOUNT), (Protocol::Tron, TRON_ACCOUNT)] {
            let key = AccountKey::parse(protocol, "xpub", xpub).unwrap();
            for i in [0u32, 1, 2, 7, 1000] {
                let signer = MnemonicBuilder::<English>::default()
                    .phrase(MNEMONIC)
                    .derivation_path(key.address_path(i))
                    .unwrap()
                    .build()
                    .unwrap();
                let expected = match protocol {
                    Protocol::Evm => signer.address().to_checksum(None),
                    Protocol::Tron => crate::chain::evm_to_tron(signer.address()),
                };
                assert_eq!(key.derive(i).unwrap().unwrap(), expected, "{protocol} index {i}");
            }
        }
    }

    /// BIP-32 test vector 1, the steps that are public: a non-hardened child of a published
    /// xpub, derived from the xpub alone, is the published xpub of that child.
    #[test]
    fn bip32_test_vector_1_public_steps() {
        let steps = [
            // m/0H → m/0H/1
            (
                "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
                1,
                "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
            ),
            // m/0H/1/2H → m/0H/1/2H/2
            (
                "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
                2,
                "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
            ),
            // m/0H/1/2H/2 → m/0H/1/2H/2/1000000000
            (
                "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
                1_000_000_000,
                "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
            ),
        ];
        for (parent, index, child) in steps {
            let parent: XPub = parent.parse().unwrap();
            let derived = parent.derive_child(ChildNumber::new(index, false).unwrap()).unwrap();
            assert_eq!(derived.to_string(bip32::Prefix::XPUB), child, "child {index}");
        }
    }

    #[test]
    fn private_material_is_refused_without_repeating_it() {
        let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
        let tprv = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCEj4SVmyxw7Ez8ipr8UWbkvKxJJGnzYxA1LuuNy9k3yDhb6FgeagYxVSe";
        let mnemonic = MNEMONIC;
        let raw = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        for secret in [xprv, tprv, mnemonic, raw] {
            let (field, message) = invalid_field(AccountKey::parse(Protocol::Evm, "xpub", secret).unwrap_err());
            assert_eq!(field, "xpub");
            assert!(message.contains("PayIn never takes private keys"), "{message}");
            for part in secret.split_whitespace() {
                assert!(part.len() < 5 || !message.contains(part), "the input leaked: {message}");
            }
        }
    }

    #[test]
    fn bad_checksums_other_versions_and_other_depths_are_refused_naming_the_field() {
        let mut typo = EVM_ACCOUNT.to_string();
        typo.replace_range(20..21, if &EVM_ACCOUNT[20..21] == "a" { "b" } else { "a" });
        // The same key behind zpub version bytes (BIP-84 Bitcoin), and the BIP-32 vector's
        // master and depth-4 keys.
        let mut bytes = bs58::decode(EVM_ACCOUNT).with_check(None).into_vec().unwrap();
        bytes[..4].copy_from_slice(&0x04b2_4746u32.to_be_bytes());
        let zpub = bs58::encode(bytes).with_check().into_string();
        assert!(zpub.starts_with("zpub"));
        let zpub = zpub.as_str();
        let master = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
        let depth4 = "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV";
        for (input, says) in [
            (typo.as_str(), "checksum"),
            (zpub, "version bytes"),
            (master, "depth 0"),
            (depth4, "depth 4"),
            ("", "must not be empty"),
            ("hello", "not an extended public key"),
        ] {
            let (field, message) = invalid_field(AccountKey::parse(Protocol::Evm, "xpub", input).unwrap_err());
            assert_eq!(field, "xpub");
            assert!(message.contains(says), "{input}: {message}");
        }
    }
}
