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
 * Paths: tiny products use a plain loop; products with at most 4 rows or columns stream B once
 * (GEMM_FEW_ROWS); everything else is packed and run through the register-blocked micro-kernel.
 * No libc, no imports: only SIMD128 intrinsics from clang's wasm_simd128.h.
 */
#include <wasm_simd128.h>

#define NR (NV * VL)
#define GEMM_CAT2(a, b) a##b
#define GEMM_CAT(a, b) GEMM_CAT2(a, b)
#define GEMM_PACK_A GEMM_CAT(GEMM_CORE, _pack_a)
#define GEMM_PACK_B GEMM_CAT(GEMM_CORE, _pack_b)
#define GEMM_MICRO GEMM_CAT(GEMM_CORE, _micro)
#define GEMM_FEW_ROWS GEMM_CAT(GEMM_CORE, _few_rows)

/* Skinny products (at most SK_RMAX rows, or columns via the transpose) skip packing: B is
 * streamed once in SK_PB x SK_JB blocks into SK_RMAX accumulator rows. */
#define SK_RMAX 4
#define SK_JB 512
#define SK_PB 256
_Static_assert(SK_RMAX * SK_JB + SK_PB * SK_JB <= MC * KC + KC * NC,
               "skinny-path buffers must fit in the work area");

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

/* C (R x n, R <= SK_RMAX) = alpha * A * B + beta * C; work as for GEMM_CORE. */
static void GEMM_FEW_ROWS(int R, int n, int k, T alpha, const T *a, int rsa, int csa, const T *b,
                          int rsb, int csb, T beta, T *c, int rsc, int csc, T *work) {
  T *acc = work;                  /* SK_RMAX x SK_JB accumulators */
  T *bt = work + SK_RMAX * SK_JB; /* SK_PB x SK_JB copy of a B block, or the A rows */
  for (int j0 = 0; j0 < n; j0 += SK_JB) {
    int jb = n - j0 < SK_JB ? n - j0 : SK_JB;
    for (int i = 0; i < R * SK_JB; i++) acc[i] = 0;
    for (int p0 = 0; p0 < k; p0 += SK_PB) {
      int pb = k - p0 < SK_PB ? k - p0 : SK_PB;
      const T *bb;
      int ldb;
      if (csb == 1) {
        bb = b + p0 * rsb + j0;
        ldb = rsb;
      } else if (rsb == 1) {
        /* B columns are contiguous (B stored transposed): SIMD dot products against the A rows,
         * gathered contiguous into bt, instead of transposing B. */
        for (int r = 0; r < R; r++)
          for (int p = 0; p < pb; p++) bt[r * SK_PB + p] = a[r * rsa + (p0 + p) * csa];
        for (int j = 0; j < jb; j++) {
          const T *col = b + p0 + (j0 + j) * csb;
          for (int r = 0; r < R; r++) {
            const T *ar = bt + r * SK_PB;
            v128_t s0 = wasm_i64x2_const(0, 0), s1 = wasm_i64x2_const(0, 0);
            int p = 0;
            for (; p + 2 * VL <= pb; p += 2 * VL) {
              s0 = VFMA(VLOAD(ar + p), VLOAD(col + p), s0);
              s1 = VFMA(VLOAD(ar + p + VL), VLOAD(col + p + VL), s1);
            }
            T lanes[VL] __attribute__((aligned(16)));
            VSTORE(lanes, VADD(s0, s1));
            T sum = 0;
            for (int l = 0; l < VL; l++) sum += lanes[l];
            for (; p < pb; p++) sum += ar[p] * col[p];
            acc[r * SK_JB + j] += sum;
          }
        }
        continue;
      } else {
        for (int j = 0; j < jb; j++) {
          const T *src = b + p0 * rsb + (j0 + j) * csb;
          for (int p = 0; p < pb; p++) bt[p * SK_JB + j] = src[p * rsb];
        }
        bb = bt;
        ldb = SK_JB;
      }
      for (int p = 0; p < pb; p++) {
        const T *brow = bb + p * ldb;
        for (int r = 0; r < R; r++) {
          T s = a[r * rsa + (p0 + p) * csa];
          T *ar = acc + r * SK_JB;
          v128_t sv = VSPLAT(s);
          int j = 0;
          for (; j + VL <= jb; j += VL) VSTORE(ar + j, VFMA(sv, VLOAD(brow + j), VLOAD(ar + j)));
          for (; j < jb; j++) ar[j] += s * brow[j];
        }
      }
    }
    for (int r = 0; r < R; r++) {
      for (int j = 0; j < jb; j++) {
        T *cij = c + r * rsc + (j0 + j) * csc;
        T x = alpha * acc[r * SK_JB + j];
        *cij = beta == 0 ? x : x + beta * *cij;
      }
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
  if ((long long)m * n * k <= MR * NR * 8) {
    /* Tiny products: packing and zero-padded tiles would cost more than the arithmetic. */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        T s = 0;
        for (int p = 0; p < k; p++) s += a[i * rsa + p * csa] * b[p * rsb + j * csb];
        T *cij = c + i * rsc + j * csc;
        *cij = beta == 0 ? alpha * s : alpha * s + beta * *cij;
      }
    return;
  }
  if (m <= SK_RMAX && m < MR) {
    GEMM_FEW_ROWS(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, work);
    return;
  }
  if (n <= SK_RMAX && n < NR) {
    /* C^T (n x m) = B^T A^T: few rows again, with every operand's strides swapped. */
    GEMM_FEW_ROWS(n, m, k, alpha, b, csb, rsb, a, csa, rsa, beta, c, csc, rsc, work);
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
