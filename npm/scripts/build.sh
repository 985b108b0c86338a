#!/usr/bin/env bash
# Builds the npm package's JavaScript and wasm: cargo (the size profile `wasm-release`, wasm32)
# plus the wasm-bindgen CLI for the nodejs, web and bundler targets, into npm/dist/<target>/,
# then binaryen's wasm-opt --merge-similar-functions -O3 (the `binaryen` devDependency: `npm ci`
# in npm/ first; skipped with a note when absent) and a layout pass for gzip (scripts/order-functions.mjs: similar
# functions side by side, then wasm-opt --reorder-functions-by-name moves them). No wasm-pack (it
# downloads tools at run time). The CLI's version must equal the wasm-bindgen crate's in
# Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -p tend-web --target wasm32-unknown-unknown --profile wasm-release --locked
wasm=target/wasm32-unknown-unknown/wasm-release/tend_web.wasm
for t in nodejs web bundler; do
  rm -rf "npm/dist/$t"
  wasm-bindgen --target "$t" --out-dir "npm/dist/$t" "$wasm"
done
opt=npm/node_modules/.bin/wasm-opt
if [ -x "$opt" ]; then
  for t in nodejs web bundler; do
    f="npm/dist/$t/tend_web_bg.wasm"
    features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
      --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd)
    # --merge-similar-functions first (functions that differ only in constants become one):
    # 1.4 KB less gzipped, simulate unchanged.
    "$opt" --merge-similar-functions -O3 --strip-debug --strip-producers "${features[@]}" "$f" -o "$f"
    node npm/scripts/order-functions.mjs "$f" "$f.ordered"
    "$opt" --reorder-functions-by-name --strip-debug "${features[@]}" "$f.ordered" -o "$f"
    rm "$f.ordered"
  done
else
  echo "note: $opt not found (run npm ci in npm/): the wasm is not size-optimised" >&2
fi
raw=$(wc -c < npm/dist/web/tend_web_bg.wasm)
gz=$(gzip -9 -c npm/dist/web/tend_web_bg.wasm | wc -c)
echo "npm/dist: $(du -sh npm/dist | cut -f1); tend_web_bg.wasm $raw bytes, $gz gzipped"
