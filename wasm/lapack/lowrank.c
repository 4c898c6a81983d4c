/*
 * LowRankProduct.svd's WASM side (src/linalg/lapack.ts): svl_lowrank_svd (the whole factored SVD
 * after the factors are copied in), svl_dgeqrf_t (its QR) and svl_transpose.
 *
 * svl_dgeqrf_t: LAPACK's blocked Householder QR (dgeqrf: dgeqr2 panels, dlarft, dlarfb trailing
 * updates) that also returns the k×k triangular factor T of the compact WY form of all k
 * reflectors, Q = H(1)…H(k) = I − Y T Yᵀ (k = min(m, n)): what dgeqrf followed by
 * dlarft('F', 'C', m, k) gives, without dlarft's level-2 pass over all of Y.
 *
 * The panels and trailing updates are dgeqrf's own (same block size nb, same routine calls, and
 * dgeqr2 on the whole matrix when nb ≥ k), so A and TAU come out bit for bit as dgeqrf with
 * NB = nb and NX = 0 writes them (this build's ILAENV values for at most 128 columns). The
 * diagonal nb×nb blocks of T are the panels' dlarft results, which dgeqrf computes anyway for
 * dlarfb (the last panel's too here); the blocks above them are joined as in LAPACK 3.12's
 * recursive dlarft:
 *   T(0:j, J) = −T(0:j, 0:j) · (Y(:, 0:j)ᵀ Y(:, J)) · T(J, J),   J = j…j+nb−1,
 * with Y(:, 0:j)ᵀ Y(:, J) = Y(j:j+nb, 0:j)ᵀ L_J + Y(j+nb:m, 0:j)ᵀ Y(j+nb:m, J) (L_J the unit lower
 * triangle of the panel's reflectors) by dtrmm and dgemm. T's strictly lower part is set to zero
 * (so T can enter dgemm as a full matrix).
 *
 * work: at least nb·n doubles (dlarfb's workspace). Inputs as dgeqrf's (column-major, lda ≥ m,
 * and ldt ≥ k); arguments are checked in dgeqrf's manner: a bad one sets INFO = −(its position)
 * and is reported to xerbla_ as SVL_DGEQRF_T.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef double f64;

void xerbla_(const char *srname, const int32_t *info, int32_t srname_len);
void dgeqr2_(const int32_t *m, const int32_t *n, f64 *a, const int32_t *lda, f64 *tau, f64 *work,
             int32_t *info);
void dlarft_(const char *direct, const char *storev, const int32_t *n, const int32_t *k,
             const f64 *v, const int32_t *ldv, const f64 *tau, f64 *t, const int32_t *ldt,
             int32_t direct_len, int32_t storev_len);
void dlarfb_(const char *side, const char *trans, const char *direct, const char *storev,
             const int32_t *m, const int32_t *n, const int32_t *k, const f64 *v,
             const int32_t *ldv, const f64 *t, const int32_t *ldt, f64 *c, const int32_t *ldc,
             f64 *work, const int32_t *ldwork, int32_t side_len, int32_t trans_len,
             int32_t direct_len, int32_t storev_len);
void dtrmm_(const char *side, const char *uplo, const char *transa, const char *diag,
            const int32_t *m, const int32_t *n, const f64 *alpha, const f64 *a,
            const int32_t *lda, f64 *b, const int32_t *ldb, int32_t side_len, int32_t uplo_len,
            int32_t transa_len, int32_t diag_len);
void dgesdd_(const char *jobz, const int32_t *m, const int32_t *n, f64 *a, const int32_t *lda,
             f64 *s, f64 *u, const int32_t *ldu, f64 *vt, const int32_t *ldvt, f64 *work,
             const int32_t *lwork, int32_t *iwork, int32_t *info, int32_t jobz_len);
void dgemm_(const char *transa, const char *transb, const int32_t *m, const int32_t *n,
            const int32_t *k, const f64 *alpha, const f64 *a, const int32_t *lda, const f64 *b,
            const int32_t *ldb, const f64 *beta, f64 *c, const int32_t *ldc, int32_t transa_len,
            int32_t transb_len);

/* Block size: ILAENV's for dgeqrf of at most 128 columns in this build (wasm/build.sh). */
#define QR_NB 16

static void blocked(int32_t m, int32_t n, int32_t k, int32_t nb, f64 *a, int32_t lda, f64 *tau,
                    f64 *t, int32_t ldt, f64 *work);

