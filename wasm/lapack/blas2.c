/*
 * SIMD128 drop-ins for the level-2 BLAS routines that dominate LAPACK's unblocked Householder
 * code paths (dgeqr2/dorg2r for thin QR, dlarft, dlabrd inside dgebrd for the SVD): dgemv_ and
 * dger_, plus LAPACK's dlarf_ (one reflector applied to a matrix), which for SIDE = 'L' fuses
 * its dgemv and dger column by column so each column of C streams from memory once.
 * Linked instead of BLAS/SRC/dgemv.f, dger.f and SRC/dlarf.f (see wasm/build.sh). Reference semantics
 * (column-major, Fortran by-reference arguments, hidden CHARACTER length last), including
 * beta == 0 never reading y and negative increments; no argument validation (LAPACK's internal
 * calls are well-formed). Plain SIMD128 multiply and add (no relaxed FMA), so results are the
 * same on every machine. Also BLAS's dnrm2_ (level 1, called by dlarfg for every reflector),
 * instead of BLAS/SRC/dnrm2.f90.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef double f64;

/* Start index of a strided vector of length n (reference BLAS: negative inc starts at the end). */
static int32_t start(int32_t n, int32_t inc) { return inc > 0 ? 0 : (1 - n) * inc; }

/* Σ a[i] * x[i] for contiguous a and x, four independent SIMD accumulators. */
static f64 dot_contig(const f64 *a, const f64 *x, int32_t m) {
  v128_t s0 = wasm_f64x2_splat(0), s1 = s0, s2 = s0, s3 = s0;
  int32_t i = 0;
  for (; i + 8 <= m; i += 8) {
    s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(wasm_v128_load(a + i), wasm_v128_load(x + i)));
    s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(wasm_v128_load(a + i + 2), wasm_v128_load(x + i + 2)));
    s2 = wasm_f64x2_add(s2, wasm_f64x2_mul(wasm_v128_load(a + i + 4), wasm_v128_load(x + i + 4)));
    s3 = wasm_f64x2_add(s3, wasm_f64x2_mul(wasm_v128_load(a + i + 6), wasm_v128_load(x + i + 6)));
  }
  for (; i + 2 <= m; i += 2) {
    s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(wasm_v128_load(a + i), wasm_v128_load(x + i)));
  }
  v128_t s = wasm_f64x2_add(wasm_f64x2_add(s0, s1), wasm_f64x2_add(s2, s3));
  f64 r = wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
  for (; i < m; i++) r += a[i] * x[i];
  return r;
}

/* out[c] = Σ a_c[i] * x[i] for four contiguous columns: x is loaded once for all four. */
static void dot4_contig(const f64 *a0, const f64 *a1, const f64 *a2, const f64 *a3,
                        const f64 *x, int32_t m, f64 out[4]) {
  v128_t s0 = wasm_f64x2_splat(0), s1 = s0, s2 = s0, s3 = s0;
  v128_t t0 = s0, t1 = s0, t2 = s0, t3 = s0;
  int32_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const v128_t x0 = wasm_v128_load(x + i), x1 = wasm_v128_load(x + i + 2);
    s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(wasm_v128_load(a0 + i), x0));
    s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(wasm_v128_load(a1 + i), x0));
    s2 = wasm_f64x2_add(s2, wasm_f64x2_mul(wasm_v128_load(a2 + i), x0));
    s3 = wasm_f64x2_add(s3, wasm_f64x2_mul(wasm_v128_load(a3 + i), x0));
    t0 = wasm_f64x2_add(t0, wasm_f64x2_mul(wasm_v128_load(a0 + i + 2), x1));
    t1 = wasm_f64x2_add(t1, wasm_f64x2_mul(wasm_v128_load(a1 + i + 2), x1));
    t2 = wasm_f64x2_add(t2, wasm_f64x2_mul(wasm_v128_load(a2 + i + 2), x1));
    t3 = wasm_f64x2_add(t3, wasm_f64x2_mul(wasm_v128_load(a3 + i + 2), x1));
  }
  s0 = wasm_f64x2_add(s0, t0);
  s1 = wasm_f64x2_add(s1, t1);
  s2 = wasm_f64x2_add(s2, t2);
  s3 = wasm_f64x2_add(s3, t3);
  f64 r0 = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1);
  f64 r1 = wasm_f64x2_extract_lane(s1, 0) + wasm_f64x2_extract_lane(s1, 1);
  f64 r2 = wasm_f64x2_extract_lane(s2, 0) + wasm_f64x2_extract_lane(s2, 1);
  f64 r3 = wasm_f64x2_extract_lane(s3, 0) + wasm_f64x2_extract_lane(s3, 1);
  for (; i < m; i++) {
    r0 += a0[i] * x[i];
    r1 += a1[i] * x[i];
    r2 += a2[i] * x[i];
    r3 += a3[i] * x[i];
  }
  out[0] = r0;
  out[1] = r1;
  out[2] = r2;
  out[3] = r3;
}

