/*
 * Blocked, register-blocked GEMM template (GotoBLAS loop structure) for WebAssembly SIMD128.
 *
 * Included by sgemm.c (float, 4 lanes) and dgemm.c (double, 2 lanes) after they define:
 *   T          element type
 *   VL         lanes per v128
 *   MR, NV     micro-tile: MR rows x (NV*VL) columns of C held in MR*NV v128 accumulators
 *   KC, MC, NC cache blocking (packed A block MC x KC, packed B panel KC x NC)
 *   VSPLAT(x), VLOAD(p), VSTORE(p, v), VADD(a, b), VMUL(a, b), VFMA(a, b, c) = a*b + c
 *   GEMM_CORE  name of the generated function
 *
 * The generated function computes C = alpha * A * B + beta * C on arbitrarily strided operands:
 *   A(i,p) = a[i*rsa + p*csa] (m x k), B(p,j) = b[p*rsb + j*csb] (k x n),
 *   C(i,j) = c[i*rsc + j*csc] (m x n).
 * Transposes and row/column-major layouts are all just strides. beta == 0 never reads C
 * (BLAS semantics: NaN in C is overwritten). `work` must hold MC*KC + KC*NC elements, 16-byte
 * aligned; passing it in (no static buffers) lets several threads share one memory.
 * No libc, no imports: only SIMD128 intrinsics from clang's wasm_simd128.h.
 */
#include <wasm_simd128.h>

#define NR (NV * VL)
#define GEMM_CAT2(a, b) a##b
#define GEMM_CAT(a, b) GEMM_CAT2(a, b)
#define GEMM_PACK_A GEMM_CAT(GEMM_CORE, _pack_a)
#define GEMM_PACK_B GEMM_CAT(GEMM_CORE, _pack_b)
#define GEMM_MICRO GEMM_CAT(GEMM_CORE, _micro)

/* Packs the mc x kc block of alpha*A into MR-row micro-panels: for each panel, for each p, MR
 * consecutive values (zero-padded past mc). */
static void GEMM_PACK_A(int mc, int kc, T alpha, const T *a, int rsa, int csa, T *ap) {
  for (int i0 = 0; i0 < mc; i0 += MR) {
    int mr = mc - i0 < MR ? mc - i0 : MR;
    const T *a0 = a + i0 * rsa;
    if (mr == MR && rsa == 1) {
      /* A(i, p) contiguous in i: a column of the panel is MR consecutive values. */
      for (int p = 0; p < kc; p++) {
        const T *s = a0 + p * csa;
        for (int r = 0; r < MR; r++) ap[r] = alpha * s[r];
        ap += MR;
      }
    } else {
      for (int p = 0; p < kc; p++) {
        int r = 0;
        for (; r < mr; r++) ap[r] = alpha * a0[r * rsa + p * csa];
        for (; r < MR; r++) ap[r] = 0;
        ap += MR;
      }
    }
  }
}

/* Packs the kc x nc block of B into NR-column micro-panels: for each panel, for each p, NR
 * consecutive values (zero-padded past nc). */
static void GEMM_PACK_B(int kc, int nc, const T *b, int rsb, int csb, T *bp) {
  for (int j0 = 0; j0 < nc; j0 += NR) {
    int nr = nc - j0 < NR ? nc - j0 : NR;
    const T *b0 = b + j0 * csb;
    if (nr == NR && csb == 1) {
      for (int p = 0; p < kc; p++) {
        const T *s = b0 + p * rsb;
        for (int v = 0; v < NV; v++) VSTORE(bp + v * VL, VLOAD(s + v * VL));
        bp += NR;
      }
    } else {
      for (int p = 0; p < kc; p++) {
        int j = 0;
        for (; j < nr; j++) bp[j] = b0[p * rsb + j * csb];
        for (; j < NR; j++) bp[j] = 0;
        bp += NR;
      }
    }
  }
}

/* C tile (mr x nr at c) = acc + beta * C tile, where acc = sum_p ap[:,p] * bp[p,:]. */
static void GEMM_MICRO(int kc, const T *ap, const T *bp, T beta, T *c, int rsc, int csc, int mr,
                       int nr) {
  v128_t acc[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = wasm_i64x2_const(0, 0);
  for (int p = 0; p < kc; p++) {
    v128_t bv[NV];
    for (int v = 0; v < NV; v++) bv[v] = VLOAD(bp + v * VL);
    for (int r = 0; r < MR; r++) {
      v128_t av = VSPLAT(ap[r]);
      for (int v = 0; v < NV; v++) acc[r][v] = VFMA(av, bv[v], acc[r][v]);
    }
    ap += MR;
    bp += NR;
  }
  if (mr == MR && nr == NR && csc == 1) {
    for (int r = 0; r < MR; r++) {
      T *cr = c + r * rsc;
      for (int v = 0; v < NV; v++) {
        v128_t x = acc[r][v];
        if (beta != 0) {
          v128_t old = VLOAD(cr + v * VL);
          x = beta == 1 ? VADD(x, old) : VFMA(VSPLAT(beta), old, x);
        }
        VSTORE(cr + v * VL, x);
      }
    }
    return;
  }
  T tile[MR * NR] __attribute__((aligned(16)));
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) VSTORE(tile + r * NR + v * VL, acc[r][v]);
  for (int r = 0; r < mr; r++) {
    for (int j = 0; j < nr; j++) {
      T *cij = c + r * rsc + j * csc;
      T x = tile[r * NR + j];
      *cij = beta == 0 ? x : x + beta * *cij;
    }
  }
}

static void GEMM_CORE(int m, int n, int k, T alpha, const T *a, int rsa, int csa, const T *b,
                      int rsb, int csb, T beta, T *c, int rsc, int csc, T *work) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0) {
    if (beta == 1) return;
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        T *cij = c + i * rsc + j * csc;
        *cij = beta == 0 ? 0 : beta * *cij;
      }
    return;
  }
  if (m < MR / 2 || n < VL || m * n * k <= MR * NR * 8) {
    /* Vector-shaped or tiny products: packing and zero-padded tiles would cost more than the
     * arithmetic, so use a plain strided dot-product loop. */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        T s = 0;
        for (int p = 0; p < k; p++) s += a[i * rsa + p * csa] * b[p * rsb + j * csb];
        T *cij = c + i * rsc + j * csc;
        *cij = beta == 0 ? alpha * s : alpha * s + beta * *cij;
      }
    return;
  }
  T *ap = work;
  T *bp = work + MC * KC;
  for (int jc = 0; jc < n; jc += NC) {
    int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      int kc = k - pc < KC ? k - pc : KC;
      T beta_eff = pc == 0 ? beta : 1;
      GEMM_PACK_B(kc, nc, b + pc * rsb + jc * csb, rsb, csb, bp);
      for (int ic = 0; ic < m; ic += MC) {
        int mc = m - ic < MC ? m - ic : MC;
        GEMM_PACK_A(mc, kc, alpha, a + ic * rsa + pc * csa, rsa, csa, ap);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            GEMM_MICRO(kc, ap + ir * kc, bp + jr * kc, beta_eff,
                       c + (ic + ir) * rsc + (jc + jr) * csc, rsc, csc, mr, nr);
          }
        }
      }
    }
  }
}
