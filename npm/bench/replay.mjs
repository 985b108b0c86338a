// Replay speed in Node (the wasm package): the corpus and a 6-hour simulation's recording, the
// same work as `cargo bench -p tend-replay --bench replay` (run that first: it writes
// target/replay-bench/sim-6h.jsonl). Run: node npm/bench/replay.mjs (after npm/scripts/build.sh).
import { createRequire } from "node:module";
import { readFileSync, readdirSync, existsSync } from "node:fs";

const require = createRequire(import.meta.url);
const tend = require("../dist/nodejs/tend_web.js");
const corpus = new URL("../../tests/corpus/recordings/", import.meta.url);
const texts = readdirSync(corpus)
  .filter((n) => n.endsWith(".jsonl"))
  .sort()
  .map((n) => readFileSync(new URL(n, corpus), "utf8"));

function measure(name, texts, rounds) {
  let inputs = 0;
  for (const t of texts) inputs += tend.replayRecording(t).inputs; // warm-up
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const t of texts) tend.replayRecording(t);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  console.log(
    `${name}: ${inputs} inputs, median ${ms.toFixed(2)} ms of ${rounds} = ${((inputs / ms) * 1000 / 1e6).toFixed(2)} M inputs/s`,
  );
}

measure("replay/corpus (node, wasm)", texts, 50);
const sim = new URL("../../target/replay-bench/sim-6h.jsonl", import.meta.url);
if (existsSync(sim)) {
  measure("replay/sim_6h (node, wasm)", [readFileSync(sim, "utf8")], 10);
} else {
  console.log("replay/sim_6h: run `cargo bench -p tend-replay --bench replay` first");
}