/* y[0..m) += t * a[0..m) (contiguous). */
static void axpy_contig(f64 *y, const f64 *a, f64 t, int32_t m) {
  v128_t tv = wasm_f64x2_splat(t);
  int32_t i = 0;
  for (; i + 4 <= m; i += 4) {
    wasm_v128_store(y + i, wasm_f64x2_add(wasm_v128_load(y + i),
                                          wasm_f64x2_mul(tv, wasm_v128_load(a + i))));
    wasm_v128_store(y + i + 2, wasm_f64x2_add(wasm_v128_load(y + i + 2),
                                              wasm_f64x2_mul(tv, wasm_v128_load(a + i + 2))));
  }
  for (; i + 2 <= m; i += 2) {
    wasm_v128_store(y + i, wasm_f64x2_add(wasm_v128_load(y + i),
                                          wasm_f64x2_mul(tv, wasm_v128_load(a + i))));
  }
  for (; i < m; i++) y[i] += t * a[i];
}

/* y[0..m) += t0*a0 + t1*a1 + t2*a2 + t3*a3 (four columns at once: one pass over y). */
static void axpy4_contig(f64 *y, const f64 *a0, const f64 *a1, const f64 *a2, const f64 *a3,
                         f64 t0, f64 t1, f64 t2, f64 t3, int32_t m) {
  v128_t v0 = wasm_f64x2_splat(t0), v1 = wasm_f64x2_splat(t1), v2 = wasm_f64x2_splat(t2),
         v3 = wasm_f64x2_splat(t3);
  int32_t i = 0;
  for (; i + 2 <= m; i += 2) {
    v128_t acc = wasm_v128_load(y + i);
    acc = wasm_f64x2_add(acc, wasm_f64x2_mul(v0, wasm_v128_load(a0 + i)));
    acc = wasm_f64x2_add(acc, wasm_f64x2_mul(v1, wasm_v128_load(a1 + i)));
    acc = wasm_f64x2_add(acc, wasm_f64x2_mul(v2, wasm_v128_load(a2 + i)));
    acc = wasm_f64x2_add(acc, wasm_f64x2_mul(v3, wasm_v128_load(a3 + i)));
    wasm_v128_store(y + i, acc);
  }
  for (; i < m; i++) y[i] += t0 * a0[i] + t1 * a1[i] + t2 * a2[i] + t3 * a3[i];
}

static int is_notrans(const char *t) { return *t == 'N' || *t == 'n'; }

/* y := alpha*op(A)*x + beta*y, op(A) = A (m×n) or Aᵀ. */
void dgemv_(const char *trans, const int32_t *pm, const int32_t *pn, const f64 *palpha,
            const f64 *a, const int32_t *plda, const f64 *x, const int32_t *pincx,
            const f64 *pbeta, f64 *y, const int32_t *pincy, int32_t trans_len) {
  (void)trans_len;
  const int32_t m = *pm, n = *pn, lda = *plda, incx = *pincx, incy = *pincy;
  const f64 alpha = *palpha, beta = *pbeta;
  if (m == 0 || n == 0 || (alpha == 0 && beta == 1)) return;
  const int notrans = is_notrans(trans);
  const int32_t lenx = notrans ? n : m, leny = notrans ? m : n;
  const int32_t kx = start(lenx, incx), ky = start(leny, incy);
  if (beta != 1) {
    for (int32_t i = 0, iy = ky; i < leny; i++, iy += incy) y[iy] = beta == 0 ? 0 : beta * y[iy];
  }
  if (alpha == 0) return;
  if (notrans) {
    if (incy == 1) {
      int32_t j = 0, jx = kx;
      for (; j + 4 <= n; j += 4, jx += 4 * incx) {
        axpy4_contig(y, a + (int64_t)j * lda, a + (int64_t)(j + 1) * lda,
                     a + (int64_t)(j + 2) * lda, a + (int64_t)(j + 3) * lda, alpha * x[jx],
                     alpha * x[jx + incx], alpha * x[jx + 2 * incx], alpha * x[jx + 3 * incx], m);
      }
      for (; j < n; j++, jx += incx) axpy_contig(y, a + (int64_t)j * lda, alpha * x[jx], m);
    } else {
      for (int32_t j = 0, jx = kx; j < n; j++, jx += incx) {
        const f64 t = alpha * x[jx];
        const f64 *col = a + (int64_t)j * lda;
        for (int32_t i = 0, iy = ky; i < m; i++, iy += incy) y[iy] += t * col[i];
      }
    }
  } else {
    int32_t j = 0, jy = ky;
    if (incx == 1) {
      for (; j + 4 <= n; j += 4) {
        f64 s[4];
        const f64 *col = a + (int64_t)j * lda;
        dot4_contig(col, col + lda, col + 2 * (int64_t)lda, col + 3 * (int64_t)lda, x, m, s);
        for (int c = 0; c < 4; c++, jy += incy) y[jy] += alpha * s[c];
      }
    }
    for (; j < n; j++, jy += incy) {
      const f64 *col = a + (int64_t)j * lda;
      f64 s;
      if (incx == 1) {
        s = dot_contig(col, x, m);
      } else {
        s = 0;
        for (int32_t i = 0, ix = kx; i < m; i++, ix += incx) s += col[i] * x[ix];
      }
      y[jy] += alpha * s;
    }
  }
}

