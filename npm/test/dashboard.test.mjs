// The example dashboard end to end: headless Chromium (playwright-core, Debian's chromium) on
// the page, a real anvil as the chain (chain id 100, Gnosis). It reads balances by browser RPC,
// renders the Olas verdict and the runway chart, reacts to the what-if control; a screenshot is
// kept in target/artifacts/dashboard.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serve, launch, missing, rpc, startAnvil } from "./browser/harness.mjs";

const skip = missing({ anvil: true });

const AGENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const EOA = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const SAFE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const wei = (eth) => `0x${(BigInt(Math.round(eth * 1000)) * 10n ** 15n).toString(16)}`;

test("the dashboard reads a chain, shows the verdict and the runway, and answers what-if", { skip }, async () => {
  const anvil = await startAnvil(100);
  const url = anvil.url;
  const server = await serve();
  const browser = await launch();
  try {
    await rpc(url, "anvil_setBalance", [AGENT, wei(0.5)]);
    await rpc(url, "anvil_setBalance", [EOA, wei(1)]);
    await rpc(url, "anvil_setBalance", [SAFE, "0x0"]);
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${server.url}/npm/examples/dashboard/index.html`);
    await page.waitForFunction(() => window.dashboardReady === true, null, { timeout: 30_000 });
    await page.fill("#rpc", url);

    // Short: the agent holds 0.5 of its 2, the safe nothing of its 8.
    await page.click("#read");
    await page.waitForFunction(() => document.getElementById("verdict").textContent !== "—");
    assert.equal(await page.textContent("#error"), "");
    assert.equal(await page.textContent("#verdict"), "needs funds");
    const cells = await page.$$eval("#balances tbody tr", (rows) => rows.map((r) => [r.dataset.wallet, r.cells[2].textContent]));
    assert.deepEqual(cells, [
      ["agent", "500000000000000000"],
      ["master EOA", "1000000000000000000"],
      ["master Safe", "0"],
    ]);
    assert.ok((await page.$$("#needs li")).length >= 1);
    const points = await page.getAttribute("#runway-line", "points");
    assert.ok(points.split(" ").length > 100, points);

    // What-if: a higher target means fewer, larger top-ups over the same 30 days.
    const before = Number(await page.getAttribute("#runway", "data-transfers"));
    await page.$eval("#target", (el) => {
      el.value = "8";
      el.dispatchEvent(new Event("input"));
    });
    await page.waitForFunction((b) => document.getElementById("runway").dataset.transfers !== String(b), before);
    const after = Number(await page.getAttribute("#runway", "data-transfers"));
    assert.ok(after < before, `top-ups: ${before} at target 2, ${after} at target 8`);

    // Funded: the verdict turns.
    await rpc(url, "anvil_setBalance", [AGENT, wei(5)]);
    await rpc(url, "anvil_setBalance", [SAFE, wei(20)]);
    await page.click("#read");
    await page.waitForFunction(() => document.getElementById("verdict").textContent === "funded");
    assert.equal(await page.textContent("#may-start"), "the agent may start");
    assert.equal((await page.$$("#needs li")).length, 0);

    const dir = fileURLToPath(new URL("../../target/artifacts/", import.meta.url));
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: `${dir}dashboard.png`, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
    anvil.stop();
  }
});
