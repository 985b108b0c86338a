// The package's nodejs build, loaded the way a Node user loads it, against the native goldens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const tend = require("../dist/nodejs/tend_web.js");
const root = new URL("../../tests/", import.meta.url);
const read = (p) => readFileSync(new URL(p, root), "utf8");

test("olasFundingReport gives the native CLI's body", () => {
  for (const name of ["a-fresh-install", "c-running-staked", "e-agent-asks-for-funds"]) {
    const body = tend.olasFundingReport(JSON.parse(read(`fixtures/olas/${name}.json`)));
    assert.deepEqual(body, JSON.parse(read(`golden/olas/${name}.json`)), name);
  }
});

test("planFunding takes and gives bigint amounts", () => {
  const input = JSON.parse(read("fixtures/plan/two-chains.json"));
  input.sources[0].balances["0x0000000000000000000000000000000000000000"] = 3000000000000000000n;
  const plan = tend.planFunding(input);
  assert.equal(typeof plan.transfers[0].amount, "bigint");
  const golden = JSON.parse(read("golden/plan/two-chains.json"));
  const asText = JSON.parse(JSON.stringify(plan, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  assert.deepEqual(asText, golden);
});

test("errors are Errors with a stable code", () => {
  const input = JSON.parse(read("fixtures/plan/two-chains.json"));
  input.wallets[0].policy["0x0000000000000000000000000000000000000000"].target = 2 ** 60;
  assert.throws(() => tend.planFunding(input), (e) => e instanceof Error && e.code === "unsafe_number");
  assert.throws(() => tend.olasFundingReport("{"), (e) => e.code === "invalid_input");
});

test("simulate runs a day of a small fleet", () => {
  const r = tend.simulate({ seed: 2, services: 3, duration_ms: 86_400_000 });
  assert.equal(r.summary.services.length, 3);
  assert.equal(typeof r.summary.funds_spent, "bigint");
  assert.deepEqual(r.violations, []);
});
