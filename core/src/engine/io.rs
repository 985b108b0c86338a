//! The engine's inputs and outputs: plain serde data, so a run can be recorded and replayed.
//!
//! Not `#[non_exhaustive]`: a new variant must break every adapter's `match`.

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::fees::{FeeError, FeeHistory, Fees};
use crate::health::{ExitStatus, ProbeResult, Reason, Status, Wake};
pub use crate::lifecycle::calls::Call;
use crate::nonce::{SendErrorClass, TxId, TxRecord};
use crate::rpc::{ChainVerdict, RpcFailure};
use crate::ser;
use crate::time::Timestamp;

/// A service's name as it crosses the boundary: shared, so an output and the input that answers
/// it cost no allocation. Serialises as a plain string.
pub type ServiceName = std::sync::Arc<str>;

/// An RPC request's id, unique within a run.
pub type RequestId = u64;

/// Something the adapter observed, with the time it observed it. JSON: an object tagged by
/// `"input"` (read tag first, without buffering the object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    /// A timer fired (the deadline of [`crate::engine::Engine::poll_timeout`]).
    Tick {
        /// Now.
        now: Timestamp,
    },
    /// An operator command.
    Command {
        /// Now.
        now: Timestamp,
        /// The command.
        command: Command,
    },
    /// The answer to an [`Output::Rpc`].
    RpcResponse {
        /// Now.
        now: Timestamp,
        /// The request.
        id: RequestId,
        /// How long it took, ms.
        latency_ms: u64,
        /// The answer or the failure.
        result: Result<RpcAnswer, RpcFailure>,
    },
    /// The adapter signed an [`Output::Sign`] request and wrote the raw transaction to its
    /// journal.
    Signed {
        /// Now.
        now: Timestamp,
        /// The chain.
        chain: ChainId,
        /// The nonce-book record.
        tx: TxId,
        /// The transaction hash.
        hash: B256,
    },
    /// Signing failed (key unavailable, encoding error): nothing reached a node.
    SignFailed {
        /// Now.
        now: Timestamp,
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// Why (no secrets).
        error: String,
    },
    /// An agent process was spawned.
    Spawned {
        /// Now.
        now: Timestamp,
        /// The service.
        service: ServiceName,
    },
    /// At start-up, a live agent process left by a previous daemon was found (validated PID
    /// file): supervise it instead of spawning another.
    Adopted {
        /// Now.
        now: Timestamp,
        /// The service.
        service: ServiceName,
    },
    /// An agent process could not be spawned.
    SpawnFailed {
        /// Now.
        now: Timestamp,
        /// The service.
        service: ServiceName,
        /// Why.
        error: String,
    },
    /// An agent process exited.
    Exited {
        /// Now.
        now: Timestamp,
        /// The service.
        service: ServiceName,
        /// How.
        status: ExitStatus,
    },
    /// A health probe's result.
    Probed {
        /// Now.
        now: Timestamp,
        /// The service.
        service: ServiceName,
        /// The result.
        result: ProbeResult,
    },
}

impl Input {
    /// Parses one input from JSON (a recording's line, a dashboard's event). Every adapter
    /// parses through here, so the wasm package holds one copy of this deserializer.
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }

    /// The time the input carries.
    pub fn now(&self) -> Timestamp {
        match self {
            Self::Tick { now }
            | Self::Command { now, .. }
            | Self::RpcResponse { now, .. }
            | Self::Signed { now, .. }
            | Self::SignFailed { now, .. }
            | Self::Spawned { now, .. }
            | Self::Adopted { now, .. }
            | Self::SpawnFailed { now, .. }
            | Self::Exited { now, .. }
            | Self::Probed { now, .. } => *now,
        }
    }
}

/// An operator command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Start (or restart after `Failed`) a service's agent.
    Start {
        /// The service.
        service: ServiceName,
    },
    /// Stop a service's agent.
    Stop {
        /// The service.
        service: ServiceName,
    },
    /// Read every chain now and fund what needs it.
    FundNow,
    /// Cancel an in-flight transaction (a 0-value self-send at its nonce).
    Cancel {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
    },
    /// Send one life-cycle step of a service: its calls, from the chain's funding key (one
    /// transaction per call, consecutive nonces), journaled with the service and the step.
    /// Refused while a transaction of the service's is in flight on the chain.
    Execute {
        /// The chain.
        chain: ChainId,
        /// The service.
        service: ServiceName,
        /// The step's name ([`crate::lifecycle::calls::step_name`]).
        step: String,
        /// The calls, in order.
        calls: Vec<Call>,
    },
}

