// The build's gzip layout pass (scripts/order-functions.mjs) on the package's real wasm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { orderNames, similarityOrder, sections, WasmError } from "../scripts/order-functions.mjs";

const wasm = readFileSync(new URL("../dist/nodejs/tend_web_bg.wasm", import.meta.url));

/** The function names of a module's name section, by index. */
function functionNames(b) {
  const s = sections(b).find((x) => x.id === 0 && b.toString("utf8", x.start + 1, x.start + 5) === "name");
  assert.ok(s, "a name section");
  let i = s.start + 5;
  const leb = () => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = b[i++];
      r += (x & 0x7f) * 2 ** shift;
      shift += 7;
      if (x < 0x80) return r;
    }
  };
  assert.equal(b[i++], 1, "the function names subsection");
  leb();
  const names = new Map();
  for (let n = leb(); n > 0; n--) {
    const index = leb();
    const len = leb();
    names.set(index, b.toString("utf8", i, i + len));
    i += len;
  }
  return names;
}

test("the renamed module is valid, keeps every other section and names each function once", () => {
  const out = orderNames(wasm);
  assert.ok(WebAssembly.validate(out));
  const strip = (b) =>
    sections(b)
      .filter((s) => !(s.id === 0 && b.toString("utf8", s.start + 1, s.start + 5) === "name"))
      .map((s) => b.subarray(s.head, s.end).toString("base64"));
  assert.deepEqual(strip(out), strip(wasm));
  const names = [...functionNames(out).entries()].filter(([, n]) => n.startsWith("f"));
  const ranks = names.map(([, n]) => Number(n.slice(1))).sort((a, b) => a - b);
  assert.ok(ranks.length > 1000, `${ranks.length} functions`);
  assert.deepEqual(ranks, ranks.map((_, i) => i), "the ranks are a permutation");
  assert.deepEqual(orderNames(wasm), out, "deterministic");
});

test("similar bodies end up side by side, and that compresses better", () => {
  const rnd = (seed, n) => {
    let x = seed;
    return Buffer.from(Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) >> 16) & 255));
  };
  const a = rnd(1, 4000);
  const b = rnd(2, 4000);
  const a2 = Buffer.concat([a.subarray(0, 3000), rnd(3, 50), a.subarray(3000)]);
  const b2 = Buffer.concat([rnd(4, 20), b]);
  const filler = Array.from({ length: 12 }, (_, i) => rnd(100 + i, 4000));
  const bodies = [a, ...filler.slice(0, 6), b, ...filler.slice(6), a2, b2];
  const order = similarityOrder(bodies);
  assert.deepEqual([...order].sort((x, y) => x - y), bodies.map((_, i) => i));
  const at = (i) => order.indexOf(i);
  assert.equal(Math.abs(at(0) - at(bodies.length - 2)), 1, "a and its copy are neighbours");
  assert.equal(Math.abs(at(7) - at(bodies.length - 1)), 1, "b and its copy are neighbours");
  const size = (o) => gzipSync(Buffer.concat(o.map((i) => bodies[i])), { level: 9 }).length;
  assert.ok(size(order) < size(bodies.map((_, i) => i)) - 3000, "the copies compress against their originals");
});

test("what is not a wasm module is a WasmError, never a crash", () => {
  assert.throws(() => orderNames(Buffer.from("not wasm at all")), WasmError);
  assert.throws(() => orderNames(Buffer.alloc(0)), WasmError);
  let refused = 0;
  for (let cut = 9; cut < wasm.length; cut += 997) {
    const damaged = Buffer.from(wasm.subarray(0, cut));
    try {
      orderNames(damaged);
    } catch (e) {
      assert.ok(e instanceof WasmError, `cut at ${cut}: ${e}`);
      refused++;
    }
  }
  assert.ok(refused > 0);
  const flipped = Buffer.from(wasm);
  for (let i = 8; i < flipped.length; i += 4099) flipped[i] ^= 0xff;
  try {
    orderNames(flipped);
  } catch (e) {
    assert.ok(e instanceof WasmError, String(e));
  }
});
