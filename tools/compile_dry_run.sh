#!/usr/bin/env bash
# Dry run of `deno compile` (see docs: platform.md). The real compile downloads a `denort` runtime
# from Deno's download host, which is blocked here; with DENORT_BIN pointing at the Deno CLI itself
# the compile still resolves the whole module graph and embeds every file (TypeScript, Wasm ESM
# imports, npm packages) and exits 0, but the result is the plain Deno CLI, so it is deleted.
# Prints the "Embedded Files" listing. Usage: tools/compile_dry_run.sh [OUTPUT]
set -euo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-$PWD/node_modules/.bin/deno}"
OUT="${1:-.build/svlens-compile-dry-run}"
mkdir -p "$(dirname "$OUT")"
# Not part of svlens: Deno's own binary (node_modules/deno, @deno/*) and onnxruntime-web's
# WebGPU/JSPI/asyncify runtime variants (svlens loads only ort-wasm-simd-threaded.wasm).
ORT=node_modules/onnxruntime-web/dist
DENORT_BIN="$PWD/node_modules/deno/deno" NO_COLOR=1 "$DENO" compile --no-check --unstable-raw-imports \
  --exclude node_modules/deno/deno --exclude node_modules/@deno \
  --exclude "$ORT/ort-wasm-simd-threaded.jsep.wasm" \
  --exclude "$ORT/ort-wasm-simd-threaded.asyncify.wasm" \
  --exclude "$ORT/ort-wasm-simd-threaded.jspi.wasm" \
  --output "$OUT" cli.ts
rm -f "$OUT"
echo "compile dry run ok (module graph and embedded files resolve; binary discarded)"
