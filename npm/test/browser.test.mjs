// The browser build in real headless Chromium (playwright-core, Debian's chromium): it loads,
// gives the native goldens' answers, replays the whole corpus to the native hashes, and throws
// Errors with codes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { serve, launch, open } from "./browser/harness.mjs";

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromium) && process.env.TEND_REQUIRE_BROWSER === "1") {
  throw new Error(`no Chromium at ${chromium}: apt install chromium chromium-driver`);
}
const skip = existsSync(chromium) ? false : `no Chromium at ${chromium} (apt install chromium)`;
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