/* A := alpha*x*yᵀ + A (A m×n). */
void dger_(const int32_t *pm, const int32_t *pn, const f64 *palpha, const f64 *x,
           const int32_t *pincx, const f64 *y, const int32_t *pincy, f64 *a,
           const int32_t *plda) {
  const int32_t m = *pm, n = *pn, incx = *pincx, incy = *pincy, lda = *plda;
  const f64 alpha = *palpha;
  if (m == 0 || n == 0 || alpha == 0) return;
  const int32_t kx = start(m, incx), ky = start(n, incy);
  for (int32_t j = 0, jy = ky; j < n; j++, jy += incy) {
    if (y[jy] == 0) continue; /* as reference BLAS: skips (so 0·Inf in x is not formed) */
    const f64 t = alpha * y[jy];
    f64 *col = a + (int64_t)j * lda;
    if (incx == 1) {
      axpy_contig(col, x, t, m);
    } else {
      for (int32_t i = 0, ix = kx; i < m; i++, ix += incx) col[i] += x[ix] * t;
    }
  }
}

int32_t iladlc_(const int32_t *m, const int32_t *n, const f64 *a, const int32_t *lda);
int32_t iladlr_(const int32_t *m, const int32_t *n, const f64 *a, const int32_t *lda);

/*
 * LAPACK dlarf: C := H C (SIDE = 'L') or C H (SIDE = 'R'), H = I - tau v vᵀ, C m×n; WORK holds
 * vᵀC or C v. Same trimming of trailing zeros in v and C as SRC/dlarf.f (ILADLC/ILADLR). For
 * SIDE = 'L' with a contiguous v each column c_j gets w_j = c_jᵀv and then c_j -= tau w_j v while
 * it is still in cache (one pass over C instead of two; the same operations as dgemv_('T') then
 * dger_, except that dgemv_ sums four columns' dot products in a different order: the results
 * agree to rounding). Other cases call those two.
 */
void dlarf_(const char *side, const int32_t *pm, const int32_t *pn, const f64 *v,
            const int32_t *pincv, const f64 *ptau, f64 *c, const int32_t *pldc, f64 *work,
            int32_t side_len) {
  (void)side_len;
  const int32_t m = *pm, n = *pn, incv = *pincv, ldc = *pldc;
  const f64 tau = *ptau;
  const int applyleft = *side == 'L' || *side == 'l';
  int32_t lastv = 0, lastc = 0;
  if (tau != 0) {
    lastv = applyleft ? m : n;
    int32_t i = incv > 0 ? (lastv - 1) * incv : 0; /* 0-based */
    while (lastv > 0 && v[i] == 0) {
      lastv--;
      i -= incv;
    }
    lastc = applyleft ? iladlc_(&lastv, pn, c, pldc) : iladlr_(pm, &lastv, c, pldc);
  }
  if (lastv <= 0) return;
  static const f64 one = 1, zero = 0;
  static const int32_t inc1 = 1;
  const f64 mtau = -tau;
  if (applyleft && incv == 1) {
    for (int32_t j = 0; j < lastc; j++) {
      f64 *col = c + (int64_t)j * ldc;
      const f64 w = dot_contig(col, v, lastv);
      work[j] = w;
      if (w != 0) axpy_contig(col, v, mtau * w, lastv);
    }
  } else if (applyleft) {
    dgemv_("T", &lastv, &lastc, &one, c, pldc, v, pincv, &zero, work, &inc1, 1);
    dger_(&lastv, &lastc, &mtau, v, pincv, work, &inc1, c, pldc);
  } else {
    dgemv_("N", &lastc, &lastv, &one, c, pldc, v, pincv, &zero, work, &inc1, 1);
    dger_(&lastc, &lastv, &mtau, work, &inc1, v, pincv, c, pldc);
  }
}

