//! Multicall3 balance snapshots as bytes: the `aggregate3` call that reads many balances in one
//! `eth_call` (`getEthBalance` for the native asset, `balanceOf` for tokens, each allowed to
//! fail) and the decoding of its answer. Pure ABI work, shared by the native RPC layer and the
//! browser's, so both read balances the same way.

use alloy_primitives::{Address, U256, address};

use crate::address::Asset;

/// Multicall3's address on every chain that has it.
pub const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");

/// `aggregate3((address,bool,bytes)[])`.
const AGGREGATE3: [u8; 4] = [0x82, 0xad, 0x56, 0xcb];
/// `getEthBalance(address)`.
const GET_ETH_BALANCE: [u8; 4] = [0x4d, 0x23, 0x01, 0xcc];
/// `balanceOf(address)`.
const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];

/// A balance answer that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MulticallError {
    /// The answer is not an `aggregate3` result of the asked length.
    #[error("the Multicall3 answer does not decode: {0}")]
    Malformed(String),
    /// One read failed or returned too little: the asset is not an ERC-20 token there.
    #[error(
        "{holder}: asset {asset} does not answer balanceOf (not an ERC-20 token on this chain?)"
    )]
    NotAToken {
        /// The holder.
        holder: Address,
        /// The asset.
        asset: Asset,
    },
    /// The Safe's `nonce()` failed or is not a number: the address holds no Safe.
    #[error("{safe} does not answer nonce(): no Safe 1.3.0 at this address on this chain")]
    NotASafe {
        /// The address.
        safe: Address,
    },
}

/// The call data of one balance read: `getEthBalance(holder)` on Multicall3 for the native
/// asset, `balanceOf(holder)` on the token otherwise. Returns (target, data).
pub fn balance_call(holder: Address, asset: Asset) -> (Address, Vec<u8>) {
    let mut data = Vec::with_capacity(36);
    if asset.is_native() {
        data.extend_from_slice(&GET_ETH_BALANCE);
    } else {
        data.extend_from_slice(&BALANCE_OF);
    }
    data.extend_from_slice(&word_address(holder));
    (
        if asset.is_native() {
            MULTICALL3
        } else {
            asset.0
        },
        data,
    )
}

/// The `aggregate3` call data reading every (holder, asset) balance, each allowed to fail.
pub fn encode_balances(entries: &[(Address, Asset)]) -> Vec<u8> {
    let calls: Vec<(Address, Vec<u8>)> =
        entries.iter().map(|(h, a)| balance_call(*h, *a)).collect();
    encode_calls(&calls)
}

/// A Safe's nonce from a plain `eth_call` of `nonce()` (the batch fallback).
pub fn decode_safe_nonce(safe: Address, answer: &[u8]) -> Result<u64, MulticallError> {
    answer
        .get(..32)
        .map(U256::from_be_slice)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(MulticallError::NotASafe { safe })
}

/// The `aggregate3` call data of `calls` (target, data), each allowed to fail.
fn encode_calls(calls: &[(Address, Vec<u8>)]) -> Vec<u8> {
    let n = calls.len();
    let mut out = Vec::with_capacity(4 + 64 + n * (32 + 192));
    out.extend_from_slice(&AGGREGATE3);
    out.extend_from_slice(&word(32)); // offset of the array
    out.extend_from_slice(&word(n));
    // Each tuple: target, allowFailure, offset of bytes (0x60), length, data padded to 32.
    let mut offset = n * 32;
    let mut tuples = Vec::new();
    for (target, data) in calls {
        out.extend_from_slice(&word(offset));
        let padded = data.len().div_ceil(32) * 32;
        tuples.extend_from_slice(&word_address(*target));
        tuples.extend_from_slice(&word(1));
        tuples.extend_from_slice(&word(0x60));
        tuples.extend_from_slice(&word(data.len()));
        tuples.extend_from_slice(data);
        tuples.resize(tuples.len() + padded - data.len(), 0);
        offset += 4 * 32 + padded;
    }
    out.extend_from_slice(&tuples);
    out
}

/// The balances in an `aggregate3` answer to [`encode_balances`] of `entries`, in order.
pub fn decode_balances(
    entries: &[(Address, Asset)],
    answer: &[u8],
) -> Result<Vec<U256>, MulticallError> {
    balances_of(entries, decode_words(entries.len(), answer)?)
}

fn balances_of(
    entries: &[(Address, Asset)],
    words: Vec<Option<U256>>,
) -> Result<Vec<U256>, MulticallError> {
    entries
        .iter()
        .zip(words)
        .map(|((holder, asset), w)| {
            w.ok_or(MulticallError::NotAToken {
                holder: *holder,
                asset: *asset,
            })
        })
        .collect()
}

