// The browser build in real headless Chromium (playwright-core, Debian's chromium): it loads,
// gives the native goldens' answers, replays the whole corpus to the native hashes, and throws
// Errors with codes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { serve, launch, open, missing, rpc, startAnvil } from "./browser/harness.mjs";

const skip = missing();
const noAnvil = missing({ anvil: true });
let server, browser, page, errors;

before(async () => {
  if (skip) return;
  server = await serve();
  browser = await launch();
  ({ page, errors } = await open(browser, server.url));
});
after(async () => {
  await browser?.close();
  server?.close();
});

test("Olas reports equal the native CLI's golden bodies", { skip }, async () => {
  const diffs = await page.evaluate(async () => {
    const out = [];
    for (const name of ["a-fresh-install", "c-running-staked", "e-agent-asks-for-funds"]) {
      const input = await (await fetch(`/tests/fixtures/olas/${name}.json`)).json();
      const golden = await (await fetch(`/tests/golden/olas/${name}.json`)).json();
      const got = window.tend.olasFundingReport(input);
      if (JSON.stringify(got) !== JSON.stringify(golden)) out.push(name);
    }
    return out;
  });
  assert.deepEqual(diffs, []);
});

test("the corpus replays in Chromium to the native outputs' hashes", { skip }, async () => {
  const result = await page.evaluate(async () => {
    const list = await (await fetch("/tests/corpus/outputs.keccak")).text();
    const rows = list.trim().split("\n").map((l) => l.split(/\s+/));
    const bad = [];
    for (const [hash, name] of rows) {
      const text = await (await fetch(`/tests/corpus/recordings/${name}`)).text();
      const golden = await (await fetch(`/tests/corpus/golden/${name}`)).text();
      const r = window.tend.replayRecording(text);
      if (r.hash !== hash || r.outputs !== golden) bad.push(name);
    }
    return { count: rows.length, bad };
  });
  assert.ok(result.count >= 10, `${result.count} recordings`);
  assert.deepEqual(result.bad, []);
});

test("amounts are bigint across the boundary and errors carry a code", { skip }, async () => {
  const r = await page.evaluate(() => {
    const sim = window.tend.simulate({ seed: 2, services: 2, duration_ms: 3_600_000 });
    let unsafe = "", invalid = "";
    try {
      window.tend.simulate({ target: 2 ** 60 });
    } catch (e) {
      unsafe = e instanceof Error ? e.code : "not an Error";
    }
    try {
      window.tend.replayRecording("");
    } catch (e) {
      invalid = e.code;
    }
    return { spent: typeof sim.summary.funds_spent, unsafe, invalid, violations: sim.violations.length };
  });
  assert.deepEqual(r, { spent: "bigint", unsafe: "unsafe_number", invalid: "invalid_recording", violations: 0 });
  assert.deepEqual(errors, []);
});

// Browser-side RPC against a real anvil (which answers CORS from any origin): balances through
// Multicall3 pinned to one block, with a dead endpoint listed first (failover), equal to what
// the node says pair by pair.
test("RpcClient reads balances in Chromium through Multicall3, failing over a dead endpoint", { skip: noAnvil }, async () => {
  const anvil = await startAnvil(31337);
  const url = anvil.url;
  try {
    const code = readFileSync(new URL("../../native/assets/multicall3.runtime.hex", import.meta.url), "utf8").trim();
    await rpc(url, "anvil_setCode", ["0xcA11bde05977b3631167028862bE2a173976CA11", code.startsWith("0x") ? code : `0x${code}`]);
    const holders = ["0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000a2"];
    await rpc(url, "anvil_setBalance", [holders[0], "0xde0b6b3a7640000"]); // 1 ether
    await rpc(url, "anvil_setBalance", [holders[1], "0x1"]);
    const logs = [];
    page.on("console", (m) => logs.push(m.text()));
    const got = await page.evaluate(
      async ({ url, holders }) => {
        let badLevel = "";
        try {
          window.tend.initTracing("loud");
        } catch (e) {
          badLevel = e.code;
        }
        window.tend.initTracing("warn");
        window.tend.initTracing("warn"); // a second call changes nothing
        const c = new window.tend.RpcClient(["http://127.0.0.1:9/", url]);
        const r = await c.readBalances(31337, holders, ["0x0000000000000000000000000000000000000000"]);
        let wrong = "";
        try {
          await c.readBalances(1, holders, ["0x0000000000000000000000000000000000000000"]);
        } catch (e) {
          wrong = e.code;
        }
        const b = Object.fromEntries(
          Object.entries(r.balances).map(([h, v]) => [h.toLowerCase(), String(v["0x0000000000000000000000000000000000000000"])]),
        );
        return { multicall: r.multicall, block: r.block, b, wrong, badLevel, status: c.status().map((s) => s.score_bps) };
      },
      { url, holders },
    );
    assert.equal(got.multicall, true);
    assert.deepEqual(got.b, { [holders[0]]: "1000000000000000000", [holders[1]]: "1" });
    assert.equal(got.wrong, "wrong_chain");
    assert.equal(got.badLevel, "invalid_input");
    // initTracing: the failover shows in the console.
    assert.ok(logs.some((l) => l.includes("RPC failed, retrying")), logs.join("\n"));
    assert.ok(got.status[1] > got.status[0], `the good endpoint scores higher: ${got.status}`);
  } finally {
    anvil.stop();
  }
});
