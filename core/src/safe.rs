//! Safe 1.3.0 transactions as bytes (`shared/domain/olas-onchain.md` §7, §8): the EIP-712 hash
//! the owners sign, the packed owner signatures, the `execTransaction` call data, and MultiSend's
//! packed batch. Pure ABI work: the adapters sign the hash and send the call. `baseGas`,
//! `gasPrice`, the gas token and the refund receiver are zero, as the Olas middleware sends them.
//! `safeTxGas` is the caller's choice: 0 (the middleware's) makes a failing inner call revert the
//! whole transaction, so the Safe's nonce stays unused and the signed transaction could still
//! run later; tend's top-up batches ([`batch`]) set it, so a failing batch emits
//! `ExecutionFailure` and consumes the nonce: a signed Safe transaction runs at most once, and
//! its nonce is never signed for another.

use alloy_primitives::{Address, B256, U256, b256, keccak256};

use crate::engine::TopUp;
use crate::lifecycle::calls::Call;

/// `keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")`.
pub const DOMAIN_TYPEHASH: B256 =
    b256!("47e79534a245952e8b16893a336b85a3d9ea9fa8c573f3d803afb92a79469218");
/// `keccak256("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")`.
pub const SAFE_TX_TYPEHASH: B256 =
    b256!("bb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8");
/// `execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)`.
pub const EXEC_TRANSACTION: [u8; 4] = [0x6a, 0x76, 0x12, 0x02];
/// `multiSend(bytes)`.
pub const MULTI_SEND: [u8; 4] = [0x8d, 0x80, 0xff, 0x0a];
/// `nonce()`.
pub const NONCE: [u8; 4] = [0xaf, 0xfe, 0xd0, 0xe0];

/// How the Safe runs a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A call.
    Call,
    /// A delegatecall (MultiSend runs this way, as the Safe).
    DelegateCall,
}

impl Operation {
    fn byte(self) -> u8 {
        match self {
            Self::Call => 0,
            Self::DelegateCall => 1,
        }
    }
}

/// One Safe transaction (`baseGas`, `gasPrice` and the gas token zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeTx {
    /// The target.
    pub to: Address,
    /// Native value sent from the Safe.
    pub value: U256,
    /// Call data.
    pub data: Vec<u8>,
    /// Call or delegatecall.
    pub operation: Operation,
    /// Gas the Safe must give the inner call; above 0, a failing inner call does not revert
    /// (`ExecutionFailure`, nonce consumed).
    pub safe_tx_gas: U256,
    /// The Safe's nonce it is signed for (`nonce()`).
    pub nonce: U256,
}

/// `keccak256("ExecutionFailure(bytes32,uint256)")`: the Safe's event when the inner call of a
/// transaction with `safeTxGas > 0` failed (its nonce is used).
pub const EXECUTION_FAILURE: B256 =
    b256!("23428b18acfb3ea64b08dc0c1d296ea9c09702c09083ca5272e64d115b687d23");

fn word_u256(v: U256) -> [u8; 32] {
    v.to_be_bytes()
}

fn word_usize(n: usize) -> [u8; 32] {
    U256::from(n).to_be_bytes()
}

fn word_address(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

/// Appends `bytes` as an ABI dynamic value's tail: its length, then the bytes padded to 32.
fn tail(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&word_usize(bytes.len()));
    out.extend_from_slice(bytes);
    out.resize(out.len() + bytes.len().div_ceil(32) * 32 - bytes.len(), 0);
}

/// The Safe's EIP-712 domain separator on `chain_id` (no name, no version).
pub fn domain_separator(chain_id: u64, safe: Address) -> B256 {
    let mut buf = Vec::with_capacity(96);
    buf.extend_from_slice(DOMAIN_TYPEHASH.as_slice());
    buf.extend_from_slice(&word_u256(U256::from(chain_id)));
    buf.extend_from_slice(&word_address(safe));
    keccak256(buf)
}

