// Vectorised arithmetic over rows of floats for the shim's softmax-like kernels (attention, cross entropy): libm's
// scalar expf alone would cost as much as the GEMMs around them. GCC vector extensions (8 floats) compiled twice, for
// AVX2 and for the x86-64 baseline, picked once at load time (target_clones); float64 versions are plain loops.
// Everything here is internal to the translation unit that includes it.
#pragma once

#include <cmath>
#include <cstdint>

#pragma GCC diagnostic ignored "-Wpsabi"  // the vectors never cross a function boundary that is not inlined

namespace {

typedef float float8 __attribute__((vector_size(32)));
typedef int32_t int8x __attribute__((vector_size(32)));

/// exp(x) for x ≤ 88.7 within about 2 ulp (Cephes' polynomial on x − n·ln 2, times 2ⁿ); below −87.3 it gives the
/// smallest normal float instead of a denormal or 0, which is negligible next to a softmax row's sum of at least 1.
__attribute__((always_inline)) inline float8 exp8(float8 x) {
  const float8 low = {-87.3365447f, -87.3365447f, -87.3365447f, -87.3365447f,
                      -87.3365447f, -87.3365447f, -87.3365447f, -87.3365447f};
  x = x < low ? low : x;
  const float8 scaled = x * 1.44269504088896341f + 0.5f;
  int8x n = __builtin_convertvector(scaled, int8x);
  n += (__builtin_convertvector(n, float8) > scaled);  // truncation → floor (the comparison is −1 where true)
  const float8 fn = __builtin_convertvector(n, float8);
  x -= fn * 0.693359375f;
  x -= fn * -2.12194440e-4f;
  float8 y = 1.9875691500e-4f * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * x * x + x + 1.0f;
  const int8x bits = (n + 127) << 23;
  return y * (float8)bits;
}

__attribute__((always_inline)) inline float exp1(float x) {
  float8 v = {x, 0, 0, 0, 0, 0, 0, 0};
  return exp8(v)[0];
}

__attribute__((always_inline)) inline float8 load8(const float *p) {
  float8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((always_inline)) inline void store8(float *p, float8 v) { __builtin_memcpy(p, &v, sizeof v); }

/// row[j] = exp(row[j] − shift) for j < count; returns their sum.
__attribute__((target_clones("avx2", "default"), unused)) float exp_shifted(float *row, int64_t count, float shift) {
  float8 sums = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const float8 v = exp8(load8(row + j) - shift);
    store8(row + j, v);
    sums += v;
  }
  float sum = 0;
  for (int lane = 0; lane < 8; ++lane) sum += sums[lane];
  for (; j < count; ++j) sum += row[j] = exp1(row[j] - shift);
  return sum;
}

inline double exp_shifted(double *row, int64_t count, double shift) {
  double sum = 0;
  for (int64_t j = 0; j < count; ++j) sum += row[j] = std::exp(row[j] - shift);
  return sum;
}

/// The largest of row[0 ..< count] (count ≥ 1).
__attribute__((target_clones("avx2", "default"), unused)) float row_max(const float *row, int64_t count) {
  int64_t j = 0;
  float maximum = row[0];
  if (count >= 8) {
    float8 m = load8(row);
    for (j = 8; j + 8 <= count; j += 8) {
      const float8 v = load8(row + j);
      m = v > m ? v : m;
    }
    for (int lane = 0; lane < 8; ++lane) maximum = m[lane] > maximum ? m[lane] : maximum;
  }
  for (; j < count; ++j) maximum = row[j] > maximum ? row[j] : maximum;
  return maximum;
}

inline double row_max(const double *row, int64_t count) {
  double maximum = row[0];
  for (int64_t j = 1; j < count; ++j) maximum = row[j] > maximum ? row[j] : maximum;
  return maximum;
}

/// row[j] *= factor for j < count.
__attribute__((target_clones("avx2", "default"), unused)) void scale_row(float *row, int64_t count, float factor) {
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) store8(row + j, load8(row + j) * factor);
  for (; j < count; ++j) row[j] *= factor;
}

inline void scale_row(double *row, int64_t count, double factor) {
  for (int64_t j = 0; j < count; ++j) row[j] *= factor;
}

}  // namespace
