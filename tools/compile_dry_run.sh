#!/usr/bin/env bash
# Dry run of tools/compile.sh (see platform.md). The real compile downloads a `denort` runtime
# from Deno's download host, which is blocked here; with DENORT_BIN pointing at the Deno CLI itself
# the compile still resolves the whole module graph and embeds every file (TypeScript, Wasm ESM
# imports, npm packages) and exits 0, but the result is the plain Deno CLI, so it is deleted.
# Prints the "Embedded Files" listing. Usage: tools/compile_dry_run.sh [OUTPUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-.build/svlens-compile-dry-run}"
DENORT_BIN="$PWD/node_modules/deno/deno" bash tools/compile.sh "$OUT"
rm -f "$OUT"
echo "compile dry run ok (module graph and embedded files resolve; binary discarded)"
