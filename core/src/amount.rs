//! Amounts of money: `U256` in the asset's smallest unit, written in JSON as decimal strings.

use alloy_primitives::U256;

/// Why a text is not a valid amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The text is empty.
    #[error("empty amount")]
    Empty,
    /// The text starts with a minus sign.
    #[error("negative amount")]
    Negative,
    /// The text holds something other than the digits 0-9.
    #[error("not a decimal integer (only the digits 0-9 are allowed)")]
    NotDecimal,
    /// The value does not fit in 256 bits.
    #[error("amount exceeds 2^256 - 1")]
    Overflow,
}

/// Parses a decimal amount: ASCII digits only, no sign, no spaces, no exponent, no `0x`.
///
/// This is the strict form every amount of tend's JSON contracts uses.
pub fn parse_decimal(text: &str) -> Result<U256, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with('-') {
        return Err(AmountError::Negative);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::NotDecimal);
    }
    // 2^256 - 1 has 78 digits; leading zeros are allowed, so strip them before the length check.
    let digits = text.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(U256::ZERO);
    }
    if digits.len() > 78 {
        return Err(AmountError::Overflow);
    }
    U256::from_str_radix(digits, 10).map_err(|_| AmountError::Overflow)
}

/// Parses an amount as Python's `int(text)` would in base 10: surrounding whitespace, a leading
/// `+` and single underscores between digits are accepted.
///
/// Used only where the Olas middleware is lenient (an agent's `/funds-status` body, quirk Q18).
pub fn parse_python_int(text: &str) -> Result<U256, AmountError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.starts_with('-') {
        return Err(AmountError::Negative);
    }
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return Err(AmountError::NotDecimal);
    }
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    parse_decimal(&cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse_accepts_only_digits() {
        assert_eq!(parse_decimal("0"), Ok(U256::ZERO));
        assert_eq!(parse_decimal("000"), Ok(U256::ZERO));
        assert_eq!(parse_decimal("0012"), Ok(U256::from(12)));
        assert_eq!(parse_decimal(""), Err(AmountError::Empty));
        assert_eq!(parse_decimal("-1"), Err(AmountError::Negative));
        assert_eq!(parse_decimal("+1"), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("1e18"), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("0x10"), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal(" 1"), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("1.0"), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("١"), Err(AmountError::NotDecimal));
    }

    #[test]
    fn strict_parse_bounds() {
        let max = U256::MAX.to_string();
        assert_eq!(max.len(), 78);
        assert_eq!(parse_decimal(&max), Ok(U256::MAX));
        assert_eq!(parse_decimal(&format!("000{max}")), Ok(U256::MAX));
        // 2^256 exactly
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(parse_decimal(over), Err(AmountError::Overflow));
        assert_eq!(parse_decimal(&"9".repeat(79)), Err(AmountError::Overflow));
        assert_eq!(parse_decimal(&"9".repeat(500)), Err(AmountError::Overflow));
    }

    #[test]
    fn python_int_is_lenient_like_python() {
        assert_eq!(parse_python_int(" 5 "), Ok(U256::from(5)));
        assert_eq!(parse_python_int("+5"), Ok(U256::from(5)));
        assert_eq!(parse_python_int("5_000"), Ok(U256::from(5000)));
        assert_eq!(parse_python_int("5__0"), Err(AmountError::NotDecimal));
        assert_eq!(parse_python_int("_5"), Err(AmountError::NotDecimal));
        assert_eq!(parse_python_int("5e3"), Err(AmountError::NotDecimal));
        assert_eq!(parse_python_int("-5"), Err(AmountError::Negative));
        assert_eq!(parse_python_int(""), Err(AmountError::NotDecimal));
    }

    #[test]
    fn decimal_round_trip() {
        for v in [U256::ZERO, U256::from(1), U256::from(u64::MAX), U256::MAX] {
            assert_eq!(parse_decimal(&v.to_string()), Ok(v));
        }
    }
}