/// A JSON-RPC request, typed. The adapter maps it to wire calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum RpcCall {
    /// `eth_getBlockByNumber("latest", false)`: number, hash, timestamp.
    Head,
    /// `eth_getBlockByNumber(number, false)`: its hash.
    BlockHash {
        /// The height.
        number: u64,
    },
    /// `eth_getTransactionCount(address, "latest")` and `(…, "pending")`, in one batch.
    TransactionCounts {
        /// The sender.
        address: Address,
    },
    /// Balances at one block: Multicall3 `aggregate3` (`getEthBalance`, `balanceOf`) pinned to
    /// `block`, or a JSON-RPC batch where Multicall3 is absent. One value per entry, in order.
    Balances {
        /// The block to read at.
        block: u64,
        /// (holder, asset) pairs.
        entries: Vec<(Address, Asset)>,
        /// A Safe whose `nonce()` is read in the same call, at the same block.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        safe: Option<Address>,
    },
    /// `eth_feeHistory(blocks, "latest", [percentile])`.
    FeeHistory {
        /// Blocks of history.
        blocks: u64,
        /// The reward percentile.
        percentile: u8,
    },
    /// `eth_sendRawTransaction` of the journaled raw transaction with this hash.
    SendRaw {
        /// The hash.
        hash: B256,
    },
    /// `eth_getTransactionReceipt(hash)`.
    Receipt {
        /// The hash.
        hash: B256,
    },
}

impl RpcCall {
    /// The JSON-RPC method name (the main one, for batches).
    pub fn method(&self) -> &'static str {
        match self {
            Self::Head | Self::BlockHash { .. } => "eth_getBlockByNumber",
            Self::TransactionCounts { .. } => "eth_getTransactionCount",
            Self::Balances { .. } => "eth_call",
            Self::FeeHistory { .. } => "eth_feeHistory",
            Self::SendRaw { .. } => crate::rpc::SEND_RAW,
            Self::Receipt { .. } => "eth_getTransactionReceipt",
        }
    }
}

/// A receipt, reduced to what the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Receipt {
    /// The block it is in.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// `status == 1`.
    pub success: bool,
}

/// A successful RPC answer, typed. JSON: tagged by `"answer"`, read tag first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum RpcAnswer {
    /// The head block.
    Head {
        /// Its number.
        number: u64,
        /// Its hash.
        hash: B256,
        /// Its timestamp, seconds.
        timestamp: u64,
    },
    /// A block's hash (`None`: the node has no block at that height).
    BlockHash {
        /// The height.
        number: u64,
        /// The hash.
        hash: Option<B256>,
    },
    /// Transaction counts.
    TransactionCounts {
        /// At `latest`.
        latest: u64,
        /// At `pending`.
        pending: u64,
    },
    /// Balances, one per requested entry, in order.
    Balances {
        /// The block they were read at.
        block: u64,
        /// The values.
        #[serde(with = "ser::dec::vec")]
        values: Vec<U256>,
        /// The asked Safe's `nonce()` at that block.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        safe_nonce: Option<u64>,
    },
    /// Fee history at the requested percentile.
    FeeHistory(FeeHistory),
    /// The node accepted the raw transaction.
    Sent {
        /// Its hash.
        hash: B256,
    },
    /// A receipt, or `None` when not mined (or not known).
    Receipt {
        /// The hash asked for.
        hash: B256,
        /// The receipt.
        receipt: Option<Receipt>,
    },
}

/// What a transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TxBody {
    /// Send native coin.
    Native {
        /// The recipient.
        to: Address,
        /// Wei.
        #[serde(with = "ser::dec")]
        value: U256,
    },
    /// ERC-20 `transfer(to, amount)` on `token`.
    Erc20 {
        /// The token contract.
        token: Address,
        /// The recipient.
        to: Address,
        /// Token units.
        #[serde(with = "ser::dec")]
        amount: U256,
    },
    /// A 0-value send to the sender itself (gap fill or cancel).
    Noop,
    /// A contract call of a life-cycle step: `value` to `to`, with the calldata of the
    /// request's only call ([`TxRequest::calls`]).
    Call {
        /// The contract.
        to: Address,
        /// `msg.value`, wei.
        #[serde(with = "ser::dec")]
        value: U256,
    },
    /// `execTransaction` on a Safe 1.3.0, sent by an owner: the Safe pays the top-ups of the
    /// request (one CALL, or a MultiSend delegatecall for two or more; [`crate::safe::batch`]),
    /// or makes the calls of a life-cycle step ([`crate::safe::call_batch`]). The Safe
    /// transaction is fixed by these fields and the top-ups or calls, so a bump of the sender's
    /// transaction carries the same Safe transaction.
    Safe {
        /// The Safe.
        safe: Address,
        /// The Safe's nonce the owners sign (read from `nonce()`).
        nonce: u64,
        /// The MultiSend contract a batch delegatecalls.
        multisend: Address,
        /// The Safe transaction's `safeTxGas`: the top-ups' gas (above 0, a failing batch
        /// consumes the Safe's nonce instead of reverting).
        safe_tx_gas: u64,
    },
}

