// @tend/web: tend's core in the browser and in Node. Curated types (checked by `tsc --noEmit`
// against npm/test/types/usage.ts); the wasm-bindgen output under dist/ types every export `any`.
//
// Amounts: inputs take a bigint, a decimal string or a 0x hex string; a plain number above
// 2^53 - 1 throws code "unsafe_number". JS-shaped results carry amounts as bigint; results that
// mirror the Olas middleware's HTTP JSON keep decimal strings.
//
// Runtimes: the wasm uses WebAssembly SIMD (Chrome/Edge 91, Firefox 89, Safari 16.4, Node 16.4
// or later); older engines refuse to compile it.

/** An amount in the smallest unit (wei, or the token's base unit). */
export type AmountIn = bigint | string;
/** A `0x`-prefixed 20-byte address (any case in; EIP-55 or lowercase out). */
export type Address = string;
/** A chain id as a decimal string ("100", "8453"). */
export type ChainId = string;
/** Milliseconds since the Unix epoch. */
export type TimestampMs = number;

/** Every error thrown by the package: a JS Error with a stable machine-readable code. */
export interface TendError extends Error {
  code:
    | "invalid_input"
    | "unsafe_number"
    | "invalid_config"
    | "invalid_recording"
    | "rpc_failed"
    | "wrong_chain"
    | "transition_refused"
    | "busy_loop"
    | "internal";
}