/// The hash the owners sign (`getTransactionHash`).
pub fn safe_tx_hash(chain_id: u64, safe: Address, tx: &SafeTx) -> B256 {
    let mut s = Vec::with_capacity(11 * 32);
    s.extend_from_slice(SAFE_TX_TYPEHASH.as_slice());
    s.extend_from_slice(&word_address(tx.to));
    s.extend_from_slice(&word_u256(tx.value));
    s.extend_from_slice(keccak256(&tx.data).as_slice());
    s.extend_from_slice(&word_usize(usize::from(tx.operation.byte())));
    s.extend_from_slice(&word_u256(tx.safe_tx_gas));
    // baseGas, gasPrice, gasToken, refundReceiver: zero.
    s.extend_from_slice(&[0u8; 4 * 32]);
    s.extend_from_slice(&word_u256(tx.nonce));
    let mut m = Vec::with_capacity(66);
    m.extend_from_slice(&[0x19, 0x01]);
    m.extend_from_slice(domain_separator(chain_id, safe).as_slice());
    m.extend_from_slice(keccak256(s).as_slice());
    keccak256(m)
}

/// Owner signatures (65 bytes `r ‖ s ‖ v` each) concatenated in ascending owner order, as the
/// Safe checks them.
pub fn pack_signatures(mut sigs: Vec<(Address, [u8; 65])>) -> Vec<u8> {
    sigs.sort_by_key(|(owner, _)| *owner);
    sigs.into_iter().flat_map(|(_, s)| s).collect()
}

/// The `execTransaction` call data of `tx` with packed `signatures`.
pub fn exec_transaction_data(tx: &SafeTx, signatures: &[u8]) -> Vec<u8> {
    let head = 10 * 32;
    let data_tail = 32 + tx.data.len().div_ceil(32) * 32;
    let mut out = Vec::with_capacity(4 + head + data_tail + 32 + signatures.len() + 32);
    out.extend_from_slice(&EXEC_TRANSACTION);
    out.extend_from_slice(&word_address(tx.to));
    out.extend_from_slice(&word_u256(tx.value));
    out.extend_from_slice(&word_usize(head));
    out.extend_from_slice(&word_usize(usize::from(tx.operation.byte())));
    out.extend_from_slice(&word_u256(tx.safe_tx_gas));
    out.extend_from_slice(&[0u8; 4 * 32]);
    out.extend_from_slice(&word_usize(head + data_tail));
    tail(&mut out, &tx.data);
    tail(&mut out, signatures);
    out
}

/// One sub-transaction of a MultiSend batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiSendCall {
    /// Call or delegatecall.
    pub operation: Operation,
    /// The target.
    pub to: Address,
    /// Native value (from the Safe's balance).
    pub value: U256,
    /// Call data (empty for a plain transfer).
    pub data: Vec<u8>,
}

/// The `multiSend(bytes)` call data of `calls`: each packed as `operation (1) ‖ to (20) ‖ value
/// (32) ‖ data length (32) ‖ data`, concatenated, as one ABI `bytes` argument.
pub fn multisend_data(calls: &[MultiSendCall]) -> Vec<u8> {
    let mut packed = Vec::new();
    for c in calls {
        packed.push(c.operation.byte());
        packed.extend_from_slice(c.to.as_slice());
        packed.extend_from_slice(&word_u256(c.value));
        packed.extend_from_slice(&word_usize(c.data.len()));
        packed.extend_from_slice(&c.data);
    }
    let mut out = Vec::with_capacity(4 + 64 + packed.len() + 32);
    out.extend_from_slice(&MULTI_SEND);
    out.extend_from_slice(&word_usize(32));
    tail(&mut out, &packed);
    out
}

/// `transfer(address,uint256)` (ERC-20).
pub const ERC20_TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];

/// The ERC-20 `transfer(to, amount)` call data.
pub fn erc20_transfer_data(to: Address, amount: U256) -> Vec<u8> {
    let mut out = Vec::with_capacity(68);
    out.extend_from_slice(&ERC20_TRANSFER);
    out.extend_from_slice(&word_address(to));
    out.extend_from_slice(&word_u256(amount));
    out
}

/// The call that pays one top-up from the Safe: a plain value CALL for native coin, the token's
/// `transfer` for an ERC-20.
pub fn top_up_call(t: &TopUp) -> MultiSendCall {
    if t.asset.is_native() {
        MultiSendCall {
            operation: Operation::Call,
            to: t.to,
            value: t.amount,
            data: Vec::new(),
        }
    } else {
        MultiSendCall {
            operation: Operation::Call,
            to: t.asset.0,
            value: U256::ZERO,
            data: erc20_transfer_data(t.to, t.amount),
        }
    }
}

