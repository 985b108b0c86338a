// Headless Chromium for the package's browser build: a static server on loopback over the
// repository (the page, npm/dist/web, the fixtures and the corpus) and playwright-core driving
// Debian's /usr/bin/chromium (never a downloaded browser). Shared by browser.test.mjs and
// npm/bench/browser.mjs.
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
