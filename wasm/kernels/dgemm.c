/*
 * Double-precision GEMM for svlens (SIMD128, optional relaxed-SIMD FMA). See gemm_impl.h.
 *
 * Exported:
 *   svl_dgemm (strided core, workspace passed in), svl_dgemm_work_len  -- used by matmul_f64.ts
 *   dgemm_  -- reference-BLAS drop-in (Fortran calling convention, column-major), meant to be
 *              linked ahead of BLAS/SRC/dgemm.f inside lapack.wasm (see README.md). Uses a static
 *              workspace, so it is not reentrant across threads sharing one memory.
 * Self-contained apart from gemm_impl.h: no libc, no imports.
 */
#include <wasm_simd128.h>

#define T double
#define VL 2
#ifndef DG_MR
#define DG_MR 6
#endif
#ifndef DG_NV
#define DG_NV 2
#endif
#ifndef DG_KC
#define DG_KC 256
#endif
#ifndef DG_MC
#define DG_MC 96
#endif
#ifndef DG_NC
#define DG_NC 512
#endif
#define MR DG_MR
#define NV DG_NV
#define KC DG_KC
#define MC DG_MC
#define NC DG_NC
#define VSPLAT(x) wasm_f64x2_splat(x)
#define VLOAD(p) wasm_v128_load(p)
#define VSTORE(p, v) wasm_v128_store(p, v)
#define VADD(a, b) wasm_f64x2_add(a, b)
#define VMUL(a, b) wasm_f64x2_mul(a, b)
#ifdef __wasm_relaxed_simd__
#define VFMA(a, b, c) wasm_f64x2_relaxed_madd(a, b, c)
#else
#define VFMA(a, b, c) wasm_f64x2_add(wasm_f64x2_mul(a, b), c)
#endif
#define GEMM_CORE dgemm_core
#include "gemm_impl.h"

/* Number of doubles the `work` argument of svl_dgemm must hold. */
__attribute__((export_name("svl_dgemm_work_len"))) int svl_dgemm_work_len(void) {
  return MC * KC + KC * NC;
}

/* C = alpha * A * B + beta * C on strided operands (see gemm_impl.h); `work` is
 * svl_dgemm_work_len() doubles, 16-byte aligned. */
__attribute__((export_name("svl_dgemm"))) void svl_dgemm(int m, int n, int k, double alpha,
                                                         const double *a, int rsa, int csa,
                                                         const double *b, int rsb, int csb,
                                                         double beta, double *c, int rsc,
                                                         int csc, double *work) {
  dgemm_core(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc,
             csc, work);
}

#ifndef SVL_NO_FORTRAN_DGEMM
#ifndef DOT_TN_MIN_K
#define DOT_TN_MIN_K 64
#endif
#ifndef DOT_TN_K_RATIO
#define DOT_TN_K_RATIO 4
#endif
/* B (n·k doubles) is read once per 4 columns of A: keep it within L2 (512 KiB). */
#ifndef DOT_TN_MAX_B
#define DOT_TN_MAX_B 65536
#endif
static double dgemm_static_work[MC * KC + KC * NC] __attribute__((aligned(16)));

/*
 * C(i,j) = alpha * sum_p A(p,i) B(p,j) + beta * C(i,j) with A's and B's columns contiguous
 * (dgemm_('T', 'N')): inner products, no packing. LAPACK's Yᵀ·C products
 * (dlarfb's W = C2ᵀV2 in blocked QR, T's off-diagonal blocks) have few rows and columns and a long
 * K, where packing both operands costs as much as the arithmetic (measured on 48×16×740: 20
 * GFLOP/s here vs 13 packed). Register block: 4 columns of A against 2 of B (8 accumulators, 6
 * loads per 8 FMAs); edges take single inner products. Used by dgemm_ for TN products with
 * K ≥ max(64, 4·min(M, N)) and B small enough to stay in cache (DOT_TN_* above).
 */
static double dot_tn_1x1(int k, const double *a, const double *b) {
  v128_t s0 = wasm_f64x2_const(0, 0), s1 = wasm_f64x2_const(0, 0);
  int p = 0;
  for (; p + 4 <= k; p += 4) {
    s0 = VFMA(VLOAD(a + p), VLOAD(b + p), s0);
    s1 = VFMA(VLOAD(a + p + 2), VLOAD(b + p + 2), s1);
  }
  v128_t s = VADD(s0, s1);
  double sum = wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
  for (; p < k; p++) sum += a[p] * b[p];
  return sum;
}

static void store_c(double *c, double x, double alpha, double beta) {
  *c = beta == 0 ? alpha * x : alpha * x + beta * *c;
}