/*
 * BLAS dnrm2 (‖x‖₂), replacing BLAS/SRC/dnrm2.f90 (LAPACK 3.10+'s version of Blue's algorithm,
 * Anderson 2017): the scalar code below is that routine line by line. dlarfg calls it for every
 * Householder vector (each column of a QR panel, each row and column of dgebd2), where its
 * branchy loop cost ≈ 1 ns per element. Fast path for a contiguous x: when no |x_i| lies above
 * tbig or strictly between 0 and tsml (so dnrm2.f90 would put every term in its unscaled
 * accumulator `amed`), the result is the same sqrt(Σ x_i²), summed with SIMD in another order.
 */
static f64 dnrm2_blue(int32_t n, const f64 *x, int32_t incx) {
  /* Blue's constants for IEEE double: tsml = 2^-511, tbig = 2^486, ssml = 2^537, sbig = 2^-538. */
  const f64 tsml = 0x1p-511, tbig = 0x1p486, ssml = 0x1p537, sbig = 0x1p-538;
  const f64 maxn = __DBL_MAX__;
  f64 abig = 0, amed = 0, asml = 0;
  int notbig = 1;
  int32_t ix = start(n, incx);
  for (int32_t i = 0; i < n; i++, ix += incx) {
    f64 ax = __builtin_fabs(x[ix]);
    if (ax > tbig) {
      abig += (ax * sbig) * (ax * sbig);
      notbig = 0;
    } else if (ax < tsml) {
      if (notbig) asml += (ax * ssml) * (ax * ssml);
    } else {
      amed += ax * ax;
    }
  }
  f64 scl, sumsq;
  if (abig > 0) {
    if (amed > 0 || amed > maxn || amed != amed) abig += (amed * sbig) * sbig;
    scl = 1 / sbig;
    sumsq = abig;
  } else if (asml > 0) {
    if (amed > 0 || amed > maxn || amed != amed) {
      amed = __builtin_sqrt(amed);
      asml = __builtin_sqrt(asml) / ssml;
      f64 ymin = asml > amed ? amed : asml, ymax = asml > amed ? asml : amed;
      scl = 1;
      sumsq = ymax * ymax * (1 + (ymin / ymax) * (ymin / ymax));
    } else {
      scl = 1 / ssml;
      sumsq = asml;
    }
  } else {
    scl = 1;
    sumsq = amed;
  }
  return scl * __builtin_sqrt(sumsq);
}

f64 dnrm2_(const int32_t *pn, const f64 *x, const int32_t *pincx) {
  const int32_t n = *pn, incx = *pincx;
  if (n <= 0) return 0;
  if (incx != 1) return dnrm2_blue(n, x, incx);
  const v128_t big = wasm_f64x2_splat(0x1p486), sml = wasm_f64x2_splat(0x1p-511),
               zero = wasm_f64x2_splat(0);
  v128_t s0 = zero, s1 = zero, odd = wasm_i64x2_splat(0);
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t a0 = wasm_f64x2_abs(wasm_v128_load(x + i)), a1 = wasm_f64x2_abs(wasm_v128_load(x + i + 2));
    s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(a0, a0));
    s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(a1, a1));
    odd = wasm_v128_or(odd, wasm_v128_or(wasm_f64x2_gt(a0, big), wasm_f64x2_gt(a1, big)));
    odd = wasm_v128_or(odd, wasm_v128_and(wasm_f64x2_lt(a0, sml), wasm_f64x2_gt(a0, zero)));
    odd = wasm_v128_or(odd, wasm_v128_and(wasm_f64x2_lt(a1, sml), wasm_f64x2_gt(a1, zero)));
  }
  v128_t s = wasm_f64x2_add(s0, s1);
  f64 sum = wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
  int slow = wasm_v128_any_true(odd);
  for (; i < n; i++) {
    f64 ax = __builtin_fabs(x[i]);
    sum += ax * ax;
    slow |= ax > 0x1p486 || (ax < 0x1p-511 && ax > 0);
  }
  return slow ? dnrm2_blue(n, x, incx) : __builtin_sqrt(sum);
}
