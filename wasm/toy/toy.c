// Sparse inner loops of the svlens toy model's training step (src/toy/model.ts documents the
// math). Features are CSR (ptr, idx, val); dense rows are float32, row-major. Plain C loops over
// contiguous rows: clang's -msimd128 auto-vectoriser turns the row axpys into f32x4 code.
// Import-free: no libc, no libm (exp/log stay in TypeScript).
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))

// Reconstruction over tokens [0, ntok): z = cb + Σ_q val_q·G[idx_q,:], f' = ReLU(z),
// loss += Σ_i imp_i (f'_i − f_i)². With grad != 0: dz_i = 2·imp_i·(z_i − f_i)·scale on active
// ReLUs, dc += dz, dG[idx_q,:] += val_q·dz. Returns the unscaled loss sum. z, dz: n floats scratch.
EXPORT("toy_recon")
double toy_recon(int ntok, const int32_t *restrict ptr, const int32_t *restrict idx, const float *restrict val, int n,
                 const float *restrict G, const float *restrict cb, const float *restrict imp, float scale, float *restrict dG,
                 float *restrict dc, float *restrict z, float *restrict dz, int grad) {
  double loss = 0;
  for (int t = 0; t < ntok; t++) {
    const int s = ptr[t], e = ptr[t + 1];
    for (int i = 0; i < n; i++) z[i] = cb[i];
    for (int q = s; q < e; q++) {
      const float fi = val[q];
      const float *restrict row = G + (int64_t)idx[q] * n;
      for (int i = 0; i < n; i++) z[i] += fi * row[i];
    }
    // f is nonzero only at idx[s..e): subtract it there after the dense pass.
    for (int i = 0; i < n; i++) dz[i] = z[i] > 0 ? z[i] : 0;
    for (int q = s; q < e; q++) dz[idx[q]] -= val[q];
    float acc = 0;
    for (int i = 0; i < n; i++) acc += imp[i] * dz[i] * dz[i];
    loss += acc;
    if (!grad) continue;
    // Branch-free so the loop vectorises: mask is 1 on active ReLUs, else 0.
    for (int i = 0; i < n; i++) {
      const float mask = (float)(z[i] > 0);
      dz[i] = mask * (2 * scale) * imp[i] * dz[i];
      dc[i] += dz[i];
    }
    for (int q = s; q < e; q++) {
      const float fi = val[q];
      float *restrict row = dG + (int64_t)idx[q] * n;
      for (int i = 0; i < n; i++) row[i] += fi * dz[i];
    }
  }
  return loss;
}

// out[t − t0,:] = off + Σ_q val_q·M[idx_q,:] for tokens t in [t0, t0 + ntok); M is N×h.
EXPORT("toy_project")
void toy_project(int t0, int ntok, const int32_t *restrict ptr, const int32_t *restrict idx, const float *restrict val,
                 int h, const float *restrict M, const float *restrict off, float *restrict out) {
  for (int t = 0; t < ntok; t++) {
    float *restrict o = out + (int64_t)t * h;
    for (int j = 0; j < h; j++) o[j] = off[j];
    for (int q = ptr[t0 + t]; q < ptr[t0 + t + 1]; q++) {
      const float fi = val[q];
      const float *restrict row = M + (int64_t)idx[q] * h;
      for (int j = 0; j < h; j++) o[j] += fi * row[j];
    }
  }
}

// dM[idx_q,:] += val_q·d[t − t0,:] and dsum += d[t − t0,:] for tokens t in [t0, t0 + ntok).
EXPORT("toy_scatter")
void toy_scatter(int t0, int ntok, const int32_t *restrict ptr, const int32_t *restrict idx, const float *restrict val,
                 int h, const float *restrict d, float *restrict dM, float *restrict dsum) {
  for (int t = 0; t < ntok; t++) {
    const float *restrict dt = d + (int64_t)t * h;
    for (int j = 0; j < h; j++) dsum[j] += dt[j];
    for (int q = ptr[t0 + t]; q < ptr[t0 + t + 1]; q++) {
      const float fi = val[q];
      float *restrict row = dM + (int64_t)idx[q] * h;
      for (int j = 0; j < h; j++) row[j] += fi * dt[j];
    }
  }
}

// logits[b·m + j] = q_b · k_{b·m+j}.
EXPORT("toy_logits")
void toy_logits(int B, int m, int h, const float *restrict q, const float *restrict k, float *restrict logits) {
  for (int b = 0; b < B; b++) {
    const float *restrict qb = q + (int64_t)b * h;
    for (int j = 0; j < m; j++) {
      const float *restrict kj = k + ((int64_t)b * m + j) * h;
      float s = 0;
      for (int x = 0; x < h; x++) s += qb[x] * kj[x];
      logits[b * m + j] = s;
    }
  }
}

// dq_b = Σ_j dl_bj k_bj, dk_bj = dl_bj q_b.
EXPORT("toy_logits_back")
void toy_logits_back(int B, int m, int h, const float *restrict q, const float *restrict k, const float *restrict dl,
                     float *restrict dq, float *restrict dk) {
  for (int b = 0; b < B; b++) {
    const float *restrict qb = q + (int64_t)b * h;
    float *restrict dqb = dq + (int64_t)b * h;
    for (int x = 0; x < h; x++) dqb[x] = 0;
    for (int j = 0; j < m; j++) {
      const float g = dl[b * m + j];
      const float *restrict kj = k + ((int64_t)b * m + j) * h;
      float *restrict dkj = dk + ((int64_t)b * m + j) * h;
      for (int x = 0; x < h; x++) {
        dqb[x] += g * kj[x];
        dkj[x] = g * qb[x];
      }
    }
  }
}
