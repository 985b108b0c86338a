// Headless Chromium for the package's browser build: a static server on loopback over the
// repository (the page, npm/dist/web, the fixtures and the corpus) and playwright-core driving
// Debian's /usr/bin/chromium (never a downloaded browser). Shared by browser.test.mjs and
// npm/bench/browser.mjs.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = fileURLToPath(new URL("../../../", import.meta.url));

const types = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".jsonl": "text/plain",
  ".keccak": "text/plain",
  ".png": "image/png",
};

/** Serves the repository read-only on 127.0.0.1; resolves to { url, close }. */
export function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (path.includes("..")) {
      res.writeHead(400).end();
      return;
    }
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }),
    ),
  );
}

/** Chromium as this machine runs it: headless, no sandbox (root), no background networking. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page with the package loaded (`window.tend`); console errors are collected in `errors`. */
export async function open(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}/npm/test/browser/index.html`);
  await page.waitForFunction(() => window.tendReady === true || window.tendError, null, { timeout: 30_000 });
  const failed = await page.evaluate(() => window.tendError ?? null);
  if (failed) throw new Error(`the package did not load in Chromium: ${failed}`);
  return { page, errors };
}

/** anvil: TEND_ANVIL, or the one scripts/test installs into target/tools. */
export const anvilBin =
  process.env.TEND_ANVIL ??
  fileURLToPath(new URL("../../../target/tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil", import.meta.url));

/** What a browser test lacks (Chromium, anvil), or false; throws under TEND_REQUIRE_BROWSER=1. */
export function missing({ anvil = false } = {}) {
  const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
  const absent = [chromium, ...(anvil ? [anvilBin] : [])].find((p) => !existsSync(p));
  if (absent && process.env.TEND_REQUIRE_BROWSER === "1") {
    throw new Error(`missing ${absent}: apt install chromium chromium-driver; scripts/test installs anvil`);
  }
  return absent ? `missing ${absent}` : false;
}

/** One JSON-RPC call from Node (test set-up: balances, code). */
export async function rpc(url, method, params) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await r.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** A real anvil for `chainId` on a free port, answering; resolves to { url, stop }. */
export async function startAnvil(chainId) {
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(anvilBin, ["--port", String(port), "--chain-id", String(chainId), "--silent"], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await rpc(url, "eth_chainId", []);
      return { url, stop: () => child.kill() };
    } catch (e) {
      if (i > 100) {
        child.kill();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
