#!/usr/bin/env bash
# Builds wasm/kernels.wasm (svlens's own SIMD128 GEMM kernels) from the C sources in this folder.
# Needs clang-19 and lld-19 (Debian: apt-get install clang-19 lld-19). No libc, no emscripten.
# We compile with -c and link with wasm-ld directly: the clang driver would run any wasm-opt on
# PATH, and Debian's binaryen rejects newer opcodes (see ../shared/docs/platform.md).
# Usage: bash wasm/kernels/build_kernels.sh [OUT.wasm]   (default: wasm/kernels.wasm)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../kernels.wasm}"
CC="${CC:-clang-19}"
LD="${WASM_LD:-wasm-ld-19}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# relaxed-SIMD FMA: ~1.4x faster here (fused on FMA hardware, unfused elsewhere; V8 enables it by
# default, Deno 2.9 included).
cflags=(--target=wasm32-unknown-unknown -O3 -msimd128 -mrelaxed-simd -nostdlib -ffreestanding
  -fno-builtin -Wall -Wextra -Werror)
for src in sgemm dgemm; do
  "$CC" "${cflags[@]}" -c "$here/$src.c" -o "$tmp/$src.o"
done
# 4 MiB initial (static dgemm_ workspace + stack); the TS arena grows it on demand up to 4 GiB.
"$LD" --no-entry --export-memory --export=__heap_base \
  --initial-memory=4194304 --max-memory=4294967296 \
  --gc-sections --strip-all -O2 "$tmp/sgemm.o" "$tmp/dgemm.o" -o "$tmp/kernels.wasm"
# Zero imports is what lets Deno import the module with no permissions: refuse anything else.
imports="$(node --experimental-wasm-relaxed-simd -e '
  const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
  console.log(WebAssembly.Module.imports(m).length);
' "$tmp/kernels.wasm")"
if [ "$imports" != "0" ]; then
  echo "build_kernels.sh: kernels.wasm has $imports imports; it must be import-free" >&2
  exit 1
fi
mv "$tmp/kernels.wasm" "$out"
echo "build_kernels.sh: wrote $out ($(wc -c <"$out") bytes)" >&2