/// The Safe transaction that pays `top_ups` at Safe nonce `nonce`: the one call itself for one
/// top-up, a MultiSend delegatecall of them all for two or more (as the middleware's
/// `fund_chain_amounts` dispatches), with `safeTxGas` = `safe_tx_gas` (above 0: a batch that
/// fails still consumes the nonce). `None` for no top-up.
pub fn batch(
    top_ups: &[TopUp],
    multisend: Address,
    nonce: u64,
    safe_tx_gas: u64,
) -> Option<SafeTx> {
    let calls = top_ups.iter().map(top_up_call).collect();
    safe_tx(calls, multisend, nonce, safe_tx_gas)
}

/// The Safe transaction that makes a life-cycle step's `calls` as the Safe at Safe nonce
/// `nonce`: the call itself for one, a MultiSend delegatecall for two or more (an approval and
/// the call that spends it, in one transaction). `None` for no call.
pub fn call_batch(
    calls: &[Call],
    multisend: Address,
    nonce: u64,
    safe_tx_gas: u64,
) -> Option<SafeTx> {
    let calls = calls
        .iter()
        .map(|c| MultiSendCall {
            operation: Operation::Call,
            to: c.to,
            value: c.value,
            data: c.data.clone(),
        })
        .collect();
    safe_tx(calls, multisend, nonce, safe_tx_gas)
}

fn safe_tx(
    mut calls: Vec<MultiSendCall>,
    multisend: Address,
    nonce: u64,
    safe_tx_gas: u64,
) -> Option<SafeTx> {
    let (to, value, data, operation) = match calls.len() {
        0 => return None,
        1 => {
            let c = calls.pop()?;
            (c.to, c.value, c.data, Operation::Call)
        }
        _ => (
            multisend,
            U256::ZERO,
            multisend_data(&calls),
            Operation::DelegateCall,
        ),
    };
    Some(SafeTx {
        to,
        value,
        data,
        operation,
        safe_tx_gas: U256::from(safe_tx_gas),
        nonce: U256::from(nonce),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typehashes_are_the_hashes_of_their_types() {
        assert_eq!(
            DOMAIN_TYPEHASH,
            keccak256("EIP712Domain(uint256 chainId,address verifyingContract)")
        );
        assert_eq!(
            SAFE_TX_TYPEHASH,
            keccak256(
                "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)"
            )
        );
        assert_eq!(
            EXEC_TRANSACTION,
            keccak256(
                "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
            )[..4]
        );
        assert_eq!(MULTI_SEND, keccak256("multiSend(bytes)")[..4]);
        assert_eq!(NONCE, keccak256("nonce()")[..4]);
        assert_eq!(ERC20_TRANSFER, keccak256("transfer(address,uint256)")[..4]);
        assert_eq!(
            EXECUTION_FAILURE,
            keccak256("ExecutionFailure(bytes32,uint256)")
        );
    }

    #[test]
    fn signatures_go_in_ascending_owner_order() {
        let a = (Address::repeat_byte(2), [2u8; 65]);
        let b = (Address::repeat_byte(1), [1u8; 65]);
        let packed = pack_signatures(vec![a, b]);
        assert_eq!(packed.len(), 130);
        assert_eq!((packed[0], packed[65]), (1, 2));
    }

    #[test]
    fn multisend_packs_each_call_without_padding_and_pads_the_whole() {
        let calls = [
            MultiSendCall {
                operation: Operation::Call,
                to: Address::repeat_byte(0xaa),
                value: U256::from(5),
                data: Vec::new(),
            },
            MultiSendCall {
                operation: Operation::Call,
                to: Address::repeat_byte(0xbb),
                value: U256::ZERO,
                data: vec![1, 2, 3],
            },
        ];
        let d = multisend_data(&calls);
        let packed_len: usize = 85 + 88;
        assert_eq!(&d[..4], &MULTI_SEND);
        assert_eq!(U256::from_be_slice(&d[36..68]), U256::from(packed_len));
        assert_eq!(d.len(), 4 + 64 + packed_len.div_ceil(32) * 32);
        assert_eq!(d[68], 0, "operation");
        assert_eq!(&d[69..89], Address::repeat_byte(0xaa).as_slice());
        assert_eq!(&d[68 + 85 + 85..68 + 85 + 88], &[1, 2, 3]);
    }
}
