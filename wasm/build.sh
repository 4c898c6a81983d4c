#!/usr/bin/env bash
# Builds wasm/lapack.wasm: LAPACK 3.11.0 (Debian bookworm's `lapack` source package) + the
# reference BLAS it needs, compiled to an import-free wasm32 module (see ../shared/docs/platform.md,
# "LAPACK in WebAssembly"). Works on a fresh Debian bookworm machine as root: it installs the
# tools, adds a deb-src twin of the Debian apt source, and fetches the sources itself.
#
# flang-new-19 cannot target wasm32, so each Fortran file is compiled to LLVM IR for i686 (same
# 32-bit pointers and default integers), the IR header is retargeted to wasm32, and clang-19
# compiles the IR; wasm-ld-19 links directly (emcc would add a memory-growth import, and the clang
# driver would run Debian's too-old wasm-opt).
#
# By default the hot BLAS routines are replaced by SIMD128 C: dgemv_/dger_/dnrm2_ (and LAPACK's
# dlarf_, fusing them column by column) from lapack/blas2.c and dgemm_ from wasm/kernels/dgemm.c (the KERNELS engineer's blocked kernel, with relaxed-SIMD FMA:
# results may differ in the last bits between CPUs with and without FMA, as with any native BLAS).
#
# Usage: bash wasm/build.sh [--reference-blas] [--no-relaxed-simd] [OUT.wasm]
#   (default OUT: wasm/lapack.wasm)
#   --reference-blas   plain reference BLAS (Fortran dgemm/dgemv/dger/dnrm2, and dlarf): slower, for comparison
#   --no-relaxed-simd  kernel dgemm without relaxed FMA (bit-identical results on every CPU)
# Environment: JOBS (parallel compiles, default nproc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kernel_dgemm=1
simd_blas2=1
relaxed=-mrelaxed-simd
out="$here/lapack.wasm"
for arg in "$@"; do
  case "$arg" in
    --reference-blas)
      kernel_dgemm=0
      simd_blas2=0
      ;;
    --no-relaxed-simd) relaxed= ;;
    -h | --help)
      sed -n '2,23p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    -*)
      echo "build.sh: unknown option $arg" >&2
      exit 2
      ;;
    *) out="$arg" ;;
  esac
done
build="$here/build/lapack"
jobs="${JOBS:-$(nproc)}"
LAPACK_VERSION=3.11.0
tools=(flang-new-19 clang-19 wasm-ld-19 dpkg-source)

log() { echo "build.sh: $*" >&2; }
# apt needs root: run it directly as root, through sudo where that works without a password.
if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi

# 1. Tools.
missing=0
for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing=1; done
if [ ! -f /usr/lib/wasm32-wasi/libc.a ]; then missing=1; fi
if [ "$missing" = 1 ]; then
  if [ "$SUDO" = none ]; then
    log "missing tools; run as root or: apt-get install flang-19 clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc dpkg-dev"
    exit 1
  fi
  log "installing the toolchain with apt-get"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    flang-19 clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc dpkg-dev >/dev/null
fi
builtins="$(clang-19 -print-resource-dir)/lib/wasi/libclang_rt.builtins-wasm32.a"
[ -f "$builtins" ] || {
  log "missing $builtins (apt-get install libclang-rt-19-dev-wasm32)"
  exit 1
}

# 2. Sources: `apt-get source lapack` into wasm/build/lapack (gitignored).
src="$build/lapack-$LAPACK_VERSION"
mkdir -p "$build"
if [ ! -f "$src/SRC/dgesdd.f" ]; then
  has_deb_src() {
    grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/
  }
  if ! has_deb_src; then
    if [ "$SUDO" = none ]; then
      log "no deb-src apt entry; run once as root (or add a deb-src line for Debian bookworm)"
      exit 1
    fi
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      # The deb822 twin of the machine's own Debian source, with Types: deb-src.
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        $SUDO tee /etc/apt/sources.list.d/svlens-deb-src.sources >/dev/null
    else
      grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
        $SUDO tee /etc/apt/sources.list.d/svlens-deb-src.list >/dev/null
    fi
    log "added a deb-src apt entry"
    $SUDO apt-get update -qq
  elif [ "$SUDO" != none ]; then
    $SUDO apt-get update -qq
  fi
  log "fetching Debian's lapack source package"
  (cd "$build" && apt-get source -qq "lapack" >/dev/null 2>&1) || {
    log "apt-get source lapack failed (is dpkg-dev installed and a deb-src entry present?)"
    exit 1
  }
  [ -f "$src/SRC/dgesdd.f" ] || {
    log "expected $src after apt-get source; found: $(ls "$build")"
    exit 1
  }