__attribute__((export_name("svl_dgeqrf_t"))) void svl_dgeqrf_t(int32_t m, int32_t n, f64 *a,
                                                               int32_t lda, f64 *tau, f64 *t,
                                                               int32_t ldt, f64 *work,
                                                               int32_t *info) {
  *info = 0;
  if (m < 0) *info = -1;
  else if (n < 0) *info = -2;
  else if (lda < (m > 1 ? m : 1)) *info = -4;
  else if (ldt < (m < n ? (m > 1 ? m : 1) : (n > 1 ? n : 1))) *info = -7;
  if (*info != 0) {
    int32_t arg = -*info;
    xerbla_("SVL_DGEQRF_T", &arg, 12);
    return;
  }
  const int32_t k = m < n ? m : n, nb = QR_NB;
  if (k <= 0) return;
  if (nb >= k) {
    /* dgeqrf's unblocked case (NB ≥ K): dgeqr2 on all of A, T of its k reflectors by dlarft. */
    dgeqr2_(&m, &n, a, &lda, tau, work, info);
    dlarft_("F", "C", &m, &k, a, &lda, tau, t, &ldt, 1, 1);
  } else {
    blocked(m, n, k, nb, a, lda, tau, t, ldt, work);
  }
  for (int32_t j = 0; j < k; j++)
    for (int32_t i = j + 1; i < k; i++) t[i + (int64_t)j * ldt] = 0;
}

/* dgeqrf's blocked loop (nb < k), plus the off-diagonal blocks of T. */
static void blocked(int32_t m, int32_t n, int32_t k, int32_t nb, f64 *a, int32_t lda, f64 *tau,
                    f64 *t, int32_t ldt, f64 *work) {
  static const f64 one = 1, minus_one = -1;
#define A(i, j) (a + (i) + (int64_t)(j) * lda)
#define TT(i, j) (t + (i) + (int64_t)(j) * ldt)
  for (int32_t j = 0; j < k; j += nb) {
    int32_t ib = k - j < nb ? k - j : nb;
    int32_t rows = m - j, iinfo = 0;
    dgeqr2_(&rows, &ib, A(j, j), &lda, tau + j, work, &iinfo);
    dlarft_("F", "C", &rows, &ib, A(j, j), &lda, tau + j, TT(j, j), &ldt, 1, 1);
    int32_t rest = n - j - ib;
    if (rest > 0) {
      /* H(j)…H(j+ib−1) transposed applied to A(j:m, j+ib:n), as dgeqrf does. */
      dlarfb_("L", "T", "F", "C", &rows, &rest, &ib, A(j, j), &lda, TT(j, j), &ldt, A(j, j + ib),
              &lda, work, &rest, 1, 1, 1, 1);
    }
    if (j > 0) {
      /* W (j×ib, stored in T(0:j, J)) = Y(j:j+ib, 0:j)ᵀ L_J + Y(j+ib:m, 0:j)ᵀ Y(j+ib:m, J). */
      for (int32_t c = 0; c < ib; c++)
        for (int32_t r = 0; r < j; r++) *TT(r, j + c) = *A(j + c, r);
      dtrmm_("R", "L", "N", "U", &j, &ib, &one, A(j, j), &lda, TT(0, j), &ldt, 1, 1, 1, 1);
      int32_t below = m - j - ib;
      if (below > 0) {
        dgemm_("T", "N", &j, &ib, &below, &one, A(j + ib, 0), &lda, A(j + ib, j), &lda, &one,
               TT(0, j), &ldt, 1, 1);
      }
      /* T(0:j, J) = −T(0:j, 0:j) · W · T(J, J). */
      dtrmm_("L", "U", "N", "N", &j, &ib, &minus_one, t, &ldt, TT(0, j), &ldt, 1, 1, 1, 1);
      dtrmm_("R", "U", "N", "N", &j, &ib, &one, TT(j, j), &ldt, TT(0, j), &ldt, 1, 1, 1, 1);
    }
  }
#undef A
#undef TT
}

/*
 * dst (column-major rows×cols, leading dimension rows) = src (row-major rows×cols): the copy of a
 * row-major matrix that LAPACK's column-major routines need, in 2×2 SIMD blocks over strips of 8
 * rows (src and dst must not overlap).
 */
