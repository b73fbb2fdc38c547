#pragma once
// Four packet operations Eigen 3.4 lacks or approximates, for each instruction set it vectorises:
// a correctly rounded square root (with EIGEN_FAST_MATH, Eigen's default, its psqrt is a
// reciprocal-square-root estimate plus Newton steps on AVX and AVX-512, 1-2 bits short and
// flushing denormals to zero), 2^k read from a double holding k + 1.5·2^52 + 1023, the sums of
// eight packets at once, and loads and stores of a packet's first lanes only (masked on AVX-512).
// Any other packet type takes a portable path with the same results.
#include <cmath>

#include <pgrad/core/types.hpp>

namespace pgrad::packet {

/// √x, correctly rounded (IEEE sqrt) in every lane.
template <class Packet>
EIGEN_STRONG_INLINE Packet exact_sqrt(const Packet& x) {
  using Scalar = typename Eigen::internal::unpacket_traits<Packet>::type;
  constexpr int size = Eigen::internal::unpacket_traits<Packet>::size;
  Scalar lanes[size];
  Eigen::internal::pstoreu(lanes, x);
  for (Scalar& lane : lanes) lane = std::sqrt(lane);
  return Eigen::internal::ploadu<Packet>(lanes);
}
#if defined(EIGEN_VECTORIZE_AVX512)
EIGEN_STRONG_INLINE Eigen::internal::Packet16f exact_sqrt(const Eigen::internal::Packet16f& x) {
  return _mm512_sqrt_ps(x);
}
EIGEN_STRONG_INLINE Eigen::internal::Packet8d exact_sqrt(const Eigen::internal::Packet8d& x) {
  return _mm512_sqrt_pd(x);
}
#endif
#if defined(EIGEN_VECTORIZE_AVX)
EIGEN_STRONG_INLINE Eigen::internal::Packet8f exact_sqrt(const Eigen::internal::Packet8f& x) {
  return _mm256_sqrt_ps(x);
}
EIGEN_STRONG_INLINE Eigen::internal::Packet4d exact_sqrt(const Eigen::internal::Packet4d& x) {
  return _mm256_sqrt_pd(x);
}
#endif
#if defined(EIGEN_VECTORIZE_SSE2)
EIGEN_STRONG_INLINE Eigen::internal::Packet4f exact_sqrt(const Eigen::internal::Packet4f& x) { return _mm_sqrt_ps(x); }
EIGEN_STRONG_INLINE Eigen::internal::Packet2d exact_sqrt(const Eigen::internal::Packet2d& x) { return _mm_sqrt_pd(x); }
#endif
#if defined(EIGEN_VECTORIZE_NEON) && EIGEN_ARCH_ARM64
EIGEN_STRONG_INLINE Eigen::internal::Packet4f exact_sqrt(const Eigen::internal::Packet4f& x) { return vsqrtq_f32(x); }
EIGEN_STRONG_INLINE Eigen::internal::Packet2d exact_sqrt(const Eigen::internal::Packet2d& x) { return vsqrtq_f64(x); }
#endif

/// 2^k for a packet of doubles m = k + 1.5·2^52 + 1023 with k an integer in [-1022, 1023] (adding
/// 1.5·2^52 + 1023 to a real number rounds it to such a k): the low 12 bits of m's bit pattern hold
/// k + 1023, shifted left by 52 they are the exponent field of 2^k. One integer shift where the
/// instruction set has it; elsewhere Eigen's pldexp of k = m - (1.5·2^52 + 1023).
template <class Packet>
EIGEN_STRONG_INLINE Packet power_of_two_from_shifted(const Packet& m) {
  namespace ei = Eigen::internal;
  return ei::pldexp(ei::pset1<Packet>(1.0), ei::psub(m, ei::pset1<Packet>(6755399441055744.0 + 1023.0)));
}
#if defined(EIGEN_VECTORIZE_AVX512)
EIGEN_STRONG_INLINE Eigen::internal::Packet8d power_of_two_from_shifted(const Eigen::internal::Packet8d& m) {
  return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(m), 52));
}
#endif
#if defined(EIGEN_VECTORIZE_AVX2)
EIGEN_STRONG_INLINE Eigen::internal::Packet4d power_of_two_from_shifted(const Eigen::internal::Packet4d& m) {
  return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(m), 52));
}
#endif
#if defined(EIGEN_VECTORIZE_SSE2)
EIGEN_STRONG_INLINE Eigen::internal::Packet2d power_of_two_from_shifted(const Eigen::internal::Packet2d& m) {
  return _mm_castsi128_pd(_mm_slli_epi64(_mm_castpd_si128(m), 52));
}
#endif
#if defined(EIGEN_VECTORIZE_NEON) && EIGEN_ARCH_ARM64
EIGEN_STRONG_INLINE Eigen::internal::Packet2d power_of_two_from_shifted(const Eigen::internal::Packet2d& m) {
  return vreinterpretq_f64_s64(vshlq_n_s64(vreinterpretq_s64_f64(m), 52));
}
#endif