/// A transaction to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct TxRequest {
    /// The sender (the chain's funding key).
    pub from: Address,
    /// The nonce.
    pub nonce: u64,
    /// What it does.
    pub body: TxBody,
    /// The gas limit.
    pub gas_limit: u64,
    /// The fees.
    pub fees: Fees,
    /// The top-ups a [`TxBody::Safe`] pays, in order (empty for every other body, and for a
    /// Safe transaction of a life-cycle step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_ups: Vec<TopUp>,
    /// The call a [`TxBody::Call`] makes, or the calls a [`TxBody::Safe`] of a life-cycle step
    /// makes (one CALL, or a MultiSend of two or more); empty for every other body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<Call>,
}

/// What the journal keeps of one transaction of ours: the nonce-book record and, for a funding
/// transfer, what it pays. [`crate::engine::Engine::restore`] rebuilds the engine from the latest
/// entry of each record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct JournalEntry {
    /// The chain.
    pub chain: ChainId,
    /// The record.
    pub record: TxRecord,
    /// The transfer it carries (absent for gap fills and life-cycle steps).
    pub transfer: Option<TransferIntent>,
    /// The life-cycle step it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallIntent>,
}

impl JournalEntry {
    /// Parses a journal (a JSON array of entries), as [`crate::recording::Header`] holds it.
    pub fn list_from_json(text: &str) -> Result<Vec<Self>, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }
}

/// A funding transfer as the journal keeps it: one top-up (its own fields) and, for a Safe
/// batch, the further top-ups the same transaction pays (`more`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct TransferIntent {
    /// The recipient.
    pub to: Address,
    /// The asset.
    pub asset: Asset,
    /// The amount.
    #[serde(with = "ser::dec")]
    pub amount: U256,
    /// Native reserved for its gas when planned.
    #[serde(with = "ser::dec")]
    pub gas_reserved: U256,
    /// The transaction body.
    pub body: TxBody,
    /// Its gas limit.
    pub gas_limit: u64,
    /// The further top-ups of a [`TxBody::Safe`] batch, after this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<TopUp>,
}

impl TransferIntent {
    /// Every top-up the transaction pays: its own, then `more`.
    pub fn top_ups(&self) -> impl Iterator<Item = TopUp> + '_ {
        std::iter::once(TopUp {
            to: self.to,
            asset: self.asset,
            amount: self.amount,
            gas_reserved: self.gas_reserved,
        })
        .chain(self.more.iter().copied())
    }

    /// The Safe's nonce this transaction consumes, for a [`TxBody::Safe`].
    pub fn safe_nonce(&self) -> Option<u64> {
        match self.body {
            TxBody::Safe { nonce, .. } => Some(nonce),
            TxBody::Native { .. } | TxBody::Erc20 { .. } | TxBody::Noop | TxBody::Call { .. } => {
                None
            }
        }
    }
}

/// A life-cycle transaction as the journal keeps it: the service and step it belongs to, and
/// the call it makes (its body is [`CallIntent::body`], its gas limit the call's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct CallIntent {
    /// The service.
    pub service: ServiceName,
    /// The step ([`crate::lifecycle::calls::step_name`]).
    pub step: String,
    /// The call (the first, when a Safe transaction carries several).
    pub call: Call,
    /// The further calls of the same Safe transaction (a MultiSend batch), after `call`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<Call>,
    /// The Safe transaction that carries the calls, when the service's owner is the chain's
    /// Safe; absent, the funding key makes the one call itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe: Option<SafeStep>,
}