__attribute__((export_name("svl_transpose"))) void svl_transpose(int32_t rows, int32_t cols,
                                                                 const f64 *src, f64 *dst) {
  const int32_t strip = 8;
  for (int32_t i0 = 0; i0 < rows; i0 += strip) {
    int32_t i1 = rows - i0 < strip ? rows : i0 + strip;
    int32_t j = 0;
    for (; j + 2 <= cols; j += 2) {
      f64 *d0 = dst + (int64_t)j * rows, *d1 = d0 + rows;
      int32_t i = i0;
      for (; i + 2 <= i1; i += 2) {
        v128_t r0 = wasm_v128_load(src + (int64_t)i * cols + j);
        v128_t r1 = wasm_v128_load(src + (int64_t)(i + 1) * cols + j);
        wasm_v128_store(d0 + i, wasm_i64x2_shuffle(r0, r1, 0, 2));
        wasm_v128_store(d1 + i, wasm_i64x2_shuffle(r0, r1, 1, 3));
      }
      for (; i < i1; i++) {
        d0[i] = src[(int64_t)i * cols + j];
        d1[i] = src[(int64_t)i * cols + j + 1];
      }
    }
    for (; j < cols; j++)
      for (int32_t i = i0; i < i1; i++) dst[i + (int64_t)j * rows] = src[(int64_t)i * cols + j];
  }
}

/* Copies R (upper triangle of the top k rows of x, rows×r) into rk (k×r, zero below), then makes
 * the top k×k block of x the explicit unit lower triangle of the reflectors (for dgemm). */
static void split_r(int32_t rows, int32_t r, int32_t k, f64 *x, f64 *rk) {
  for (int32_t j = 0; j < r; j++) {
    f64 *col = x + (int64_t)j * rows, *out = rk + (int64_t)j * k;
    int32_t top = j < k - 1 ? j : k - 1;
    for (int32_t i = 0; i <= top; i++) out[i] = col[i];
    for (int32_t i = top + 1; i < k; i++) out[i] = 0;
    if (j < k) {
      for (int32_t i = 0; i < j; i++) col[i] = 0;
      col[j] = 1;
    }
  }
}

/*
 * Thin SVD of the product a·b (a: m×r, b: r×n) from its factors, never forming it:
 *   a = Q₁R₁ and bᵀ = Q₂R₂ (svl_dgeqrf_t), core R₁R₂ᵀ = Û Σ V̂ᵀ (dgemm, dgesdd JOBZ = 'S'),
 *   U = Q₁[Û; 0], V = Q₂[V̂; 0] with Q = I − Y T Yᵀ applied as three dgemm calls that skip the
 *   zero rows (only Y's top k×k block meets Û): Yᵀ[Û; 0] = Y₁ᵀÛ.
 * In: a (m×r, column-major, leading dimension m) and bt = bᵀ (n×r, leading dimension n), both
 * overwritten. Out: s (kc = min(m, n, r), descending), ut = Uᵀ (kc×m, leading dimension kc: the
 * bytes of row-major U) and v = V (n×kc, leading dimension n: the bytes of row-major Vᵀ).
 * iwork: 8·kc ints. lwork = −1 is a workspace query: work[0] = the doubles needed.
 * Returns INFO: 0, < 0 for an illegal argument (recorded by xerbla_ with the routine's name), or
 * dgesdd's INFO > 0 (the core SVD did not converge).
 */
