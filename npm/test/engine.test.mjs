// The engine driven from JavaScript: a corpus recording fed input by input through `Engine`
// gives, output by output, the native replay's golden lines; bad inputs throw coded Errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { Engine } = require("../dist/nodejs/tend_web.js");
const corpus = new URL("../../tests/corpus/", import.meta.url);

for (const name of ["topup-two-wallets", "agents-crash-hang-crash-loop", "reorg"]) {
  test(`Engine fed ${name} input by input gives the native outputs`, () => {
    const [head, ...lines] = readFileSync(new URL(`recordings/${name}.jsonl`, corpus), "utf8").trim().split("\n");
    const golden = readFileSync(new URL(`golden/${name}.jsonl`, corpus), "utf8").trim().split("\n");
    const h = JSON.parse(head);
    const engine = Engine.restore(h.config, h.started_at, h.journal, h.running);
    const out = [...engine.drain()];
    for (const line of lines) {
      engine.handleInput(JSON.parse(line));
      out.push(...engine.drain());
    }
    assert.equal(out.length, golden.length);
    out.forEach((o, i) => assert.equal(JSON.stringify(o), golden[i], `output ${i + 1}`));
    const next = engine.pollTimeout();
    assert.ok(next === null || (typeof next.at === "number" && next.at >= engine.now()), JSON.stringify(next));
  });
}

test("a fresh Engine asks for its first reads, and bad inputs are coded Errors", () => {
  const h = JSON.parse(readFileSync(new URL("recordings/topup-two-wallets.jsonl", corpus), "utf8").split("\n")[0]);
  const engine = new Engine(h.config, h.started_at);
  const first = engine.drain();
  assert.ok(first.some((o) => o.output === "rpc" && o.call.call === "head"), JSON.stringify(first));
  assert.throws(() => engine.handleInput({ input: "nope" }), (e) => e.code === "invalid_input");
  assert.throws(() => engine.handleInput("{"), (e) => e.code === "invalid_input");
  assert.throws(() => new Engine({ chains: "x" }, 0), (e) => e.code === "invalid_config");
  assert.throws(() => new Engine(h.config, -1), (e) => e.code === "invalid_input");
  assert.throws(() => new Engine(h.config, 1.5), (e) => e.code === "invalid_input");
  // An input that parses but matches nothing is the engine's business: an `ignored` event.
  engine.handleInput({ input: "rpc_response", now: h.started_at, id: 999999, latency_ms: 1, result: { Ok: { answer: "sent", hash: "0x" + "11".repeat(32) } } });
  assert.ok(engine.drain().some((o) => o.event === "ignored"));
});
