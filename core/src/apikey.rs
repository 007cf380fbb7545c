//! API keys: `pk_` + 40 random characters, shown once and stored as a SHA-256 hash.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ids;
use crate::time::{Timestamp, serde_millis};

/// Characters of a key shown in listings so a merchant can tell keys apart.
pub const DISPLAY_PREFIX_LEN: usize = 10;

/// A key as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    /// The first characters of the key, e.g. `pk_3k9x2m4`.
    pub prefix: String,
    #[serde(with = "serde_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "serde_millis::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
}

/// A freshly generated key: the secret to show once, and what to store.
pub struct NewApiKey {
    pub secret: String,
    pub record: ApiKey,
    pub hash: String,
}

impl NewApiKey {
    pub fn generate(name: &str, now: Timestamp) -> NewApiKey {
        let secret = format!("pk_{}", ids::random_lower_alnum(40));
        NewApiKey {
            record: ApiKey {
                id: ids::api_key_id(),
                name: name.to_string(),
                prefix: secret[..DISPLAY_PREFIX_LEN].to_string(),
                created_at: now,
                revoked_at: None,
            },
            hash: hash(&secret),
            secret,
        }
    }
}

/// The stored form of a key. Keys are 200+ bits of randomness, so a plain hash suffices.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `candidate` has the shape of a key at all (cheap rejection before any lookup).
pub fn looks_like_key(candidate: &str) -> bool {
    candidate.len() == 43
        && candidate.starts_with("pk_")
        && candidate[3..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_pk_shape_and_hash_stably() {
        let k = NewApiKey::generate("prod", chrono::Utc::now());
        assert!(looks_like_key(&k.secret), "{}", k.secret);
        assert_eq!(hash(&k.secret), k.hash);
        assert!(k.secret.starts_with(&k.record.prefix));
        assert!(!looks_like_key("pk_short"));
    }
}
