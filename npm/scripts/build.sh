#!/usr/bin/env bash
# Builds the npm package's JavaScript and wasm: cargo (release, wasm32) plus the wasm-bindgen CLI
# for the nodejs, web and bundler targets, into npm/dist/<target>/. No wasm-pack (it downloads
# tools at run time). The CLI's version must equal the wasm-bindgen crate's in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -p tend-web --target wasm32-unknown-unknown --release --locked
wasm=target/wasm32-unknown-unknown/release/tend_web.wasm
for t in nodejs web bundler; do
  rm -rf "npm/dist/$t"
  wasm-bindgen --target "$t" --out-dir "npm/dist/$t" "$wasm"
done
echo "npm/dist: $(du -sh npm/dist | cut -f1); tend_web_bg.wasm $(wc -c < npm/dist/web/tend_web_bg.wasm) bytes"
