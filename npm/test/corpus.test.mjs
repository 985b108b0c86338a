// The replay corpus (tests/corpus: recordings of real anvil sessions) replayed in wasm under
// Node: every output byte and every hash equal to the native replay's golden files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync, readdirSync } from "node:fs";

const require = createRequire(import.meta.url);
const tend = require("../dist/nodejs/tend_web.js");
const corpus = new URL("../../tests/corpus/", import.meta.url);
const read = (p) => readFileSync(new URL(p, corpus), "utf8");

const hashes = new Map(
  read("outputs.keccak")
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/))
    .map(([hash, name]) => [name, hash]),
);
const names = readdirSync(new URL("recordings/", corpus)).filter((n) => n.endsWith(".jsonl")).sort();

test("the corpus is there", () => {
  assert.ok(names.length >= 10, `${names.length} recordings`);
  assert.deepEqual([...hashes.keys()].sort(), names);
});

for (const name of names) {
  test(`${name} replays in wasm to the native outputs`, () => {
    const text = read(`recordings/${name}`);
    const r = tend.replayRecording(text);
    assert.equal(r.outputs, read(`golden/${name}`));
    assert.equal(r.hash, hashes.get(name));
    assert.equal(r.count, r.outputs.split("\n").length - 1);
    assert.equal(r.inputs, text.trim().split("\n").length - 1);
  });
}

test("a bad recording throws invalid_recording naming the line", () => {
  const text = read(`recordings/${names[0]}`);
  const cut = text.slice(0, text.length - 30);
  assert.throws(
    () => tend.replayRecording(cut),
    (e) => e.code === "invalid_recording" && /line \d+/.test(e.message),
  );
  assert.throws(() => tend.replayRecording(""), (e) => e.code === "invalid_recording");
});

test("whatIf: the same configuration changes nothing; a higher target sends more", () => {
  const text = read("recordings/topup-two-wallets.jsonl");
  const config = JSON.parse(text.split("\n")[0]).config;
  const same = tend.whatIf(text, config);
  assert.equal(same.first_difference, null);
  assert.deepEqual(same.differences, []);
  for (const s of config.services) for (const w of s.wallets) w.target = (BigInt(w.target) * 2n).toString();
  const w = tend.whatIf(text, config);
  assert.equal(w.first_difference.what_if.decision, "transfer");
  assert.equal(typeof w.transfers[0].what_if_amount, "bigint");
  assert.ok(w.transfers[0].what_if_amount > w.transfers[0].baseline_amount);
  assert.throws(() => tend.whatIf(text, { chains: "no" }), (e) => e.code === "invalid_config");
});
