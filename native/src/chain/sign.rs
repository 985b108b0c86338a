//! Signing: the engine's transaction requests as signed EIP-1559 transactions (EIP-2718 bytes
//! and hash) with the funding key.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use tend_core::chain::ChainId;
use tend_core::engine::io::{TxBody, TxRequest};

use crate::chain::rpc::transferCall;

/// Signs an EIP-1559 transaction; returns its EIP-2718 encoding and hash. A [`TxBody::Safe`]
/// is signed by the funding key alone as the Safe's owner ([`sign_with_owners`] for more).
pub fn sign_eip1559(
    signer: &PrivateKeySigner,
    chain: ChainId,
    req: &TxRequest,
) -> Result<(Bytes, alloy::primitives::B256), String> {
    sign_with_owners(signer, &[], chain, req)
}

/// [`sign_eip1559`] where a Safe transaction is signed by the funding key and `owners` (more
/// local keys of the Safe's owners, for a threshold above 1).
pub fn sign_with_owners(
    signer: &PrivateKeySigner,
    owners: &[PrivateKeySigner],
    chain: ChainId,
    req: &TxRequest,
) -> Result<(Bytes, alloy::primitives::B256), String> {
    let (to, value, input) = match req.body {
        TxBody::Safe {
            safe,
            nonce,
            multisend,
            safe_tx_gas,
        } => {
            // A life-cycle step's calls, or the round's top-ups.
            let tx = if req.calls.is_empty() {
                tend_core::safe::batch(&req.top_ups, multisend, nonce, safe_tx_gas)
            } else if req.top_ups.is_empty() {
                tend_core::safe::call_batch(&req.calls, multisend, nonce, safe_tx_gas)
            } else {
                None
            }
            .ok_or_else(|| {
                format!(
                    "the engine asked for a Safe transaction of {safe} without top-ups or calls, \
                     or with both"
                )
            })?;
            let hash = tend_core::safe::safe_tx_hash(chain.0, safe, &tx);
            let mut sigs = Vec::with_capacity(1 + owners.len());
            for key in std::iter::once(signer).chain(owners) {
                use alloy::signers::SignerSync;
                let sig = key.sign_hash_sync(&hash).map_err(|e| e.to_string())?;
                sigs.push((key.address(), sig.as_bytes()));
            }
            let signatures = tend_core::safe::pack_signatures(sigs);
            (
                safe,
                U256::ZERO,
                Bytes::from(tend_core::safe::exec_transaction_data(&tx, &signatures)),
            )
        }
        TxBody::Native { to, value } => (to, value, Bytes::new()),
        TxBody::Erc20 { token, to, amount } => (
            token,
            U256::ZERO,
            Bytes::from(transferCall { to, amount }.abi_encode()),
        ),
        TxBody::Noop => (req.from, U256::ZERO, Bytes::new()),
        TxBody::Call { to, value } => match req.calls.as_slice() {
            [call] if call.to == to && call.value == value => {
                (to, value, Bytes::from(call.data.clone()))
            }
            _ => {
                return Err(format!(
                    "the engine asked for a call of {to} without its one matching call"
                ));
            }
        },
    };
    if signer.address() != req.from {
        return Err(format!(
            "the engine asked to sign from {}, but the funding key is {}",
            req.from,
            signer.address()
        ));
    }
    let mut tx = TxEip1559 {
        chain_id: chain.0,
        nonce: req.nonce,
        gas_limit: req.gas_limit,
        max_fee_per_gas: req.fees.max_fee_per_gas,
        max_priority_fee_per_gas: req.fees.max_priority_fee_per_gas,
        to: TxKind::Call(to),
        value,
        access_list: alloy::eips::eip2930::AccessList::default(),
        input,
    };
    let sig = signer
        .sign_transaction_sync(&mut tx)
        .map_err(|e| e.to_string())?;
    let sealed = tx.into_signed(sig);
    let hash = *sealed.hash();
    let envelope = TxEnvelope::from(sealed);
    Ok((Bytes::from(envelope.encoded_2718()), hash))
}