/// sums[j] = predux(columns[j]) for j < 8, bit for bit: the same additions of the same lanes as
/// Eigen's predux on each packet, done for eight packets together (two columns per register at
/// each halving, then shuffles), about three operations per packet where predux takes seven or
/// eight. The eight sums are arranged in column order in registers and written with one or two
/// vector stores (eight scalar copies through a stack array, with store_row's scalar copies after
/// them, took 10-18% of a one-row head's forward). Where predux's order is not reproduced here
/// (AVX-512 without DQ, NEON) it is predux.
template <class Packet, class Scalar>
EIGEN_STRONG_INLINE void predux_eight(const Packet* columns, Scalar* sums) {
  for (int j = 0; j < 8; ++j) sums[j] = Eigen::internal::predux(columns[j]);
}
#if defined(EIGEN_VECTORIZE_AVX512DQ)
// predux<Packet16f>: lanes e + e+8, then e + e+4, then e + e+2, then 0 + 1.
EIGEN_STRONG_INLINE void predux_eight(const Eigen::internal::Packet16f* a, float* sums) {
  __m512 halves[4];  // columns 2p and 2p+1: lanes e + e+8, eight each
  for (int p = 0; p < 4; ++p)
    halves[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  __m512 quarters[2];  // 128-bit lane c of quarters[q]: column 4q + c, lanes e + e+4
  for (int q = 0; q < 2; ++q)
    quarters[q] = _mm512_add_ps(_mm512_shuffle_f32x4(halves[2 * q], halves[2 * q + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                _mm512_shuffle_f32x4(halves[2 * q], halves[2 * q + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  // 128-bit lane c: column c (elements 0-1) and 4 + c (2-3), lanes e + e+2
  const __m512 pairs = _mm512_add_ps(_mm512_shuffle_ps(quarters[0], quarters[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                     _mm512_shuffle_ps(quarters[0], quarters[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 totals = _mm512_add_ps(_mm512_shuffle_ps(pairs, pairs, _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_ps(pairs, pairs, _MM_SHUFFLE(3, 1, 3, 1)));
  // 128-bit lane c: columns c, 4 + c, c, 4 + c
  const __m512i column_lanes = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm256_storeu_ps(sums, _mm512_castps512_ps256(_mm512_permutexvar_ps(column_lanes, totals)));
}
// predux<Packet8d>: lanes e + e+4, then (0 + 1) + (2 + 3).
EIGEN_STRONG_INLINE void predux_eight(const Eigen::internal::Packet8d* a, double* sums) {
  __m512d halves[4];  // columns 2p and 2p+1: lanes e + e+4, four each
  for (int p = 0; p < 4; ++p)
    halves[p] = _mm512_add_pd(_mm512_shuffle_f64x2(a[2 * p], a[2 * p + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_f64x2(a[2 * p], a[2 * p + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // lanes 0 + 1 (128-bit lane 0 of pairs[q]) and 2 + 3 (lane 1) of columns 4q and 4q + 2, then
  // the same of columns 4q + 1 and 4q + 3 (lanes 2 and 3)
  __m512d pairs[2];
  for (int q = 0; q < 2; ++q)
    pairs[q] = _mm512_add_pd(_mm512_shuffle_pd(halves[2 * q], halves[2 * q + 1], 0x00),
                             _mm512_shuffle_pd(halves[2 * q], halves[2 * q + 1], 0xFF));
  // columns 0, 2, 1, 3, 4, 6, 5, 7
  const __m512d totals = _mm512_add_pd(_mm512_shuffle_f64x2(pairs[0], pairs[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_f64x2(pairs[0], pairs[1], _MM_SHUFFLE(3, 1, 3, 1)));
  _mm512_storeu_pd(sums, _mm512_permutexvar_pd(_mm512_setr_epi64(0, 2, 1, 3, 4, 6, 5, 7), totals));
}
#endif
#if defined(EIGEN_VECTORIZE_AVX)
// predux<Packet8f>: lanes e + e+4, then e + e+2, then 0 + 1.
EIGEN_STRONG_INLINE void predux_eight(const Eigen::internal::Packet8f* a, float* sums) {
  __m256 halves[4];  // columns p (128-bit lane 0) and p + 4 (lane 1): lanes e + e+4, four each
  for (int p = 0; p < 4; ++p)
    halves[p] = _mm256_add_ps(_mm256_permute2f128_ps(a[p], a[p + 4], 0x20),
                              _mm256_permute2f128_ps(a[p], a[p + 4], 0x31));
  __m256 pairs[2];  // 128-bit lane h of pairs[q]: columns 4h + 2q (elements 0-1) and 4h + 2q + 1 (2-3)
  for (int q = 0; q < 2; ++q)
    pairs[q] = _mm256_add_ps(_mm256_shuffle_ps(halves[2 * q], halves[2 * q + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm256_shuffle_ps(halves[2 * q], halves[2 * q + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // 128-bit lane h: columns 4h .. 4h + 3, elements 0 + 1
  _mm256_storeu_ps(sums, _mm256_add_ps(_mm256_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm256_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(3, 1, 3, 1))));
}
// predux<Packet4d>: lanes e + e+2, then 0 + 1.
EIGEN_STRONG_INLINE void predux_eight(const Eigen::internal::Packet4d* a, double* sums) {
  for (int q = 0; q < 2; ++q) {  // columns 4q .. 4q + 3
    // columns 4q (128-bit lane 0) and 4q + 2 (lane 1), then 4q + 1 and 4q + 3: lanes e + e+2
    const __m256d even = _mm256_add_pd(_mm256_permute2f128_pd(a[4 * q], a[4 * q + 2], 0x20),
                                       _mm256_permute2f128_pd(a[4 * q], a[4 * q + 2], 0x31));
    const __m256d odd = _mm256_add_pd(_mm256_permute2f128_pd(a[4 * q + 1], a[4 * q + 3], 0x20),
                                      _mm256_permute2f128_pd(a[4 * q + 1], a[4 * q + 3], 0x31));
    _mm256_storeu_pd(sums + 4 * q, _mm256_add_pd(_mm256_unpacklo_pd(even, odd), _mm256_unpackhi_pd(even, odd)));
  }
}
#endif
#if defined(EIGEN_VECTORIZE_SSE2)
// predux<Packet4f>: lanes e + e+2, then 0 + 1.
EIGEN_STRONG_INLINE void predux_eight(const Eigen::internal::Packet4f* a, float* sums) {
  for (int q = 0; q < 2; ++q) {  // columns 4q .. 4q + 3
    const __m128 first = _mm_add_ps(_mm_shuffle_ps(a[4 * q], a[4 * q + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm_shuffle_ps(a[4 * q], a[4 * q + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m128 second = _mm_add_ps(_mm_shuffle_ps(a[4 * q + 2], a[4 * q + 3], _MM_SHUFFLE(1, 0, 1, 0)),
                                     _mm_shuffle_ps(a[4 * q + 2], a[4 * q + 3], _MM_SHUFFLE(3, 2, 3, 2)));
    _mm_storeu_ps(sums + 4 * q, _mm_add_ps(_mm_shuffle_ps(first, second, _MM_SHUFFLE(2, 0, 2, 0)),
                                           _mm_shuffle_ps(first, second, _MM_SHUFFLE(3, 1, 3, 1))));
  }
}
// predux<Packet2d>: 0 + 1.
EIGEN_STRONG_INLINE void predux_eight(const Eigen::internal::Packet2d* a, double* sums) {
  for (int j = 0; j < 8; j += 2)
    _mm_storeu_pd(sums + j, _mm_add_pd(_mm_unpacklo_pd(a[j], a[j + 1]), _mm_unpackhi_pd(a[j], a[j + 1])));
}
#endif

/// Whether load_first and store_first on Scalar's full packet (packet_traits<Scalar>::type) are
/// defined on this build: one masked instruction each (AVX-512). Elsewhere they are declared only;
/// callers test this with `if constexpr` first.
template <class Scalar>
constexpr bool has_masked_lanes = false;

/// The first `count` lanes (1 <= count <= the packet size) of a packet read from `from`, the
/// others zero; reads nothing past from[count - 1].
template <class Packet>
Packet load_first(const typename Eigen::internal::unpacket_traits<Packet>::type* from, Index count);

/// Writes the first `count` lanes (1 <= count <= the packet size) of x to `to`, nothing past
/// to[count - 1].
template <class Packet>
void store_first(typename Eigen::internal::unpacket_traits<Packet>::type* to, const Packet& x, Index count);
#if defined(EIGEN_VECTORIZE_AVX512)
template <>
constexpr bool has_masked_lanes<float> = true;
template <>
constexpr bool has_masked_lanes<double> = true;
template <>
EIGEN_STRONG_INLINE Eigen::internal::Packet16f load_first<Eigen::internal::Packet16f>(const float* from, Index count) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), from);
}
template <>
EIGEN_STRONG_INLINE Eigen::internal::Packet8d load_first<Eigen::internal::Packet8d>(const double* from, Index count) {
  return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1), from);
}
template <>
EIGEN_STRONG_INLINE void store_first<Eigen::internal::Packet16f>(float* to, const Eigen::internal::Packet16f& x,
                                                                 Index count) {
  _mm512_mask_storeu_ps(to, static_cast<__mmask16>((1u << count) - 1), x);
}
template <>
EIGEN_STRONG_INLINE void store_first<Eigen::internal::Packet8d>(double* to, const Eigen::internal::Packet8d& x,
                                                                Index count) {
  _mm512_mask_storeu_pd(to, static_cast<__mmask8>((1u << count) - 1), x);
}
#endif

}  // namespace pgrad::packet