/// The Safe transaction of a life-cycle step: which Safe, at which of its nonces, and its gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct SafeStep {
    /// The Safe (the service's owner).
    pub safe: Address,
    /// The Safe's nonce the owners sign.
    pub nonce: u64,
    /// The MultiSend contract a batch of two or more calls delegatecalls.
    pub multisend: Address,
    /// `safeTxGas`: the calls' gas (above 0, a failing call consumes the Safe's nonce).
    pub safe_tx_gas: u64,
    /// The gas limit of the owner's `execTransaction`.
    pub gas_limit: u64,
}

impl CallIntent {
    /// The transaction body: the call's value to its contract, or the Safe transaction.
    pub fn body(&self) -> TxBody {
        match self.safe {
            Some(s) => TxBody::Safe {
                safe: s.safe,
                nonce: s.nonce,
                multisend: s.multisend,
                safe_tx_gas: s.safe_tx_gas,
            },
            None => TxBody::Call {
                to: self.call.to,
                value: self.call.value,
            },
        }
    }

    /// The transaction's gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.safe.map_or(self.call.gas, |s| s.gas_limit)
    }

    /// Every call the transaction makes, in order.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        std::iter::once(&self.call).chain(&self.more)
    }

    /// The Safe's nonce this transaction consumes, when a Safe carries it.
    pub fn safe_nonce(&self) -> Option<u64> {
        self.safe.map(|s| s.nonce)
    }
}

/// One top-up: what one wallet receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct TopUp {
    /// The recipient.
    pub to: Address,
    /// The asset.
    pub asset: Asset,
    /// The amount.
    #[serde(with = "ser::dec")]
    pub amount: U256,
    /// Native reserved for its gas when planned.
    #[serde(with = "ser::dec")]
    pub gas_reserved: U256,
}

/// A request to the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum Output {
    /// Make an RPC call on endpoint `endpoint` of `chain`; answer with [`Input::RpcResponse`].
    Rpc {
        /// The request id.
        id: RequestId,
        /// The chain.
        chain: ChainId,
        /// The endpoint's index in the chain's list.
        endpoint: usize,
        /// The call.
        call: RpcCall,
        /// Give up after this long and answer with a transport failure, ms.
        timeout_ms: u64,
    },
    /// Sign `tx`, write the raw transaction to the journal, answer with [`Input::Signed`].
    Sign {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The transaction (boxed: outputs are moved through queues, and this one is rare).
        request: Box<TxRequest>,
    },
    /// Persist this journal entry, replacing the previous one of the same (chain, record)
    /// (write-ahead: it goes out before the broadcast that follows it). Boxed, like `Sign`'s
    /// request: it is three times the size of every other output.
    Journal(Box<JournalEntry>),
    /// Spawn the service's agent; answer with [`Input::Spawned`] or [`Input::SpawnFailed`].
    Spawn {
        /// The service.
        service: ServiceName,
    },
    /// SIGTERM the agent's process group.
    Terminate {
        /// The service.
        service: ServiceName,
    },
    /// SIGKILL the agent's process group.
    Kill {
        /// The service.
        service: ServiceName,
    },
    /// Probe the agent's health URL; answer with [`Input::Probed`].
    Probe {
        /// The service.
        service: ServiceName,
        /// The probe timeout, ms.
        timeout_ms: u64,
    },
    /// Something the operator should see.
    Event(Event),
}

