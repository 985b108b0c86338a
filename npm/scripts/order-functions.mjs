#!/usr/bin/env node
// Orders a wasm module's functions so that similar bodies sit next to each other, which gzip
// (a 32 KB window) compresses better: on tend's package 12.7 KB less gzipped, no code changed.
//
// usage: node order-functions.mjs IN.wasm OUT.wasm
//
// The order is a greedy chain: from the first function, each next one is the remaining function
// whose body shares the most 5-byte pieces with the current one (Jaccard similarity; pieces
// found in more than 200 bodies are ignored as noise). The order is written as the functions'
// names ("f000000", "f000001", …, any name section dropped); `wasm-opt
// --reorder-functions-by-name --strip-debug` then moves the bodies (binaryen renumbers every
// call, table entry and export) and drops the names. Deterministic: ties go to the lower index.

import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const SHINGLE = 5;
const COMMON = 200;

/** A module this script cannot read. */
export class WasmError extends Error {}

function leb(b, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos.i >= b.length) throw new WasmError("truncated LEB128 number");
    const x = b[pos.i++];
    result += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if (x < 0x80) return result;
    if (shift > 35) throw new WasmError("LEB128 number too long");
  }
}

function uleb(n) {
  const out = [];
  do {
    let x = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) x |= 0x80;
    out.push(x);
  } while (n);
  return out;
}

/** The module's sections: [{ id, head, start, end }] (header start, payload bounds). */
export function sections(b) {
  if (b.length < 8 || b.readUInt32LE(0) !== 0x6d736100 || b.readUInt32LE(4) !== 1) {
    throw new WasmError("not a wasm module (version 1)");
  }
  const out = [];
  const pos = { i: 8 };
  while (pos.i < b.length) {
    const head = pos.i;
    const id = b[pos.i++];
    const size = leb(b, pos);
    const start = pos.i;
    const end = start + size;
    if (end > b.length) throw new WasmError(`section ${id} runs past the end`);
    out.push({ id, head, start, end });
    pos.i = end;
  }
  return out;
}

function customName(b, s) {
  const pos = { i: s.start };
  const len = leb(b, pos);
  return b.subarray(pos.i, pos.i + len).toString("utf8");
}

/** How many functions the module imports (they come first in the function index space). */
function importedFunctions(b, s) {
  const pos = { i: s.start };
  const skipName = () => {
    const len = leb(b, pos);
    pos.i += len;
  };
  const limits = () => {
    const flags = leb(b, pos);
    leb(b, pos);
    if (flags & 1) leb(b, pos);
  };
  let funcs = 0;
  for (let n = leb(b, pos); n > 0; n--) {
    skipName();
    skipName();
    const kind = b[pos.i++];
    if (kind === 0) {
      leb(b, pos);
      funcs++;
    } else if (kind === 1) {
      pos.i++; // reference type
      limits();
    } else if (kind === 2) {
      limits();
    } else if (kind === 3) {
      pos.i += 2; // value type, mutability
    } else if (kind === 4) {
      pos.i++;
      leb(b, pos); // tag: attribute, type
    } else {
      throw new WasmError(`unknown import kind ${kind}`);
    }
  }
  return funcs;
}

function bodies(b, s) {
  const pos = { i: s.start };
  const out = [];
  for (let n = leb(b, pos); n > 0; n--) {
    const size = leb(b, pos);
    out.push(b.subarray(pos.i, pos.i + size));
    pos.i += size;
  }
  return out;
}

/** The greedy similarity order of `bodies` (a permutation of their indices). */
export function similarityOrder(bodies) {
  const pieces = bodies.map((body) => {
    const set = new Set();
    for (let j = 0; j + SHINGLE <= body.length; j++) {
      set.add(body.readUIntLE(j, SHINGLE));
    }
    return [...set];
  });
  const holders = new Map();
  pieces.forEach((ps, i) => {
    for (const p of ps) {
      const list = holders.get(p);
      if (list) list.push(i);
      else holders.set(p, [i]);
    }
  });
  const n = bodies.length;
  const placed = new Uint8Array(n);
  const shared = new Uint32Array(n);
  const order = [];
  let next = 0; // the lowest index not yet placed
  let cur = n > 0 ? 0 : -1;
  while (cur >= 0) {
    placed[cur] = 1;
    order.push(cur);
    const touched = [];
    for (const p of pieces[cur]) {
      const list = holders.get(p);
      if (list.length > COMMON) continue;
      for (const j of list) {
        if (placed[j]) continue;
        if (shared[j] === 0) touched.push(j);
        shared[j]++;
      }
    }
    let best = -1;
    let bestScore = -1;
    for (const j of touched) {
      const score = shared[j] / (pieces[cur].length + pieces[j].length - shared[j]);
      if (score > bestScore || (score === bestScore && j < best)) {
        best = j;
        bestScore = score;
      }
      shared[j] = 0;
    }
    if (best < 0) {
      while (next < n && placed[next]) next++;
      best = next < n ? next : -1;
    }
    cur = best;
  }
  return order;
}

/** The module with its name section replaced by names that sort in the similarity order. */
export function orderNames(input) {
  const b = Buffer.from(input);
  const secs = sections(b);
  const imports = secs.find((s) => s.id === 2);
  const code = secs.find((s) => s.id === 10);
  if (!code) throw new WasmError("the module has no code section");
  const firstDefined = imports ? importedFunctions(b, imports) : 0;
  const order = similarityOrder(bodies(b, code));
  const rank = new Array(order.length);
  order.forEach((fn, r) => {
    rank[fn] = r;
  });
  const names = [];
  for (let i = 0; i < firstDefined; i++) names.push([i, `import${String(i).padStart(6, "0")}`]);
  rank.forEach((r, fn) => names.push([firstDefined + fn, `f${String(r).padStart(6, "0")}`]));
  const sub = [...uleb(names.length)];
  for (const [index, name] of names) {
    const bytes = Buffer.from(name, "utf8");
    sub.push(...uleb(index), ...uleb(bytes.length), ...bytes);
  }
  const payload = [...uleb(4), ...Buffer.from("name"), 1, ...uleb(sub.length), ...sub];
  const parts = [b.subarray(0, 8)];
  for (const s of secs) {
    if (s.id === 0 && customName(b, s) === "name") continue;
    parts.push(b.subarray(s.head, s.end));
  }
  parts.push(Buffer.from([0, ...uleb(payload.length), ...payload]));
  return Buffer.concat(parts);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error("usage: node order-functions.mjs IN.wasm OUT.wasm");
    process.exit(2);
  }
  try {
    writeFileSync(output, orderNames(readFileSync(input)));
  } catch (e) {
    if (!(e instanceof WasmError)) throw e;
    console.error(`order-functions: ${input}: ${e.message}`);
    process.exit(1);
  }
}