/** The Olas middleware's funding snapshot (see tend's README, "The funding snapshot"). */
export interface FundingSnapshot {
  service: Record<string, unknown>;
  wallet?: Record<string, unknown>;
  balances?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The Olas `funding_requirements` body, exactly as the middleware's HTTP API answers it. */
export interface OlasFundingReport {
  balances: Record<string, Record<string, Record<string, string>>>;
  bonded_assets: Record<string, Record<string, string>>;
  total_requirements: Record<string, Record<string, Record<string, string>>>;
  refill_requirements: Record<string, Record<string, Record<string, string>>>;
  protocol_asset_requirements: Record<string, Record<string, Record<string, string>>>;
  is_refill_required: boolean;
  allow_start_agent: boolean;
  agent_funding_requests: Record<string, Record<string, Record<string, string>>>;
  agent_funding_requests_cooldown: boolean;
  agent_funding_in_progress: boolean;
  [key: string]: unknown;
}

/** The planner's input (see tend's README, "The planner input"). */
export interface PlanInput {
  sources: Array<{ chain: ChainId; address: Address; balances: Record<Address, AmountIn> }>;
  wallets: Array<{
    chain: ChainId;
    address: Address;
    balances?: Record<Address, AmountIn>;
    policy: Record<Address, { low: AmountIn; target: AmountIn; max_transfer?: AmountIn; spend_per_day?: AmountIn }>;
    priority?: number;
  }>;
  chains: Record<ChainId, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface Transfer {
  chain: ChainId;
  from: Address;
  to: Address;
  asset: Address;
  amount: bigint;
  gas_reserved: bigint;
}

export interface Shortfall {
  chain: ChainId;
  holder: Address;
  asset: Address;
  missing: bigint;
  reason: string;
  message: string;
}

export interface Runway {
  chain: ChainId;
  address: Address;
  asset: Address;
  balance: bigint;
  low: bigint;
  spend_per_day: bigint;
  /** Seconds until the balance falls below `low` (0: already below); null when nothing is spent. */
  seconds_until_low: number | null;
}

export interface Plan {
  transfers: Transfer[];
  shortfalls: Shortfall[];
  runway: Runway[];
}

/** `simulate`'s configuration: every field optional (tend_core::sim::SimConfig). */
export interface SimConfig {
  seed?: number;
  duration_ms?: number;
  start_ms?: number;
  services?: number;
  behaviours?: Array<Record<string, unknown>>;
  warmup_ms?: number;
  funder_balance?: AmountIn;
  wallet_balance?: AmountIn;
  low?: AmountIn;
  target?: AmountIn;
  spend_per_day?: AmountIn;
  poll_ms?: number;
  sample_every_ms?: number;
  [key: string]: unknown;
}

export interface SimReport {
  seed: number;
  summary: {
    services: Array<{
      name: string;
      restarts: number;
      transfers: number;
      funded: bigint;
      final_balance: bigint;
      runway_secs: number | null;
      status: string;
    }>;
    funds_spent: bigint;
    [key: string]: unknown;
  };
  /** One sample per `sample_every_ms`: wallet balances per service, the funder, verdicts. */
  timeline: Array<{ t: TimestampMs; wallets: bigint[]; funder: bigint; status: string[] }>;
  events: Array<Record<string, unknown>>;
  /** Broken invariants (always empty unless tend has a bug). */
  violations: string[];
}

/** A replayed recording. */
export interface Replayed {
  /** The engine's outputs, one JSON line each, byte for byte what `tend replay` prints. */
  outputs: string;
  /** Keccak-256 of `outputs`, hex. */
  hash: string;
  inputs: number;
  count: number;
}

/** A decision of the engine, stamped with the time of the input that led to it. */
export interface Decision {
  at: TimestampMs;
  decision:
    | "transfer"
    | "replace"
    | "spawn"
    | "terminate"
    | "kill"
    | "health"
    | "alert"
    | "funding_held"
    | "shortfall";
  [field: string]: unknown;
}

export interface WhatIf {
  baseline_config: string;
  what_if_config: string;
  first_difference: { index: number; baseline: Decision | null; what_if: Decision | null } | null;
  differences: Array<{ decision: string; baseline: number; what_if: number }>;
  transfers: Array<{
    chain: ChainId;
    asset: Address;
    baseline_count: number;
    baseline_amount: bigint;
    what_if_count: number;
    what_if_amount: bigint;
  }>;
  baseline: Decision[];
  what_if: Decision[];
  dropped: number;
  assumed: number;
}

/** The Olas middleware's `funding_requirements` body for a funding snapshot (object or JSON text). */
export function olasFundingReport(snapshot: FundingSnapshot | string): OlasFundingReport;
/** tend's funding plan: transfers, shortfalls and runway, amounts as bigint. */
export function planFunding(input: PlanInput | string): Plan;
/** Runs the seeded simulation world; a chart can draw `timeline`. */
export function simulate(config?: SimConfig | string): SimReport;
/** The ordered steps from a service's facts to a target; throws `transition_refused` when a guard forbids it. */
export function planTransition(request: { facts: Record<string, unknown>; target: Record<string, unknown> } | string): {
  steps: Array<Record<string, unknown>>;
  warnings: string[];
};
/** What the nonce planner would do for one sender. */
export function planNonces(request: Record<string, unknown> | string): {
  next_nonce: number;
  gaps: number[];
  actions: Array<Record<string, unknown>>;
};
/** The health reducer over probe samples. */
export function healthVerdict(request: Record<string, unknown> | string): {
  verdict: string;
  state: Record<string, unknown>;
  restarts: number;
  next_deadline: TimestampMs | null;
  actions: Array<Record<string, unknown>>;
};
/** Replays a recording (`tend run --record`); throws `invalid_recording` naming the line. */
export function replayRecording(text: string): Replayed;
/** The recorded history under another engine configuration (the header's `config` shape). */
export function whatIf(recording: string, config: Record<string, unknown> | string): WhatIf;
/** An engine input: the shapes of a recording's lines (`{input: "tick", now}`, …). */
export type EngineInput = { input: string; now: TimestampMs; [field: string]: unknown };
/** An engine output: `{output: "rpc" | "sign" | "journal" | "spawn" | … , …}`; events carry `event`. */
export type EngineOutput = { output: string; [field: string]: unknown };

/** The engine, driven by a dashboard's own loop. Amounts in inputs and outputs are decimal strings. */
export class Engine {
  /** A fresh engine for a configuration (a recording header's `config`) at `nowMs`. */
  constructor(config: Record<string, unknown> | string, nowMs: TimestampMs);
  /** An engine restored from its journal with the services whose agents still run. */
  static restore(
    config: Record<string, unknown> | string,
    nowMs: TimestampMs,
    journal: Array<Record<string, unknown>> | string | null,
    running: string[],
  ): Engine;
  /** Hands one input to the engine; throws `invalid_input` when it does not parse. */
  handleInput(input: EngineInput | string): void;
  /** Every output waiting, in order. */
  drain(): EngineOutput[];
  /** When to send the next `{input: "tick", now}`, and why; null when nothing is due. */
  pollTimeout(): { at: TimestampMs; reason: Record<string, unknown> } | null;
  /** The engine's clock. */
  now(): TimestampMs;
  /** Frees the engine's memory (wasm-bindgen). */
  free(): void;
}

/** Browser-side JSON-RPC over several endpoints of one chain, with tend's failover policy. */
export class RpcClient {
  /** `urls` tried in score order (failing ones benched); `policy`: a chain's `rpc_policy` fields. */
  constructor(urls: string[], policy?: Record<string, unknown> | null);
  /** One call with retries and failover; throws code `rpc_failed`. */
  request(method: string, params?: unknown[]): Promise<unknown>;
  /** `eth_chainId`. */
  chainId(): Promise<number>;
  /**
   * Balances of every holder in every asset (zero address: native) at one block, through
   * Multicall3 (or a JSON-RPC batch where it is absent). Throws `wrong_chain`, `rpc_failed`.
   */
  readBalances(
    chainId: number,
    holders: Address[],
    assets: Address[],
  ): Promise<{ block: number; multicall: boolean; balances: Record<Address, Record<Address, bigint>> }>;
  /** Every endpoint's standing. */
  status(): Array<{ index: number; score_bps: number; breaker: Record<string, unknown>; head: number | null; lag: number }>;
  free(): void;
}

/** Turns on tend's logging to the console ("error" | "warn" | "info" (default) | "debug" | "trace"). */
export function initTracing(level?: "error" | "warn" | "info" | "debug" | "trace"): void;

/** The package's version. */
export function version(): string;
