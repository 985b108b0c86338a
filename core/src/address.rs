//! Addresses, assets and holders.
//!
//! Addresses are parsed case-insensitively (the EIP-55 checksum is not enforced, because
//! dashboards and agents write lower-case addresses) and are always written in EIP-55 form.

use std::fmt;
use std::str::FromStr;

pub use alloy_primitives::Address;

/// Why a text is not a valid address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The `0x` prefix is missing.
    #[error("an address starts with 0x")]
    MissingPrefix,
    /// The text after `0x` is not 40 characters long.
    #[error("an address has 40 hex digits after 0x, found {0}")]
    WrongLength(usize),
    /// A character is not a hex digit.
    #[error("an address holds only hex digits 0-9, a-f, A-F")]
    NotHex,
}

/// Parses `0x` followed by 40 hex digits, in any letter case.
pub fn parse_address(text: &str) -> Result<Address, AddressError> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or(AddressError::MissingPrefix)?;
    if hex.len() != 40 {
        return Err(AddressError::WrongLength(hex.chars().count()));
    }
    let mut out = [0u8; 20];
    let bytes = hex.as_bytes();
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = hex_value(bytes[2 * i]).ok_or(AddressError::NotHex)?;
        let lo = hex_value(bytes[2 * i + 1]).ok_or(AddressError::NotHex)?;
        *byte = (hi << 4) | lo;
    }
    Ok(Address::from(out))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Writes an address in EIP-55 checksum form.
pub fn checksum(address: &Address) -> String {
    if address.is_zero() {
        // The native asset, in most outputs: no letters, so no hash to take.
        return "0x0000000000000000000000000000000000000000".to_owned();
    }
    address.to_checksum(None)
}

/// An asset on a chain: an ERC-20 token address, or [`Asset::NATIVE`] (the zero address) for the
/// chain's native coin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asset(pub Address);

impl Asset {
    /// The chain's native coin, keyed by the zero address in every asset map.
    pub const NATIVE: Asset = Asset(Address::ZERO);

    /// Whether this is the native coin.
    pub fn is_native(&self) -> bool {
        self.0 == Address::ZERO
    }
}

impl From<Address> for Asset {
    fn from(a: Address) -> Self {
        Asset(a)
    }
}

impl FromStr for Asset {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_address(s).map(Asset)
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&checksum(&self.0))
    }
}

/// Who holds an amount: a real address or one of the Olas placeholders used while the real
/// address does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    /// A real address.
    Address(Address),
    /// `master_eoa`: no master wallet exists yet.
    MasterEoa,
    /// `master_safe`: the master wallet has no Safe on this chain yet.
    MasterSafe,
    /// `service_safe`: the service has no multisig on this chain yet.
    ServiceSafe,
}

/// Why a text is not a valid holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HolderError {
    /// Not an address and not one of `master_eoa`, `master_safe`, `service_safe`.
    #[error("not an address and not a placeholder (master_eoa, master_safe, service_safe): {0}")]
    Address(#[from] AddressError),
}

impl Holder {
    /// The placeholder's wire name, or `None` for a real address.
    pub fn placeholder_name(&self) -> Option<&'static str> {
        match self {
            Holder::Address(_) => None,
            Holder::MasterEoa => Some("master_eoa"),
            Holder::MasterSafe => Some("master_safe"),
            Holder::ServiceSafe => Some("service_safe"),
        }
    }

    /// The real address, or `None` for a placeholder.
    pub fn address(&self) -> Option<Address> {
        match self {
            Holder::Address(a) => Some(*a),
            Holder::MasterEoa | Holder::MasterSafe | Holder::ServiceSafe => None,
        }
    }
}

impl FromStr for Holder {
    type Err = HolderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "master_eoa" => Ok(Holder::MasterEoa),
            "master_safe" => Ok(Holder::MasterSafe),
            "service_safe" => Ok(Holder::ServiceSafe),
            _ => Ok(Holder::Address(parse_address(s)?)),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.placeholder_name() {
            Some(name) => f.write_str(name),
            None => f.write_str(&checksum(&self.address().unwrap_or_default())),
        }
    }
}

impl From<Address> for Holder {
    fn from(a: Address) -> Self {
        Holder::Address(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_address_checksum_is_its_plain_form() {
        assert_eq!(checksum(&Address::ZERO), Address::ZERO.to_checksum(None));
    }

    #[test]
    fn parses_any_case_and_writes_checksum() {
        let lower = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        let upper = "0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED";
        let a = parse_address(lower).unwrap();
        assert_eq!(parse_address(upper).unwrap(), a);
        // EIP-55 test vector.
        assert_eq!(checksum(&a), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    }

    #[test]
    fn rejects_bad_addresses() {
        assert_eq!(parse_address(""), Err(AddressError::MissingPrefix));
        assert_eq!(
            parse_address("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            Err(AddressError::MissingPrefix)
        );
        assert_eq!(parse_address("0x1234"), Err(AddressError::WrongLength(4)));
        assert_eq!(
            parse_address("0xzaaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            Err(AddressError::NotHex)
        );
        // Multi-byte characters must not panic on slicing.
        assert!(parse_address("0xééééééééééééééééééééééééééééééééééééééé").is_err());
        assert!(parse_address("0x ").is_err());
    }

    #[test]
    fn holders_round_trip() {
        for text in [
            "master_eoa",
            "master_safe",
            "service_safe",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        ] {
            let h: Holder = text.parse().unwrap();
            assert_eq!(h.to_string(), text);
        }
        assert!("agent".parse::<Holder>().is_err());
        assert!("Master_Safe".parse::<Holder>().is_err());
    }

    #[test]
    fn native_asset_is_zero() {
        assert!(Asset::NATIVE.is_native());
        assert_eq!(
            Asset::NATIVE.to_string(),
            "0x0000000000000000000000000000000000000000"
        );
    }
}
