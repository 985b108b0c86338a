// Compiles native/assets/olas/DevnetSafeMultisig.sol with npm solc (the exact version below:
// optimizer 200 runs, evmVersion paris, no metadata) and writes its creation code, hex without
// 0x, to native/assets/olas/DevnetSafeMultisig.bin. `--check` compares instead of writing (the
// test suite runs it: the committed hex is what the source compiles to).
//   npm install --prefix target/tools/solc solc@0.8.30 && node scripts/olas/compile-multisig.mjs
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

const root = new URL("../../", import.meta.url);
const require = createRequire(new URL("target/tools/solc/", root));
const solc = require("solc");
const VERSION = "0.8.30";
if (!solc.version().startsWith(VERSION)) {
  console.error(`solc ${solc.version()} found, ${VERSION} needed: npm install --prefix target/tools/solc solc@${VERSION}`);
  process.exit(1);
}
const src = new URL("native/assets/olas/DevnetSafeMultisig.sol", root);
const bin = new URL("native/assets/olas/DevnetSafeMultisig.bin", root);
const input = {
  language: "Solidity",
  sources: { "DevnetSafeMultisig.sol": { content: readFileSync(src, "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "paris",
    metadata: { appendCBOR: false },
    outputSelection: { "*": { DevnetSafeMultisig: ["evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors ?? []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const hex = out.contracts["DevnetSafeMultisig.sol"].DevnetSafeMultisig.evm.bytecode.object + "\n";
if (process.argv.includes("--check")) {
  if (readFileSync(bin, "utf8") !== hex) {
    console.error(`${bin.pathname} is not what the source compiles to: run node scripts/olas/compile-multisig.mjs`);
    process.exit(1);
  }
  console.log("DevnetSafeMultisig.bin matches its source");
} else {
  writeFileSync(bin, hex);
  console.log(`wrote ${bin.pathname}: ${(hex.length - 1) / 2} bytes of creation code`);
}
