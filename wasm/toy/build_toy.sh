#!/usr/bin/env bash
# Builds wasm/toy.wasm (the toy model's sparse training loops, wasm/toy/toy.c): import-free,
# SIMD128, loaded by src/toy/_kernel.ts as a Wasm ES module (no permissions needed).
# Needs clang-19 and wasm-ld-19 (apt: clang-19 lld-19). Usage: bash wasm/toy/build_toy.sh [OUT]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$(dirname "$here")/toy.wasm}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
clang-19 --target=wasm32-unknown-unknown -O3 -msimd128 -ffast-math -nostdlib -ffreestanding -fno-builtin \
  -Wall -Wextra -Werror -c "$here/toy.c" -o "$tmp/toy.o"
wasm-ld-19 --no-entry --export-memory --export=__heap_base --initial-memory=1048576 \
  --max-memory=2147483648 --gc-sections --strip-all -O2 "$tmp/toy.o" -o "$out"
echo "build_toy.sh: wrote $out ($(stat -c %s "$out") bytes)" >&2
