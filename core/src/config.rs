//! Configuration: the optional TOML file read at start, and the runtime settings merchants
//! change through `PUT /config/:key`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::chain::ChainOverride;
use crate::error::Error;

/// The TOML config file (`--config` / `PAYIN_CONFIG`). Every table is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Base URL customers reach this server on; used to build `paymentUrl`.
    pub public_url: Option<String>,
    /// Network overrides and additions, keyed by chain id.
    #[serde(default)]
    pub chains: BTreeMap<String, ChainOverride>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::validation("config", format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::validation("config", format!("{}: {e}", path.display())))
    }
}

pub use payin_types::config::*;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minutes_accept_integers_and_digit_strings_in_range() {
        assert_eq!(
            Settings::validate("payment_window_minutes", &json!(15)).unwrap(),
            Some("15".into())
        );
        assert_eq!(
            Settings::validate("grace_minutes", &json!("0")).unwrap(),
            Some("0".into())
        );
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("ten"),
            json!(null),
            json!(99_999_999),
        ] {
            let err = Settings::validate("payment_window_minutes", &bad).unwrap_err();
            assert_eq!(err.code(), "VALIDATION_ERROR", "{bad}");
        }
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(Settings::validate("default_order_success_url", &json!("https://shop.example/ok")).is_ok());
        assert_eq!(
            Settings::validate("default_order_cancel_url", &json!(null)).unwrap(),
            None
        );
        assert!(Settings::validate("default_order_success_url", &json!("javascript:alert(1)")).is_err());
        assert!(Settings::validate("default_order_success_url", &json!("/relative")).is_err());
    }

    #[test]
    fn unknown_key_is_not_found() {
        assert_eq!(Settings::validate("nope", &json!(1)).unwrap_err().code(), "NOT_FOUND");
    }
}