/// An event for the operator (logs, dashboards, alerts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A service's verdict changed.
    Health {
        /// The service.
        service: ServiceName,
        /// The new status.
        status: Status,
        /// Why.
        reason: Reason,
    },
    /// A service's agent failed for good: an operator must act.
    Alert {
        /// The service.
        service: ServiceName,
        /// Why.
        reason: Reason,
    },
    /// A funding transfer was planned and its nonce reserved.
    TransferPlanned {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The nonce.
        nonce: u64,
        /// The recipient.
        to: Address,
        /// The asset.
        asset: Asset,
        /// The amount.
        #[serde(with = "ser::dec")]
        amount: U256,
    },
    /// A transaction of ours reached its confirmation depth.
    TxConfirmed {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The nonce.
        nonce: u64,
        /// The mined hash.
        hash: B256,
        /// Whether the mined transaction was a cancel.
        cancelled: bool,
    },
    /// A top-up was mined but reverted (its recipient refused it or it ran out of gas): the
    /// nonce is used, nothing arrived, and the wallet is not topped up again by this daemon
    /// (a restart, after a fix, tries again).
    TransferReverted {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The recipient.
        to: Address,
        /// The asset.
        asset: Asset,
        /// The mined hash.
        hash: B256,
    },
    /// A Safe's `execTransaction` reverted (receipt status 0): none of its top-ups arrived, its
    /// wallets are not topped up again by this engine (an operator looks first), and the Safe's
    /// nonce was not consumed.
    SafeTxReverted {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The Safe.
        safe: Address,
        /// The Safe nonce it was signed for.
        safe_nonce: u64,
        /// The mined hash.
        hash: B256,
        /// The likely reasons, for a person.
        message: String,
    },
    /// A life-cycle transaction got its nonce and goes out.
    StepTxPlanned {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The nonce.
        nonce: u64,
        /// The service.
        service: ServiceName,
        /// The step.
        step: String,
        /// The contract it calls.
        to: Address,
    },
    /// A life-cycle transaction reached its confirmation depth (`success`: receipt status 1).
    StepTxConfirmed {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The service.
        service: ServiceName,
        /// The step.
        step: String,
        /// The mined hash.
        hash: B256,
        /// Its block.
        block: u64,
        /// Whether it succeeded.
        success: bool,
    },
    /// A life-cycle transaction will not land: cancelled, its nonce used by another
    /// transaction, or never signed.
    StepTxDropped {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The service.
        service: ServiceName,
        /// The step.
        step: String,
        /// Why, for a person.
        reason: String,
    },
    /// A transaction was replaced with higher fees (stuck, underpriced, or cancelled).
    TxReplaced {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The nonce.
        nonce: u64,
        /// The new fees.
        fees: Fees,
    },
    /// A node answered a broadcast with an error.
    SendRejected {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The class of the error.
        class: SendErrorClass,
    },
    /// Funding on a chain is held.
    FundingHeld {
        /// The chain.
        chain: ChainId,
        /// Why.
        reason: HoldReason,
    },
    /// A wallet stays short: the sources cannot cover it.
    Shortfall {
        /// The chain.
        chain: ChainId,
        /// The wallet.
        holder: Address,
        /// The asset.
        asset: Asset,
        /// How much is missing.
        #[serde(with = "ser::dec")]
        missing: U256,
        /// Why, for a person.
        message: String,
    },
    /// A nonce was lost to a transaction that is not ours (the key is used elsewhere).
    NonceLost {
        /// The chain.
        chain: ChainId,
        /// The record.
        tx: TxId,
        /// The nonce.
        nonce: u64,
    },
    /// A reorg deeper than the confirmation depth undid transactions of ours that had been
    /// confirmed: their nonces are open again and will be filled (raise `confirmations`).
    DeepReorg {
        /// The chain.
        chain: ChainId,
        /// Our confirmed count before.
        confirmed: u64,
        /// The chain's count now.
        now_count: u64,
    },
    /// The chain's head state changed.
    Chain {
        /// The chain.
        chain: ChainId,
        /// The verdict.
        verdict: ChainVerdict,
    },
    /// An RPC call failed for good (after retries and failover).
    RpcFailed {
        /// The chain.
        chain: ChainId,
        /// The method.
        method: String,
        /// The last failure.
        failure: RpcFailure,
    },
    /// An input was ignored (unknown service, chain, request or record).
    Ignored {
        /// Why.
        reason: String,
    },
}

/// Why funding is held on a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "hold", rename_all = "snake_case")]
pub enum HoldReason {
    /// Gas is above the cap.
    Fees {
        /// The fee error.
        error: FeeError,
    },
    /// The chain's head is stale.
    StaleChain,
    /// A replacement would cost more than the funding key holds.
    Unaffordable {
        /// Its worst cost (value + gas limit × max fee), plus the worst costs of our lower
        /// nonces still in flight (paid first), wei.
        #[serde(with = "ser::dec")]
        needed: U256,
        /// The funding key's native balance, wei.
        #[serde(with = "ser::dec")]
        available: U256,
    },
    /// The nonce book refuses more transactions.
    Nonce {
        /// The error, for a person.
        message: String,
    },
    /// The Safe's nonce sequence waits (one Safe transaction at a time, or the Safe's nonce is
    /// unknown).
    Safe {
        /// Why, for a person.
        message: String,
    },
}

/// Why the engine wants to be woken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum WakeReason {
    /// Time to read a chain again.
    ChainPoll {
        /// The chain.
        chain: ChainId,
    },
    /// A delayed RPC retry is due.
    RpcRetry {
        /// The request.
        id: RequestId,
    },
    /// An RPC answer is overdue.
    RpcTimeout {
        /// The request.
        id: RequestId,
    },
    /// A service's monitor is due.
    Agent {
        /// The service.
        service: ServiceName,
        /// What for.
        wake: Wake,
    },
}
