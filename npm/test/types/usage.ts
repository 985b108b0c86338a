// Type-checked by `tsc --noEmit -p npm/test/types` (scripts/test): the curated index.d.ts gives
// a dashboard author real types, and misuse does not compile (each @ts-expect-error must fail).
import {
  olasFundingReport,
  planFunding,
  replayRecording,
  simulate,
  whatIf,
  version,
  Engine,
  RpcClient,
  type Plan,
  type SimReport,
  type TendError,
  type WhatIf,
} from "../../index";

const plan: Plan = planFunding({ sources: [], wallets: [], chains: {} });
const first: bigint | undefined = plan.transfers[0]?.amount;
const runway: number | null | undefined = plan.runway[0]?.seconds_until_low;

const report = olasFundingReport("{}");
const mayStart: boolean = report.allow_start_agent;

const sim: SimReport = simulate({ seed: 1, services: 2, target: 10n ** 18n });
const spent: bigint = sim.summary.funds_spent;
const points: number = sim.timeline.map((p) => p.t).length;

const replayed = replayRecording("…");
const hash: string = replayed.hash;
const w: WhatIf = whatIf("…", { chains: [], services: [] });
const more: boolean = (w.transfers[0]?.what_if_amount ?? 0n) > 0n;

const engine = new Engine({ chains: [], services: [] }, Date.now());
engine.handleInput({ input: "tick", now: Date.now() });
const outputs: string[] = engine.drain().map((o) => o.output);
const due: number | undefined = engine.pollTimeout()?.at;
void [outputs, due];

const client = new RpcClient(["http://127.0.0.1:8545"]);
void client.readBalances(100, ["0x00000000000000000000000000000000000000a1"], ["0x0000000000000000000000000000000000000000"]).then(
  (r) => {
    const wei: bigint | undefined = r.balances["0x00000000000000000000000000000000000000a1"]?.["0x0000000000000000000000000000000000000000"];
    return wei;
  },
);

try {
  planFunding("{");
} catch (e) {
  const code: TendError["code"] = (e as TendError).code;
  void code;
}

// @ts-expect-error: a recording is text
replayRecording(42);
// @ts-expect-error: amounts are bigint, not number
const wrong: number = plan.transfers[0]!.amount;
// @ts-expect-error: no such export
import { nothing } from "../../index";

void [first, runway, mayStart, spent, points, hash, more, wrong, version()];
void nothing;
