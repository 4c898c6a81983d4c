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
static double dgemm_static_work[MC * KC + KC * NC] __attribute__((aligned(16)));

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
  /* op(A)(i,p): A(i,p) = a[i + p*lda] or A(p,i) = a[p + i*lda]. */
  int rsa = ta ? *lda : 1, csa = ta ? 1 : *lda;
  int rsb = tb ? *ldb : 1, csb = tb ? 1 : *ldb;
  /* C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m): swap roles and strides. */
  dgemm_core(*n, *m, *k, *alpha, b, csb, rsb, a, csa, rsa, *beta, c, *ldc, 1,
             dgemm_static_work);
}
#endif /* SVL_NO_FORTRAN_DGEMM */