/// The first word of each of `n` results of an `aggregate3` answer; `None` for a call that
/// failed or returned less than a word.
fn decode_words(n: usize, answer: &[u8]) -> Result<Vec<Option<U256>>, MulticallError> {
    let bad = |m: &str| MulticallError::Malformed(m.to_owned());
    let array = read_usize(answer, 0).ok_or_else(|| bad("no array offset"))?;
    let got = read_usize(answer, array).ok_or_else(|| bad("no array length"))?;
    if got != n {
        return Err(bad(&format!("{got} results for {n} reads")));
    }
    let base = array
        .checked_add(32)
        .ok_or_else(|| bad("offset overflow"))?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at = read_usize(answer, base + i * 32)
            .and_then(|o| base.checked_add(o))
            .ok_or_else(|| bad("no result offset"))?;
        let success = read_word(answer, at).ok_or_else(|| bad("no success flag"))?;
        let data_at = read_usize(answer, at + 32)
            .and_then(|o| at.checked_add(o))
            .ok_or_else(|| bad("no data offset"))?;
        let len = read_usize(answer, data_at).ok_or_else(|| bad("no data length"))?;
        let data = answer
            .get(data_at + 32..)
            .and_then(|d| d.get(..len))
            .ok_or_else(|| bad("data past the end"))?;
        out.push(if success.is_zero() || data.len() < 32 {
            None
        } else {
            Some(U256::from_be_slice(&data[..32]))
        });
    }
    Ok(out)
}

/// A balance from a plain `eth_call` of [`balance_call`] (the batch fallback without Multicall3).
pub fn decode_balance(
    holder: Address,
    asset: Asset,
    answer: &[u8],
) -> Result<U256, MulticallError> {
    answer
        .get(..32)
        .map(U256::from_be_slice)
        .ok_or(MulticallError::NotAToken { holder, asset })
}

fn word(n: usize) -> [u8; 32] {
    U256::from(n).to_be_bytes()
}

fn word_address(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

fn read_word(data: &[u8], at: usize) -> Option<U256> {
    data.get(at..at.checked_add(32)?).map(U256::from_be_slice)
}

fn read_usize(data: &[u8], at: usize) -> Option<usize> {
    usize::try_from(read_word(data, at)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<(Address, Asset)> {
        vec![
            (Address::repeat_byte(1), Asset::NATIVE),
            (Address::repeat_byte(2), Asset(Address::repeat_byte(0x77))),
        ]
    }

    /// An `aggregate3` answer built by hand: (success, 32-byte value) per entry.
    fn answer(results: &[(bool, Option<U256>)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&word(32));
        out.extend_from_slice(&word(results.len()));
        let mut tuples = Vec::new();
        let mut offset = results.len() * 32;
        for (ok, v) in results {
            out.extend_from_slice(&word(offset));
            tuples.extend_from_slice(&word(usize::from(*ok)));
            tuples.extend_from_slice(&word(0x40));
            if let Some(v) = v {
                tuples.extend_from_slice(&word(32));
                tuples.extend_from_slice(&v.to_be_bytes::<32>());
                offset += 4 * 32;
            } else {
                tuples.extend_from_slice(&word(0));
                offset += 3 * 32;
            }
        }
        out.extend_from_slice(&tuples);
        out
    }

    #[test]
    fn decodes_balances_and_names_what_is_not_a_token() {
        let e = entries();
        let a = answer(&[(true, Some(U256::from(5))), (true, Some(U256::MAX))]);
        assert_eq!(
            decode_balances(&e, &a).unwrap(),
            vec![U256::from(5), U256::MAX]
        );
        let a = answer(&[(true, Some(U256::from(5))), (false, None)]);
        assert!(matches!(
            decode_balances(&e, &a),
            Err(MulticallError::NotAToken { .. })
        ));
        let a = answer(&[(true, Some(U256::from(5)))]);
        assert!(matches!(
            decode_balances(&e, &a),
            Err(MulticallError::Malformed(_))
        ));
    }

    #[test]
    fn the_call_data_has_the_abi_layout() {
        let data = encode_balances(&entries());
        assert_eq!(&data[..4], &AGGREGATE3);
        // selector + offset + length + 2 offsets + 2 tuples of 4 words + 64 bytes of data.
        assert_eq!(data.len(), 4 + 32 * 2 + 32 * 2 + 2 * (4 * 32 + 64));
        let (target, call) =
            balance_call(Address::repeat_byte(2), Asset(Address::repeat_byte(0x77)));
        assert_eq!(target, Address::repeat_byte(0x77));
        assert_eq!(&call[..4], &BALANCE_OF);
    }

    proptest::proptest! {
        #[test]
        fn no_answer_panics_the_decoder(bytes in proptest::collection::vec(0u8..=255, 0..600)) {
            let _ = decode_balances(&entries(), &bytes);
            let _ = decode_balance(Address::ZERO, Asset::NATIVE, &bytes);
        }
    }
}
