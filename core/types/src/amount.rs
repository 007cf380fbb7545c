//! Exact token amounts. Money never passes through `f64`: amounts are decimals that keep the
//! scale the merchant sent ("100.00" stays "100.00"). On-chain base units are payin-core's
//! business (`payin_core::amount::AmountUnits`): this crate knows no chain.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, InvalidCode};

/// Longest amount string accepted; `Decimal` holds 28 significant digits.
const MAX_DIGITS: usize = 28;

/// A non-negative exact decimal amount of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(Decimal);

impl Amount {
    /// Parses a merchant-supplied amount: a plain positive decimal string such as `"100.00"`.
    /// Signs, exponents, spaces and empty parts are refused; `field` is named in the error.
    pub fn parse_positive(field: &str, s: &str) -> Result<Amount, Error> {
        let bad = |why: &str| {
            Error::invalid(
                InvalidCode::Amount,
                field,
                format!("{field} must be a positive decimal string like \"100.00\" ({why})"),
            )
        };
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(&format!("got {s:?}")));
        }
        if let Some(f) = frac
            && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad(&format!("got {s:?}")));
        }
        let digits = int.trim_start_matches('0').len() + frac.map_or(0, str::len);
        if digits > MAX_DIGITS {
            return Err(bad(&format!("at most {MAX_DIGITS} significant digits")));
        }
        let value = Decimal::from_str_exact(s).map_err(|_| bad(&format!("got {s:?}")))?;
        if value.is_zero() {
            return Err(Error::invalid(
                InvalidCode::Amount,
                field,
                format!("{field} must be greater than zero"),
            ));
        }
        Ok(Amount(value))
    }

    /// Parses an amount read back from storage (any canonical decimal string, zero allowed).
    pub fn from_stored(s: &str) -> Result<Amount, Error> {
        Decimal::from_str_exact(s)
            .map(Amount)
            .map_err(|e| Error::Internal(format!("stored amount {s:?} is not a decimal: {e}")))
    }

    /// Zero with the given number of decimal places ("0.00" for scale 2).
    pub fn zero_with_scale(scale: u32) -> Amount {
        Amount(Decimal::new(0, scale.min(Decimal::MAX_SCALE)))
    }

    pub fn from_decimal(d: Decimal) -> Amount {
        Amount(d)
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// Number of digits after the decimal point, as sent.
    pub fn scale(&self) -> u32 {
        self.0.scale()
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Checks the amount is payable in a token with `decimals` places.
    pub fn check_precision(&self, field: &str, decimals: u8, currency: &str) -> Result<(), Error> {
        if self.0.normalize().scale() > u32::from(decimals) {
            return Err(Error::invalid(
                InvalidCode::Amount,
                field,
                format!("{field} has more decimal places than {currency} supports on this chain ({decimals})"),
            ));
        }
        Ok(())
    }

    /// A fixed-width string whose lexicographic order is numeric order, for sorting in
    /// stores without a decimal type.
    pub fn sort_key(&self) -> String {
        let d = self.0.normalize();
        let s = d.abs().to_string();
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        format!("{int:0>30}.{frac:0<28}")
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Amount {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse_positive("amount", s)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Reads the decimal string [`Serialize`] writes, keeping its scale (`"0.00"` stays `"0.00"`).
impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let s = String::deserialize(d)?;
        Amount::from_stored(&s).map_err(serde::de::Error::custom)
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;

    /// Keeps the larger scale of the two ("0.00" + "25.5" = "25.50"), which `Decimal`
    /// does not when one side is zero.
    fn add(self, rhs: Amount) -> Amount {
        let mut sum = self.0 + rhs.0;
        let scale = self.0.scale().max(rhs.0.scale());
        if sum.scale() < scale {
            sum.rescale(scale);
        }
        Amount(sum)
    }
}

impl std::ops::Sub for Amount {
    type Output = Amount;

    /// Keeps the larger scale of the two, like addition.
    fn sub(self, rhs: Amount) -> Amount {
        let mut diff = self.0 - rhs.0;
        let scale = self.0.scale().max(rhs.0.scale());
        if diff.scale() < scale {
            diff.rescale(scale);
        }
        Amount(diff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Amount {
        Amount::parse_positive("amount", s).unwrap()
    }

    #[test]
    fn json_round_trip_keeps_the_scale_and_refuses_numbers() {
        for s in ["100.00", "0.00", "0.000001", "123456789.123456789012345678"] {
            let json = serde_json::to_string(&Amount::from_stored(s).unwrap()).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Amount>(&json).unwrap().to_string(), s);
        }
        assert!(serde_json::from_str::<Amount>("100.5").is_err());
        assert!(serde_json::from_str::<Amount>("\"ten\"").is_err());
    }

    #[test]
    fn keeps_the_scale_the_merchant_sent() {
        assert_eq!(ok("100.00").to_string(), "100.00");
        assert_eq!(ok("100").to_string(), "100");
        assert_eq!(ok("0.000001").to_string(), "0.000001");
    }

    #[test]
    fn refuses_non_positive_and_malformed_amounts() {
        for bad in [
            "0", "0.00", "-1", "+1", "1e5", "", " 1", "1 ", ".5", "5.", "1.2.3", "abc", "NaN", "0x10", "1,5",
        ] {
            let err = Amount::parse_positive("amount", bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_AMOUNT", "{bad:?}");
            assert!(err.to_string().contains("amount"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn refuses_more_than_28_digits() {
        let long = format!("1.{}", "1".repeat(28));
        assert!(Amount::parse_positive("amount", &long).is_err());
        assert!(Amount::parse_positive("amount", &"9".repeat(28)).is_ok());
    }

    #[test]
    fn precision_is_checked_against_token_decimals() {
        assert!(ok("1.123456").check_precision("amount", 6, "USDT").is_ok());
        assert!(ok("1.1234560").check_precision("amount", 6, "USDT").is_ok());
        let err = ok("1.1234567").check_precision("amount", 6, "USDT").unwrap_err();
        assert!(err.to_string().contains("(6)"));
        assert!(ok("1.123456789012345678").check_precision("amount", 18, "DAI").is_ok());
    }

    #[test]
    fn sums_keep_the_larger_scale() {
        assert_eq!((Amount::zero_with_scale(2) + ok("25.5")).to_string(), "25.50");
        assert_eq!((ok("40.00") + ok("60")).to_string(), "100.00");
        assert_eq!((ok("1.5") + ok("0.000001")).to_string(), "1.500001");
        assert_eq!((ok("25.50") - ok("25.5")).to_string(), "0.00");
    }

    #[test]
    fn sort_key_orders_numerically() {
        let mut v = ["10", "9.99", "100.5", "0.000001", "2"].map(ok).to_vec();
        v.sort_by_key(Amount::sort_key);
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["0.000001", "2", "9.99", "10", "100.5"]);
    }
}
