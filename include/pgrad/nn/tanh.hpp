#pragma once
// tanh in place on a contiguous array of doubles, vectorised. Eigen 3.4 vectorises tanh for float
// only and calls std::tanh per element in double, which made double networks with tanh layers
// 4-19x slower than float (issue 13); this one runs on packets of every instruction set Eigen has.
#include <cmath>
#include <cstring>

#include <pgrad/core/packet_math.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::nn {

namespace tanh_detail {

#ifndef EIGEN_HAS_SINGLE_INSTRUCTION_MADD
/// t = expm1(-2s) = e^(-2s) - 1 on a packet with 0 <= s <= 20 (or NaN), computed in halves to save
/// a multiplication: -2s = k·ln2 + r with k the nearest integer to -2s/ln2 (rounded by adding
/// 1.5·2^52 + 1023) and u = r/2 = -s - k·ln2/2 by Cody and Waite's two-part ln2 (|u| <= ln2/4),
/// expm1(r) = r + r²·P(r) = 2u + u²·Q(u) with Q(u) = 4·P(2u), P a degree-9 polynomial fit (below),
/// then t = 2^k·expm1(r) + (2^k - 1): exact scaling and one rounding. Q's coefficients are P's
/// times powers of two, so every rounding is P's scaled: the same bits as evaluating P at r.
template <class Packet>
EIGEN_STRONG_INLINE Packet expm1_of_minus_twice(const Packet& s) {
  namespace ei = Eigen::internal;
  const Packet shift = ei::pset1<Packet>(6755399441055744.0 + 1023.0);  // 1.5·2^52 + exponent bias
  const Packet m = ei::pmadd(s, ei::pset1<Packet>(-2.0 * 1.4426950408889634074), shift);
  const Packet k = ei::psub(m, shift);
  const Packet u = ei::pmadd(k, ei::pset1<Packet>(-1.90821492927058770002e-10 / 2),
                             ei::pmadd(k, ei::pset1<Packet>(-6.93147180369123816490e-01 / 2),
                                       ei::psub(ei::pset1<Packet>(0.0), s)));
  // P(r) ≈ (expm1(r) - r) / r²: the degree-9 Chebyshev fit on [-ln2/2, ln2/2] (mpmath.chebyfit at
  // 40 digits: |error| < 1.05e-16, below 3.7e-17 relative in expm1 = r + r²·P(r)), highest term
  // first; Q's coefficient of u^n is 4·2^n times P's of r^n.
  static constexpr double coefficients[] = {2.5100375832561234e-08, 2.7620075879983367e-07, 2.7557268480310024e-06,
                                     2.4801521322368692e-05, 0.00019841269863040545, 0.0013888888917196719,
                                     0.008333333333330065,   0.041666666666624164,   0.16666666666666669,
                                     0.5000000000000001};
  constexpr int degree = 9;
  constexpr auto scaled = [](int n) { return coefficients[n] * static_cast<double>(1 << (degree - n + 2)); };
  Packet q = ei::pset1<Packet>(scaled(0));
  for (int n = 1; n <= degree; ++n) q = ei::pmadd(q, u, ei::pset1<Packet>(scaled(n)));
  const Packet expm1_r = ei::pmadd(ei::pmul(u, u), q, ei::padd(u, u));
  const Packet two_to_k = packet::power_of_two_from_shifted(m);
  return ei::pmadd(two_to_k, expm1_r, ei::psub(two_to_k, ei::pset1<Packet>(1.0)));
}
#endif

#ifdef EIGEN_HAS_SINGLE_INSTRUCTION_MADD
/// tanh a for 0 <= a <= 20 (or NaN) on a packet, by the addition formula tanh(a) = (T + t) /
/// (1 + T·t) with a = k·ln2/2 + r, k the nearest integer and |r| <= ln2/4:
/// T = tanh(k·ln2/2) = (E - 1)/(E + 1) with E = 2^k, and t = tanh r = r·P(r²)/Q(r²), the [5/6]
/// Padé approximant (the continued fraction r/(1 + r²/(3 + r²/(5 + ... r²/11))): relative error
/// below 6e-19 for |r| <= ln2/4). Multiplying through by (E + 1)·Q leaves one division:
///   tanh a = ((E - 1)·Q + (E + 1)·r·P) / ((E + 1)·Q + (E - 1)·r·P),
/// which for k = 0 is exactly r·P/Q (E - 1 = 0), so small a keep their relative accuracy. P and
/// Q are scaled by 1.5 (every coefficient stays exact) so their values lie just below 2^14, where
/// a rounding is the smallest relative error. ln2/2 in one part: its rounding error (1.2e-17) times
/// k moves tanh by under 0.2 ulp, as tanh' = 1 - tanh² shrinks faster than k grows. 13
/// multiplications or multiply-adds, 3 additions and a division per packet, where the expm1
/// formula (kept for builds without FMA) takes 15, 6 and a division. Used where pmadd is fused:
/// the formula needs (E - 1)·Q unrounded inside the fused multiply-add, or the sum cancels at
/// k = 1 (4 ulp measured with separate multiplications and additions).
template <class Packet>
EIGEN_STRONG_INLINE Packet tanh_of_magnitude(const Packet& a) {
  namespace ei = Eigen::internal;
  const Packet shift = ei::pset1<Packet>(6755399441055744.0 + 1023.0);  // 1.5·2^52 + exponent bias
  const Packet m = ei::pmadd(a, ei::pset1<Packet>(2.0 * 1.4426950408889634074), shift);
  const Packet k = ei::psub(m, shift);
  const Packet r = ei::pmadd(k, ei::pset1<Packet>(-0.69314718055994530942 / 2), a);
  const Packet z = ei::pmul(r, r);
  // P(z) = 1.5·(21z² + 1260z + 10395), Q(z) = 1.5·(z³ + 210z² + 4725z + 10395).
  const Packet p = ei::pmadd(ei::pmadd(z, ei::pset1<Packet>(31.5), ei::pset1<Packet>(1890.0)), z,
                             ei::pset1<Packet>(15592.5));
  const Packet q = ei::pmadd(
      ei::pmadd(ei::pmadd(z, ei::pset1<Packet>(1.5), ei::pset1<Packet>(315.0)), z, ei::pset1<Packet>(7087.5)), z,
      ei::pset1<Packet>(15592.5));
  const Packet r_p = ei::pmul(r, p);
  const Packet e = packet::power_of_two_from_shifted(m);
  const Packet e_minus_1 = ei::psub(e, ei::pset1<Packet>(1.0));
  const Packet e_plus_1 = ei::padd(e, ei::pset1<Packet>(1.0));
  const Packet numerator = ei::pmadd(e_minus_1, q, ei::pmul(e_plus_1, r_p));
  const Packet denominator = ei::pmadd(e_plus_1, q, ei::pmul(e_minus_1, r_p));
  return ei::pdiv(numerator, denominator);
}
#else
/// tanh a for 0 <= a <= 20 (or NaN) on a packet without fused multiply-add (SSE before FMA):
/// -t / (t + 2) with t = expm1(-2a) (fdlibm's formula for a < 1, and as accurate beyond: t tends
/// to -1 and the quotient to 1).
template <class Packet>
EIGEN_STRONG_INLINE Packet tanh_of_magnitude(const Packet& a) {
  namespace ei = Eigen::internal;
  const Packet t = expm1_of_minus_twice(a);
  // 0 - t rather than pnegate(t): at a = 0, t = +0, and pnegate flips the sign bit on some
  // instruction sets (SSE) but not others; 0 - t is +0 on all, so ±0 keeps its sign.
  return ei::pdiv(ei::psub(ei::pset1<Packet>(0.0), t), ei::padd(t, ei::pset1<Packet>(2.0)));
}
#endif

/// tanh on a packet: tanh|x| with |x| capped at 20 (where tanh rounds to 1), then the sign of x.
/// Within 3 ulp (tests/test_tanh.cpp). NaN stays NaN (the cap propagates it), ±inf gives ±1,
/// -0 gives -0.
template <class Packet>
EIGEN_STRONG_INLINE Packet tanh_packet(const Packet& x) {
  namespace ei = Eigen::internal;
  // pmin(a, b) keeps a when a is NaN (std::min's rule, which Eigen's pmin follows on every
  // instruction set), so NaN stays NaN.
  const Packet magnitude = tanh_of_magnitude(ei::pmin(ei::pabs(x), ei::pset1<Packet>(20.0)));
  return ei::por(magnitude, ei::pand(x, ei::pset1<Packet>(-0.0)));
}

}  // namespace tanh_detail

/// data[i] = tanh(data[i]) for i < n, within 3 ulp of tanh (tested against long double tanh in
/// tests/test_tanh.cpp). Every entry goes through the same packet code (the tail through a padded
/// packet), so an entry's result depends on its value only, never on n or where it sits. Without SIMD (packets of one) it is std::tanh.
inline void tanh_in_place(double* data, Index n) {
  using Packet = typename Eigen::internal::packet_traits<double>::type;
  constexpr Index size = Eigen::internal::packet_traits<double>::size;
  if constexpr (size == 1) {
    for (Index i = 0; i < n; ++i) data[i] = std::tanh(data[i]);
  } else {
    Index i = 0;
    for (; i + size <= n; i += size)
      Eigen::internal::pstoreu(data + i, tanh_detail::tanh_packet(Eigen::internal::ploadu<Packet>(data + i)));
    if (i < n) {
      double tail[size] = {};
      const auto bytes = static_cast<std::size_t>(n - i) * sizeof(double);
      std::memcpy(tail, data + i, bytes);
      Eigen::internal::pstoreu(tail, tanh_detail::tanh_packet(Eigen::internal::ploadu<Packet>(tail)));
      std::memcpy(data + i, tail, bytes);
    }
  }
}

}  // namespace pgrad::nn
