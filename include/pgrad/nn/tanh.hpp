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

/// tanh on a packet: tanh|x| = -t / (t + 2) with t = expm1(-2|x|) (fdlibm's formula for |x| < 1,
/// and as accurate beyond: t tends to -1 and the quotient to 1), |x| capped at 20 where tanh rounds
/// to 1, then the sign of x. NaN stays NaN (the cap propagates it), ±inf gives ±1, -0 gives -0.
template <class Packet>
EIGEN_STRONG_INLINE Packet tanh_packet(const Packet& x) {
  namespace ei = Eigen::internal;
  // pmin(a, b) keeps a when a is NaN (std::min's rule, which Eigen's pmin follows on every
  // instruction set), so NaN stays NaN.
  const Packet t = expm1_of_minus_twice(ei::pmin(ei::pabs(x), ei::pset1<Packet>(20.0)));
  // 0 - t rather than pnegate(t): at x = ±0, t = +0, and pnegate flips the sign bit on some
  // instruction sets (SSE) but not others; 0 - t is +0 on all, so ±0 keeps its sign below.
  const Packet tanh_magnitude = ei::pdiv(ei::psub(ei::pset1<Packet>(0.0), t), ei::padd(t, ei::pset1<Packet>(2.0)));
  return ei::por(tanh_magnitude, ei::pand(x, ei::pset1<Packet>(-0.0)));
}

}  // namespace tanh_detail

/// data[i] = tanh(data[i]) for i < n, within 2 ulp of the correctly rounded tanh (tested against
/// std::tanh in tests/test_activation.cpp). Every entry goes through the same packet code (the tail
/// through a padded packet), so an entry's result depends on its value only, never on n or where
/// it sits. Without SIMD (packets of one) it is std::tanh.
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
