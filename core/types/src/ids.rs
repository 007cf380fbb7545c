//! Public identifiers: a type prefix and random lowercase alphanumerics (`ord_k3j9…`).

use rand::RngExt;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A random string of `len` characters from `[a-z0-9]`.
pub fn random_lower_alnum(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn with_prefix(prefix: &str) -> String {
    // 16 characters of 36 symbols: about 82 bits, ample against collisions.
    format!("{prefix}{}", random_lower_alnum(16))
}

pub fn order_id() -> String {
    with_prefix("ord_")
}

pub fn deposit_id() -> String {
    with_prefix("dep_")
}

pub fn event_id() -> String {
    with_prefix("evt_")
}

pub fn hd_key_id() -> String {
    with_prefix("xpk_")
}

pub fn api_key_id() -> String {
    with_prefix("key_")
}

/// A payment link's id (`plk_…`).
pub fn payment_link_id() -> String {
    with_prefix("plk_")
}

/// A payment link's public slug: 12 characters of `[a-z0-9]`, the last segment of its
/// `checkoutUrl`.
pub fn payment_link_slug() -> String {
    random_lower_alnum(12)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_have_prefix_and_lowercase_alnum_body() {
        let id = super::order_id();
        assert!(id.starts_with("ord_"));
        assert_eq!(id.len(), 20);
        assert!(id[4..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_ne!(super::order_id(), id);
    }
}
