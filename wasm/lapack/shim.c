/*
 * Runtime glue for LAPACK compiled by flang to wasm32 (see wasm/build.sh).
 *
 * - xerbla_: LAPACK's error handler normally prints and stops; here it records the routine name
 *   and the bad argument number so the TypeScript wrapper can raise a NumericalError instead.
 * - _FortranACharacterCompareScalar1: the one flang runtime call the LAPACK sources need
 *   (blank-padded comparison of CHARACTER strings, as Fortran's = / < on strings).
 * - malloc/free come from wasi-libc's dlmalloc (no WASI imports) and are exported as is.
 */
#include <stdint.h>
#include <string.h>

static int32_t xerbla_info = 0;
static char xerbla_name[32];

void xerbla_(const char *srname, const int32_t *info, int32_t srname_len) {
  int32_t n = srname_len < 31 ? srname_len : 31;
  if (n < 0) n = 0;
  memcpy(xerbla_name, srname, (size_t)n);
  xerbla_name[n] = 0;
  xerbla_info = *info;
}

/* The argument number reported by the last xerbla_ call (0 if none since the last reset). */
__attribute__((export_name("svl_xerbla_info"))) int32_t svl_xerbla_info(void) {
  return xerbla_info;
}

/* Address of the NUL-terminated routine name of the last xerbla_ call. */
__attribute__((export_name("svl_xerbla_name"))) const char *svl_xerbla_name(void) {
  return xerbla_name;
}

/* Clears the recorded xerbla_ state (call before each LAPACK call). */
__attribute__((export_name("svl_xerbla_reset"))) void svl_xerbla_reset(void) {
  xerbla_info = 0;
  xerbla_name[0] = 0;
}

int32_t _FortranACharacterCompareScalar1(const char *x, const char *y, int64_t xlen,
                                         int64_t ylen) {
  int64_t n = xlen < ylen ? xlen : ylen;
  for (int64_t i = 0; i < n; i++) {
    unsigned char a = (unsigned char)x[i], b = (unsigned char)y[i];
    if (a != b) return a < b ? -1 : 1;
  }
  for (int64_t i = n; i < xlen; i++) {
    unsigned char a = (unsigned char)x[i];
    if (a != ' ') return a < ' ' ? -1 : 1;
  }
  for (int64_t i = n; i < ylen; i++) {
    unsigned char b = (unsigned char)y[i];
    if (b != ' ') return ' ' < b ? -1 : 1;
  }
  return 0;
}
