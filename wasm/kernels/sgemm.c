/*
 * Single-precision GEMM for svlens (SIMD128, optional relaxed-SIMD FMA). See gemm_impl.h.
 * Exported: svl_sgemm (strided core, workspace passed in), svl_sgemm_work_len.
 */
#include <wasm_simd128.h>

#define T float
#define VL 4
#ifndef SG_MR
#define SG_MR 6
#endif
#ifndef SG_NV
#define SG_NV 2
#endif
#ifndef SG_KC
#define SG_KC 256
#endif
#ifndef SG_MC
#define SG_MC 120
#endif
#ifndef SG_NC
#define SG_NC 1024
#endif
#define MR SG_MR
#define NV SG_NV
#define KC SG_KC
#define MC SG_MC
#define NC SG_NC
#define VSPLAT(x) wasm_f32x4_splat(x)
#define VLOAD(p) wasm_v128_load(p)
#define VSTORE(p, v) wasm_v128_store(p, v)
#define VADD(a, b) wasm_f32x4_add(a, b)
#define VMUL(a, b) wasm_f32x4_mul(a, b)
#ifdef __wasm_relaxed_simd__
#define VFMA(a, b, c) wasm_f32x4_relaxed_madd(a, b, c)
#else
#define VFMA(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#endif
#define GEMM_CORE sgemm_core
#include "gemm_impl.h"

/* Number of floats the `work` argument of svl_sgemm must hold. */
__attribute__((export_name("svl_sgemm_work_len"))) int svl_sgemm_work_len(void) {
  return MC * KC + KC * NC;
}

/* C = alpha * A * B + beta * C on strided operands (see gemm_impl.h); `work` is
 * svl_sgemm_work_len() floats, 16-byte aligned. */
__attribute__((export_name("svl_sgemm"))) void svl_sgemm(int m, int n, int k, float alpha,
                                                         const float *a, int rsa, int csa,
                                                         const float *b, int rsb, int csb,
                                                         float beta, float *c, int rsc, int csc,
                                                         float *work) {
  sgemm_core(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, work);
}
