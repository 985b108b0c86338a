// The npm package in headless Chromium (Debian's, through playwright-core): 1,000 Olas reports,
// simulate of 10 services for 30 days, and the 6-hour recording's replay (when
// `cargo bench -p tend-replay --bench replay` has written it). Run after npm/scripts/build.sh:
//   node npm/bench/browser.mjs
// TEND_BENCH_SIM_RUNS=6 runs simulate six times (default 3) and also prints the median without
// the first run (which includes V8's tier-up): the A/B figure of BENCHMARKS.md.
import { existsSync } from "node:fs";
import { serve, launch, open } from "../test/browser/harness.mjs";

const server = await serve();
const browser = await launch();
try {
  const { page } = await open(browser, server.url);
  console.log(`Chromium ${browser.version()}`);
  const simRuns = Math.max(1, Number(process.env.TEND_BENCH_SIM_RUNS ?? 3));
  const r = await page.evaluate(async (simRuns) => {
    const t = window.tend;
    const snapshot = await (await fetch("/tests/fixtures/olas/c-running-staked.json")).json();
    const text = JSON.stringify(snapshot);
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const reports = { object: [], text: [] };
    for (let run = 0; run < 5; run++) {
      let t0 = performance.now();
      for (let i = 0; i < 1000; i++) t.olasFundingReport(snapshot);
      reports.object.push(performance.now() - t0);
      t0 = performance.now();
      for (let i = 0; i < 1000; i++) t.olasFundingReport(text);
      reports.text.push(performance.now() - t0);
    }
    const sims = [];
    let violations = 0;
    for (let run = 0; run < simRuns; run++) {
      const t0 = performance.now();
      const s = t.simulate({ seed: 1 + run, services: 10, duration_ms: 30 * 86_400_000 });
      sims.push(performance.now() - t0);
      violations += s.violations.length;
    }
    const warm = sims.length > 1 ? median(sims.slice(1)) : null;
    return { object: median(reports.object), text: median(reports.text), sim: median([...sims]), warm, sims, violations };
  }, simRuns);
  console.log(`1,000 Olas reports (c-running-staked): ${r.object.toFixed(1)} ms from JS objects, ${r.text.toFixed(1)} ms from JSON text (median of 5)`);
  console.log(`simulate 10 services x 30 days: median ${r.sim.toFixed(0)} ms of ${r.sims.length} (${r.sims.map((x) => x.toFixed(0)).join(", ")}), ${r.violations} violations`);
  if (r.sims.length > 3) console.log(`  median without the first run (tier-up): ${r.warm.toFixed(0)} ms`);
  const sim = "/target/replay-bench/sim-6h.jsonl";
  if (existsSync(new URL(`../..${sim}`, import.meta.url))) {
    const ms = await page.evaluate(async (path) => {
      const text = await (await fetch(path)).text();
      window.tend.replayRecording(text);
      const t0 = performance.now();
      const r = window.tend.replayRecording(text);
      return [performance.now() - t0, r.inputs];
    }, sim);
    console.log(`replay of the 6-hour recording: ${ms[0].toFixed(0)} ms for ${ms[1]} inputs = ${((ms[1] / ms[0]) * 1000 / 1e6).toFixed(2)} M inputs/s`);
  }
} finally {
  await browser.close();
  server.close();
}
