//! The runtime settings merchants change through `PUT /config/:key`.

use crate::error::Error;
use serde::{Deserialize, Serialize};

/// The runtime settings with their effective values (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    pub payment_window_minutes: u32,
    pub grace_minutes: u32,
    pub address_cooldown_minutes: u32,
    pub default_order_success_url: Option<String>,
    pub default_order_cancel_url: Option<String>,
    pub pool_low_watermark: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            payment_window_minutes: 10,
            grace_minutes: 5,
            address_cooldown_minutes: 30,
            default_order_success_url: None,
            default_order_cancel_url: None,
            pool_low_watermark: 100,
        }
    }
}

/// Longest payment window or cooldown accepted: one week.
pub const MAX_WINDOW_MINUTES: u32 = 7 * 24 * 60;
/// Longest grace period accepted: one day.
pub const MAX_GRACE_MINUTES: u32 = 24 * 60;

impl Settings {
    pub const KEYS: [&'static str; 6] = [
        "payment_window_minutes",
        "grace_minutes",
        "address_cooldown_minutes",
        "default_order_success_url",
        "default_order_cancel_url",
        "pool_low_watermark",
    ];

    /// Validates `value` for `key` and returns its storage form (`None` clears a URL).
    pub fn validate(key: &str, value: &serde_json::Value) -> Result<Option<String>, Error> {
        match key {
            "payment_window_minutes" | "address_cooldown_minutes" => {
                Ok(Some(minutes("value", value, 1, MAX_WINDOW_MINUTES)?.to_string()))
            }
            "grace_minutes" => Ok(Some(minutes("value", value, 0, MAX_GRACE_MINUTES)?.to_string())),
            "pool_low_watermark" => Ok(Some(minutes("value", value, 0, 10_000_000)?.to_string())),
            "default_order_success_url" | "default_order_cancel_url" => match value {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(s) if s.is_empty() => Ok(None),
                serde_json::Value::String(s) => Ok(Some(redirect_url("value", s)?)),
                _ => Err(Error::validation("value", "value must be a URL string or null")),
            },
            other => Err(Error::NotFound(format!(
                "Unknown config key '{other}'; known keys: {}",
                Settings::KEYS.join(", ")
            ))),
        }
    }

    /// Builds settings from stored key/value rows; unknown or unreadable rows keep defaults.
    pub fn from_rows(rows: &[(String, String)]) -> Settings {
        let mut s = Settings::default();
        for (k, v) in rows {
            match k.as_str() {
                "payment_window_minutes" => s.payment_window_minutes = v.parse().unwrap_or(s.payment_window_minutes),
                "grace_minutes" => s.grace_minutes = v.parse().unwrap_or(s.grace_minutes),
                "address_cooldown_minutes" => {
                    s.address_cooldown_minutes = v.parse().unwrap_or(s.address_cooldown_minutes)
                }
                "pool_low_watermark" => s.pool_low_watermark = v.parse().unwrap_or(s.pool_low_watermark),
                "default_order_success_url" => s.default_order_success_url = Some(v.clone()),
                "default_order_cancel_url" => s.default_order_cancel_url = Some(v.clone()),
                _ => {}
            }
        }
        s
    }
}

/// A whole number of minutes in `min..=max`, given as a JSON integer or a digit string.
pub fn minutes(field: &str, value: &serde_json::Value, min: u32, max: u32) -> Result<u32, Error> {
    let n = match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if (u64::from(min)..=u64::from(max)).contains(&n) => Ok(n as u32),
        _ => Err(Error::validation(
            field,
            format!("{field} must be a whole number from {min} to {max}"),
        )),
    }
}

/// An absolute http(s) URL of at most 2048 characters.
pub fn redirect_url(field: &str, s: &str) -> Result<String, Error> {
    if s.len() > 2048 {
        return Err(Error::validation(
            field,
            format!("{field} must be at most 2048 characters"),
        ));
    }
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(s.to_string()),
        _ => Err(Error::validation(
            field,
            format!("{field} must be an absolute http(s) URL"),
        )),
    }
}

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