__attribute__((export_name("svl_lowrank_svd"))) int32_t svl_lowrank_svd(
    int32_t m, int32_t n, int32_t r, f64 *a, f64 *bt, f64 *s, f64 *ut, f64 *v, f64 *work,
    int32_t lwork, int32_t *iwork) {
  static const f64 one = 1, zero = 0, minus_one = -1;
  const int32_t k1 = m < r ? m : r, k2 = n < r ? n : r, kc = k1 < k2 ? k1 : k2;
  const int32_t kw = k1 > k2 ? k1 : k2, ld1 = k1 > 1 ? k1 : 1, ld2 = k2 > 1 ? k2 : 1;
  const int32_t ldc = kc > 1 ? kc : 1;
  int32_t info = m < 0 ? -1 : n < 0 ? -2 : r < 0 ? -3 : 0;
  if (info != 0) {
    int32_t arg = -info;
    xerbla_("SVL_LOWRANK_SVD", &arg, 15);
    return info;
  }
  /* Workspace: tau1, tau2, T1, T2, the QR's, R1, R2, core, Û, V̂ᵀ, W, TW, then dgesdd's. */
  int64_t sizes[12] = {k1, k2, (int64_t)k1 * k1, (int64_t)k2 * k2, (int64_t)QR_NB * r,
                       (int64_t)k1 * r, (int64_t)k2 * r, (int64_t)k1 * k2, (int64_t)k1 * kc,
                       (int64_t)kc * k2, (int64_t)kw * kc, (int64_t)kw * kc};
  f64 *part[12];
  int64_t used = 0;
  for (int i = 0; i < 12; i++) {
    part[i] = work + used;
    used += sizes[i] > 0 ? sizes[i] : 1;
  }
  f64 *tau1 = part[0], *tau2 = part[1], *t1 = part[2], *t2 = part[3], *qrw = part[4];
  f64 *r1 = part[5], *r2 = part[6], *core = part[7], *uh = part[8], *vth = part[9];
  f64 *w = part[10], *tw = part[11], *gw = work + used;
  if (lwork == -1) {
    /* The caller's query workspace is one cell: dgesdd answers into a local, not into gw. */
    int32_t query = -1;
    f64 gq = 0;
    dgesdd_("S", &k1, &k2, core, &ld1, s, uh, &ld1, vth, &ldc, &gq, &query, iwork, &info, 1);
    work[0] = (f64)used + (info == 0 ? gq : 0);
    return info;
  }
  int32_t lwg = lwork - (int32_t)used;
  if (lwg < 1) {
    int32_t arg = 10;
    xerbla_("SVL_LOWRANK_SVD", &arg, 15);
    return -10;
  }
  svl_dgeqrf_t(m, r, a, m, tau1, t1, ld1, qrw, &info);
  if (info != 0) return info;
  svl_dgeqrf_t(n, r, bt, n, tau2, t2, ld2, qrw, &info);
  if (info != 0) return info;
  split_r(m, r, k1, a, r1);
  split_r(n, r, k2, bt, r2);
  dgemm_("N", "T", &k1, &k2, &r, &one, r1, &ld1, r2, &ld2, &zero, core, &ld1, 1, 1);
  dgesdd_("S", &k1, &k2, core, &ld1, s, uh, &ld1, vth, &ldc, gw, &lwg, iwork, &info, 1);
  if (info != 0) return info;
  /* V ← Q₂[V̂; 0] = [V̂; 0] − Y₂(T₂(Y₂₁ᵀV̂)), V̂ = (V̂ᵀ)ᵀ; n×kc, leading dimension n. */
  for (int32_t j = 0; j < kc; j++) {
    f64 *col = v + (int64_t)j * n;
    for (int32_t i = 0; i < k2; i++) col[i] = vth[j + (int64_t)i * kc];
    for (int32_t i = k2; i < n; i++) col[i] = 0;
  }
  dgemm_("T", "N", &k2, &kc, &k2, &one, bt, &n, v, &n, &zero, w, &ld2, 1, 1);
  dgemm_("N", "N", &k2, &kc, &k2, &one, t2, &ld2, w, &ld2, &zero, tw, &ld2, 1, 1);
  dgemm_("N", "N", &n, &kc, &k2, &minus_one, bt, &n, tw, &ld2, &one, v, &n, 1, 1);
  /* Uᵀ ← (Q₁[Û; 0])ᵀ = [Ûᵀ 0] − (T₁(Y₁₁ᵀÛ))ᵀY₁ᵀ; kc×m, leading dimension kc. */
  for (int32_t i = 0; i < m; i++) {
    f64 *col = ut + (int64_t)i * kc;
    if (i < k1)
      for (int32_t j = 0; j < kc; j++) col[j] = uh[i + (int64_t)j * k1];
    else
      for (int32_t j = 0; j < kc; j++) col[j] = 0;
  }
  dgemm_("T", "N", &k1, &kc, &k1, &one, a, &m, uh, &ld1, &zero, w, &ld1, 1, 1);
  dgemm_("N", "N", &k1, &kc, &k1, &one, t1, &ld1, w, &ld1, &zero, tw, &ld1, 1, 1);
  dgemm_("T", "T", &kc, &m, &k1, &minus_one, tw, &ld1, a, &m, &one, ut, &ldc, 1, 1);
  return 0;
}
