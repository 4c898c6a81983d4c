#!/usr/bin/env bash
# Builds wasm/kernels.wasm (svlens's own SIMD128 GEMM kernels) from the C sources in this folder.
# Needs clang-19 and lld-19 (Debian: apt-get install clang-19 lld-19). No libc, no emscripten.
# We compile with -c and link with wasm-ld directly: the clang driver would run any wasm-opt on
# PATH, and Debian's binaryen rejects newer opcodes (see ../shared/docs/platform.md).
# Usage: bash wasm/kernels/build_kernels.sh [OUT.wasm]   (default: wasm/kernels.wasm; the
# thread-shareable twin kernels_mt.wasm is written next to it)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wasm_dir="$(dirname "$here")"
out="${1:-$wasm_dir/kernels.wasm}"
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
  # Thread-shareable twin: atomics + bulk memory, linked against an imported shared memory.
  "$CC" "${cflags[@]}" -matomics -mbulk-memory -DSVL_NO_FORTRAN_DGEMM -c "$here/$src.c" \
    -o "$tmp/${src}_mt.o"
done
# 4 MiB initial (static dgemm_ workspace + stack); the TS arena grows it on demand up to 4 GiB.
"$LD" --no-entry --export-memory --export=__heap_base \
  --initial-memory=4194304 --max-memory=4294967296 \
  --gc-sections --strip-all -O2 "$tmp/sgemm.o" "$tmp/dgemm.o" -o "$tmp/kernels.wasm"
# kernels_mt.wasm imports its (shared) memory, so main thread and workers run on one memory;
# each instance gets its own stack by setting the exported __stack_pointer.
"$LD" --no-entry --import-memory --shared-memory --initial-memory=4194304 \
  --max-memory=4294967296 --export=__heap_base --export=__stack_pointer \
  --gc-sections --strip-all -O2 "$tmp/sgemm_mt.o" "$tmp/dgemm_mt.o" -o "$tmp/kernels_mt.wasm"

# kernels.wasm must have zero imports (that is what lets Deno import it with no permissions);
# kernels_mt.wasm exactly one, its shared memory.
check_imports() {
  local js='
    const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
    console.log(WebAssembly.Module.imports(m).map((i) => i.module + "." + i.name).join(","));'
  # Node 20 compiles relaxed SIMD only behind this flag; newer Node may reject the flag itself.
  node --experimental-wasm-relaxed-simd -e "$js" "$1" 2>/dev/null || node -e "$js" "$1"
}
got="$(check_imports "$tmp/kernels.wasm")"
if [ -n "$got" ]; then
  echo "build_kernels.sh: kernels.wasm imports '$got'; it must be import-free" >&2
  exit 1
fi
got="$(check_imports "$tmp/kernels_mt.wasm")"
if [ "$got" != "env.memory" ]; then
  echo "build_kernels.sh: kernels_mt.wasm imports '$got'; expected only env.memory" >&2
  exit 1
fi
outdir="$(dirname "$out")"
mv "$tmp/kernels.wasm" "$out"
mv "$tmp/kernels_mt.wasm" "$outdir/kernels_mt.wasm"
chmod 644 "$out" "$outdir/kernels_mt.wasm"
echo "build_kernels.sh: wrote $out ($(wc -c <"$out") bytes) and $outdir/kernels_mt.wasm" >&2
