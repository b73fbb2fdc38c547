#pragma once
// Two packet operations Eigen 3.4 lacks or approximates, for each instruction set it vectorises:
// a correctly rounded square root (with EIGEN_FAST_MATH, Eigen's default, its psqrt is a
// reciprocal-square-root estimate plus Newton steps on AVX and AVX-512, 1-2 bits short and
// flushing denormals to zero) and 2^k read from a double holding k + 1.5·2^52 + 1023.
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

}  // namespace pgrad::packet
