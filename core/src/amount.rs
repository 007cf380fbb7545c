//! Exact token amounts ([`Amount`], defined in `payin-types`) and their on-chain form: `U256`
//! base units, converted in one place ([`AmountUnits`]).

use alloy_primitives::U256;
use rust_decimal::Decimal;

pub use payin_types::amount::*;

/// Amount ⇄ on-chain base units of a token with `decimals` places.
pub trait AmountUnits: Sized {
    /// The amount in the token's smallest unit. `None` when it does not fit the token's
    /// precision (more decimal places than `decimals`).
    fn to_base_units(&self, decimals: u8) -> Option<U256>;

    /// Converts base units to a decimal amount with exactly `decimals` places, trailing zeros
    /// removed. `None` when the value exceeds what a 96-bit decimal mantissa holds.
    fn from_base_units(units: U256, decimals: u8) -> Option<Self>;
}

impl AmountUnits for Amount {
    /// The amount in the token's smallest unit. `None` when it does not fit the token's
    /// precision (more decimal places than `decimals`).
    fn to_base_units(&self, decimals: u8) -> Option<U256> {
        let d = self.as_decimal().normalize();
        let scale = d.scale();
        if scale > u32::from(decimals) || d.is_sign_negative() {
            return None;
        }
        let mantissa = U256::from(d.mantissa().unsigned_abs());
        let factor = U256::from(10u8).checked_pow(U256::from(u32::from(decimals) - scale))?;
        mantissa.checked_mul(factor)
    }

    /// Converts base units to a decimal amount with exactly `decimals` places, trailing zeros
    /// removed. `None` when the value exceeds what a 96-bit decimal mantissa holds.
    fn from_base_units(units: U256, decimals: u8) -> Option<Amount> {
        let mantissa: u128 = units.try_into().ok()?;
        let mantissa = i128::try_from(mantissa).ok()?;
        let d = Decimal::try_from_i128_with_scale(mantissa, u32::from(decimals)).ok()?;
        Some(Amount::from_decimal(d.normalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Amount {
        Amount::parse_positive("amount", s).unwrap()
    }

    #[test]
    fn base_units_at_the_edges() {
        assert_eq!(ok("1").to_base_units(6), Some(U256::from(1_000_000u64)));
        assert_eq!(ok("0.000001").to_base_units(6), Some(U256::from(1u64)));
        assert_eq!(ok("0.0000001").to_base_units(6), None);
        assert_eq!(
            ok("1").to_base_units(18),
            Some(U256::from(1_000_000_000_000_000_000u128))
        );
        assert_eq!(Amount::zero_with_scale(2).to_base_units(6), Some(U256::ZERO));
        let max = ok(&"9".repeat(28));
        assert_eq!(
            max.to_base_units(18),
            Some(U256::from_str_radix(&format!("{}{}", "9".repeat(28), "0".repeat(18)), 10).unwrap())
        );
    }

    #[test]
    fn from_base_units_round_trips() {
        assert_eq!(
            Amount::from_base_units(U256::from(1u8), 6).unwrap().to_string(),
            "0.000001"
        );
        assert_eq!(
            Amount::from_base_units(U256::from(100_500_000u64), 6)
                .unwrap()
                .to_string(),
            "100.5"
        );
        let dai = U256::from(1_234_500_000_000_000_000u128);
        assert_eq!(Amount::from_base_units(dai, 18).unwrap().to_string(), "1.2345");
        assert_eq!(Amount::from_base_units(U256::ZERO, 6).unwrap().to_string(), "0");
        assert!(Amount::from_base_units(U256::MAX, 18).is_none());
    }
}