fi

# 3. Fortran -> LLVM IR (i686) -> retargeted IR -> wasm32 object.
obj="$build/obj"
rm -rf "$obj"
mkdir -p "$obj/mod"
cat >"$obj/compile.sh" <<'EOS'
#!/usr/bin/env bash
# compile.sh SRC_ROOT OBJ_DIR FILE: one Fortran file to one wasm32 object.
set -euo pipefail
root="$1" obj="$2" f="$3"
name="$(echo "$f" | tr '/' '_')"
name="${name%.*}"
flang-new-19 -target i686-unknown-linux-gnu -O2 -S -emit-llvm -J "$obj/mod" \
  -o "$obj/$name.ll" "$root/$f"
# Retarget: wasm32 datalayout/triple; drop x86 CPU attributes; an attribute group left empty
# becomes { nounwind } (LLVM rejects empty groups).
sed -i -E \
  -e 's/^target datalayout = .*/target datalayout = "e-m:e-p:32:32-p10:8:8-p20:8:8-i64:64-n32:64-S128-ni:1:10:20"/' \
  -e 's/^target triple = .*/target triple = "wasm32-unknown-unknown"/' \
  -e 's/ ?"(target-cpu|target-features|tune-cpu)"="[^"]*"//g' \
  -e 's/^(attributes #[0-9]+ = \{) *\}/\1 nounwind }/' \
  "$obj/$name.ll"
clang-19 --target=wasm32-unknown-unknown -O2 -msimd128 -c "$obj/$name.ll" -o "$obj/$name.o"
rm "$obj/$name.ll"
EOS
chmod +x "$obj/compile.sh"
log "compiling Fortran modules"
for f in SRC/la_constants.f90 SRC/la_xisnan.F90; do "$obj/compile.sh" "$src" "$obj" "$f"; done
files=()
while IFS= read -r line; do
  case "$line" in "" | "#"*) continue ;; esac
  if [ "$kernel_dgemm" = 1 ] && [ "$line" = BLAS/SRC/dgemm.f ]; then continue; fi
  case "$simd_blas2:$line" in
    1:BLAS/SRC/dgemv.f | 1:BLAS/SRC/dger.f | 1:BLAS/SRC/dnrm2.f90 | 1:SRC/dlarf.f) continue ;;
  esac
  files+=("$line")
done <"$here/lapack/files.txt"
# Tuning patch to ILAENV (results stay exact Householder QR, only the blocking changes):
# - QR crossover NX = 128 keeps LAPACK's thin QR (n ≤ 128, e.g. 769×64 attention factors)
#   entirely in the unblocked level-2 code; NX = 0 lets dgeqrf use blocked panels whose trailing
#   updates run on the SIMD dgemm.
# - Block size 16 instead of 32 for QR of at most 128 columns (dgeqrf: N2 = columns) and for
#   applying at most 128 reflectors (dormqr/dormlq: N3 = K, e.g. inside a 64×64 dgesdd): less
#   level-2 panel work for skinny shapes (769×64 dgeqrf ≈ 10 % faster); large matrices keep 32.
mkdir -p "$obj/patched/SRC"
sed -e "/C3.EQ.'QRF' .OR. C3.EQ.'RQF' .OR. C3.EQ.'LQF' .OR. C3.EQ./,/END IF/ s/NX = 128/NX = 0/" \
  -e "/ELSE IF( C3.EQ.'QRF' .OR. C3.EQ.'RQF' .OR. C3.EQ.'LQF' .OR.\$/,/END IF/ s/NB = 32\$/NB = MERGE( 16, 32, N2.LE.128 )/" \
  -e "/C3( 1: 1 ).EQ.'M'/,/END IF/ s/ NB = 32\$/ NB = MERGE( 16, 32, N3.LE.128 )/" \
  "$src/SRC/ilaenv.f" >"$obj/patched/SRC/ilaenv.f"
