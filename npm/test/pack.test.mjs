// The package as a user gets it: `npm pack`, installed from the tarball into a scratch project
// (no registry), imported from Node ESM and CommonJS, and its type file shipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("..", import.meta.url));

test("npm pack, install from the tarball, import from ESM and CommonJS", () => {
  const dir = mkdtempSync(join(tmpdir(), "tend-pack-"));
  try {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: pkg, encoding: "utf8" }),
    )[0];
    const files = packed.files.map((f) => f.path);
    for (const want of [
      "index.d.ts",
      "package.json",
      "dist/nodejs/tend_web.js",
      "dist/nodejs/tend_web_bg.wasm",
      "dist/web/tend_web.js",
      "dist/web/tend_web_bg.wasm",
      "dist/bundler/tend_web.js",
    ]) {
      assert.ok(files.includes(want), `${want} missing from the tarball: ${files.join(", ")}`);
    }
    assert.ok(!files.some((f) => f.startsWith("node_modules/") || f.startsWith("test/")), files.join(", "));

    const app = join(dir, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", join(dir, packed.filename)], {
      cwd: app,
      stdio: "pipe",
    });
    assert.ok(existsSync(join(app, "node_modules/@tend/web/index.d.ts")));

    writeFileSync(
      join(app, "esm.mjs"),
      `import { version, simulate, olasFundingReport } from "@tend/web";
       const r = simulate({ seed: 3, services: 2, duration_ms: 3600000 });
       let code = "";
       try { olasFundingReport("{"); } catch (e) { code = e.code; }
       console.log(JSON.stringify({ v: version(), services: r.summary.services.length, bigint: typeof r.summary.funds_spent, code }));`,
    );
    const esm = JSON.parse(execFileSync("node", ["esm.mjs"], { cwd: app, encoding: "utf8" }));
    const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
    assert.deepEqual(esm, { v: version, services: 2, bigint: "bigint", code: "invalid_input" });

    writeFileSync(join(app, "cjs.cjs"), `const t = require("@tend/web"); console.log(t.version());`);
    assert.equal(execFileSync("node", ["cjs.cjs"], { cwd: app, encoding: "utf8" }).trim(), version);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
