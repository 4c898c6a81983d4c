#!/usr/bin/env bash
# Builds the single-file `svlens` binary with `deno compile` (run after `npm ci`, where Deno's
# download host is reachable: the compile fetches the matching `denort` runtime once).
#
# Usage: tools/compile.sh [OUTPUT]          (default: ./svlens)
# The binary gets these Deno permissions baked in; override with SVLENS_PERMISSIONS, e.g.
#   SVLENS_PERMISSIONS="--allow-read=$HOME/models,out --allow-write=out" tools/compile.sh
# Default: read/write anywhere the user points it (model dirs, --out dirs, the HF cache), the
# Hugging Face Hub and its CDN hosts (wildcards: the redirect hosts change, as in the README),
# and the environment variables svlens reads.
set -euo pipefail
set -f # the permission list holds * host wildcards: no globbing
cd "$(dirname "$0")/.."
DENO="${DENO:-$PWD/node_modules/.bin/deno}"
OUT="${1:-svlens}"
PERMISSIONS="${SVLENS_PERMISSIONS:---allow-read --allow-write \
--allow-net=huggingface.co,*.huggingface.co,*.hf.co \
--allow-env=HF_HUB_CACHE,HUGGINGFACE_HUB_CACHE,HF_HOME,XDG_CACHE_HOME,HOME,HF_ENDPOINT,HF_TOKEN,HUGGING_FACE_HUB_TOKEN,HF_TOKEN_PATH,HF_HUB_OFFLINE,TRANSFORMERS_OFFLINE}"
mkdir -p "$(dirname "$OUT")"
ORT=node_modules/onnxruntime-web/dist
# --unstable-raw-imports embeds onnxruntime's .wasm through the module graph (no file reads).
# Excluded: Deno's own binary (an npm devDependency) and onnxruntime-web's WebGPU/JSPI/asyncify
# runtime variants, which svlens never loads (it uses ort-wasm-simd-threaded.wasm).
# shellcheck disable=SC2086
NO_COLOR=1 "$DENO" compile --no-check --unstable-raw-imports $PERMISSIONS \
  --exclude node_modules/deno/deno --exclude node_modules/@deno \
  --exclude "$ORT/ort-wasm-simd-threaded.jsep.wasm" \
  --exclude "$ORT/ort-wasm-simd-threaded.asyncify.wasm" \
  --exclude "$ORT/ort-wasm-simd-threaded.jspi.wasm" \
  --output "$OUT" cli.ts