# 2 NX lines, 2 QRF and 2 OR/UN-M block sizes (the complex twins are patched alike, unused).
if [ "$(diff "$src/SRC/ilaenv.f" "$obj/patched/SRC/ilaenv.f" | grep -c '^>')" != 6 ]; then
  log "the ilaenv.f tuning patch did not apply as expected (source changed?)"
  exit 1
fi
log "compiling ${#files[@]} Fortran files on $jobs jobs"
printf '%s\n' "${files[@]}" | grep -vx SRC/ilaenv.f |
  xargs -P "$jobs" -I{} "$obj/compile.sh" "$src" "$obj" {}
"$obj/compile.sh" "$obj/patched" "$obj" SRC/ilaenv.f

# 4. C glue, SIMD level-2 BLAS (and optionally the SIMD dgemm_).
cflags=(--target=wasm32-wasi -O2 -msimd128 -Wall -Wextra -Werror)
clang-19 "${cflags[@]}" -c "$here/lapack/shim.c" -o "$obj/shim.o"
# LowRankProduct.svd in C: svl_lowrank_svd, with svl_dgeqrf_t (dgeqrf's blocked QR that also
# returns the full T of the compact WY form) and svl_transpose.
clang-19 "${cflags[@]}" -O3 -c "$here/lapack/lowrank.c" -o "$obj/lowrank.o"
if [ "$simd_blas2" = 1 ]; then
  clang-19 "${cflags[@]}" -O3 -c "$here/lapack/blas2.c" -o "$obj/blas2.o"
fi
if [ "$kernel_dgemm" = 1 ]; then
  clang-19 --target=wasm32-unknown-unknown -O3 -msimd128 $relaxed -nostdlib \
    -ffreestanding -fno-builtin -c "$here/kernels/dgemm.c" -o "$obj/kernel_dgemm.o"
fi

# 5. Link: no entry point, exported memory, zero imports.
exports=(dgesdd_ dgesvd_ dgeqrf_ dorgqr_ dormqr_ dlarft_ dsyevd_ dgemm_ dgemv_ dger_ dgetrf_ dgetrs_ dpotrf_ dlarf_ malloc free
  dnrm2_ svl_xerbla_info svl_xerbla_name svl_xerbla_reset svl_dgeqrf_t svl_lowrank_svd svl_transpose)
export_flags=()
for e in "${exports[@]}"; do export_flags+=("--export=$e"); done
# Sorted object list: the link order (and so the output bytes) does not depend on the filesystem.
mapfile -t objects < <(find "$obj" -maxdepth 1 -name '*.o' | LC_ALL=C sort)
wasm-ld-19 --no-entry "${export_flags[@]}" --export-memory \
  --initial-memory=16777216 --max-memory=2147483648 --stack-first -z stack-size=1048576 \
  --gc-sections --strip-all -O2 \
  "${objects[@]}" /usr/lib/wasm32-wasi/libc.a "$builtins" -o "$obj/lapack.wasm"

# Zero imports is what makes the zero-permission ES-module import possible: refuse anything else.
count_imports='
  const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
  const i = WebAssembly.Module.imports(m);
  console.log(i.length ? i.map((x) => x.module + "." + x.name).join(" ") : "none");
'
# Node 20 needs the flag for relaxed-SIMD opcodes; newer Node has them on (and may drop the flag).
imports="$(node --experimental-wasm-relaxed-simd -e "$count_imports" "$obj/lapack.wasm" 2>/dev/null ||
  node -e "$count_imports" "$obj/lapack.wasm")"
if [ "$imports" != none ]; then
  log "lapack.wasm has imports ($imports); it must be import-free"
  exit 1
fi
cp "$obj/lapack.wasm" "$out.tmp"
mv "$out.tmp" "$out"
log "wrote $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16))"