static void dgemm_dot_tn(int m, int n, int k, double alpha, const double *a, int lda,
                         const double *b, int ldb, double beta, double *c, int ldc) {
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const double *a0 = a + (long)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    int j = 0;
    for (; j + 2 <= n; j += 2) {
      const double *b0 = b + (long)j * ldb, *b1 = b0 + ldb;
      v128_t c00 = wasm_f64x2_const(0, 0), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
             c21 = c00, c30 = c00, c31 = c00;
      int p = 0;
      for (; p + 2 <= k; p += 2) {
        v128_t x0 = VLOAD(b0 + p), x1 = VLOAD(b1 + p), y;
        y = VLOAD(a0 + p);
        c00 = VFMA(y, x0, c00);
        c01 = VFMA(y, x1, c01);
        y = VLOAD(a1 + p);
        c10 = VFMA(y, x0, c10);
        c11 = VFMA(y, x1, c11);
        y = VLOAD(a2 + p);
        c20 = VFMA(y, x0, c20);
        c21 = VFMA(y, x1, c21);
        y = VLOAD(a3 + p);
        c30 = VFMA(y, x0, c30);
        c31 = VFMA(y, x1, c31);
      }
      double s[8] = {
          wasm_f64x2_extract_lane(c00, 0) + wasm_f64x2_extract_lane(c00, 1),
          wasm_f64x2_extract_lane(c01, 0) + wasm_f64x2_extract_lane(c01, 1),
          wasm_f64x2_extract_lane(c10, 0) + wasm_f64x2_extract_lane(c10, 1),
          wasm_f64x2_extract_lane(c11, 0) + wasm_f64x2_extract_lane(c11, 1),
          wasm_f64x2_extract_lane(c20, 0) + wasm_f64x2_extract_lane(c20, 1),
          wasm_f64x2_extract_lane(c21, 0) + wasm_f64x2_extract_lane(c21, 1),
          wasm_f64x2_extract_lane(c30, 0) + wasm_f64x2_extract_lane(c30, 1),
          wasm_f64x2_extract_lane(c31, 0) + wasm_f64x2_extract_lane(c31, 1),
      };
      if (p < k) {
        s[0] += a0[p] * b0[p];
        s[1] += a0[p] * b1[p];
        s[2] += a1[p] * b0[p];
        s[3] += a1[p] * b1[p];
        s[4] += a2[p] * b0[p];
        s[5] += a2[p] * b1[p];
        s[6] += a3[p] * b0[p];
        s[7] += a3[p] * b1[p];
      }
      for (int r = 0; r < 4; r++)
        for (int q = 0; q < 2; q++)
          store_c(c + (i + r) + (long)(j + q) * ldc, s[2 * r + q], alpha, beta);
    }
    for (; j < n; j++)
      for (int r = 0; r < 4; r++)
        store_c(c + (i + r) + (long)j * ldc,
                dot_tn_1x1(k, a + (long)(i + r) * lda, b + (long)j * ldb), alpha, beta);
  }
  for (; i < m; i++)
    for (int j = 0; j < n; j++)
      store_c(c + i + (long)j * ldc, dot_tn_1x1(k, a + (long)i * lda, b + (long)j * ldb), alpha,
              beta);
}

static int is_trans(const char *t) {
  return *t == 'T' || *t == 't' || *t == 'C' || *t == 'c';
}

/*
 * Reference-BLAS dgemm: C := alpha*op(A)*op(B) + beta*C, column-major, op(A) m x k,
 * op(B) k x n. The hidden CHARACTER lengths are accepted and ignored. Unlike BLAS/SRC/dgemm.f
 * this does not validate arguments (no xerbla_ call): LAPACK's internal calls are well-formed.
 * Column-major C(i,j) = c[i + j*ldc] is row-major C^T, so we compute C^T = op(B)^T op(A)^T,
 * whose rows are contiguous, letting the micro-kernel store full SIMD rows.
 */
__attribute__((export_name("dgemm_"))) void dgemm_(const char *transa, const char *transb,
                                                   const int *m, const int *n, const int *k,
                                                   const double *alpha, const double *a,
                                                   const int *lda, const double *b,
                                                   const int *ldb, const double *beta, double *c,
                                                   const int *ldc, int lentransa, int lentransb) {
  (void)lentransa;
  (void)lentransb;
  int ta = is_trans(transa), tb = is_trans(transb);
  if (ta && !tb && *alpha != 0 && *m > 0 && *n > 0 && *k >= DOT_TN_MIN_K &&
      *k >= DOT_TN_K_RATIO * (*m < *n ? *m : *n) && (long long)*n * *k <= DOT_TN_MAX_B) {
    dgemm_dot_tn(*m, *n, *k, *alpha, a, *lda, b, *ldb, *beta, c, *ldc);
    return;
  }
  /* op(A)(i,p): A(i,p) = a[i + p*lda] or A(p,i) = a[p + i*lda]. */
  int rsa = ta ? *lda : 1, csa = ta ? 1 : *lda;
  int rsb = tb ? *ldb : 1, csb = tb ? 1 : *ldb;
  /* C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m): swap roles and strides. */
  dgemm_core(*n, *m, *k, *alpha, b, csb, rsb, a, csa, rsa, *beta, c, *ldc, 1,
             dgemm_static_work);
}
#endif /* SVL_NO_FORTRAN_DGEMM */
