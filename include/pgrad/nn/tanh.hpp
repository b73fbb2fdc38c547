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

/// expm1(y) = e^y - 1 on a packet of doubles with -40 <= y <= 0 (or NaN): y = k·ln2 + r with k the
/// nearest integer to y/ln2 (rounded by adding 1.5·2^52) and |r| <= ln2/2 (Cody and Waite's
/// two-part ln2), expm1(r) by its Taylor series to r^13 (truncation below 2^-56 relative), then
/// expm1(y) = 2^k·expm1(r) + (2^k - 1): exact scaling and one rounding.
template <class Packet>
EIGEN_STRONG_INLINE Packet expm1_nonpositive(const Packet& y) {
  namespace ei = Eigen::internal;
  const Packet shift = ei::pset1<Packet>(6755399441055744.0 + 1023.0);  // 1.5·2^52 + exponent bias
  const Packet m = ei::pmadd(y, ei::pset1<Packet>(1.4426950408889634074), shift);
  const Packet k = ei::psub(m, shift);
  const Packet r = ei::pmadd(k, ei::pset1<Packet>(-1.90821492927058770002e-10),
                             ei::pmadd(k, ei::pset1<Packet>(-6.93147180369123816490e-01), y));
  // Σ_{n=2}^{13} r^(n-2) / n!, Horner from the highest term.
  constexpr double inverse_factorials[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
                                           1.0 / 3628800.0,    1.0 / 362880.0,    1.0 / 40320.0,
                                           1.0 / 5040.0,       1.0 / 720.0,       1.0 / 120.0,
                                           1.0 / 24.0,         1.0 / 6.0,         1.0 / 2.0};
  Packet p = ei::pset1<Packet>(inverse_factorials[0]);
  for (int n = 1; n < 12; ++n) p = ei::pmadd(p, r, ei::pset1<Packet>(inverse_factorials[n]));
  const Packet expm1_r = ei::pmadd(ei::pmul(r, r), p, r);
  const Packet two_to_k = packet::power_of_two_from_shifted(m);
  return ei::pmadd(two_to_k, expm1_r, ei::psub(two_to_k, ei::pset1<Packet>(1.0)));
}

/// tanh on a packet: tanh|x| = -t / (t + 2) with t = expm1(-2|x|) (fdlibm's formula for |x| < 1,
/// and as accurate beyond: t tends to -1 and the quotient to 1), |x| capped at 20 where tanh rounds
/// to 1, then the sign of x. NaN stays NaN (the cap propagates it), ±inf gives ±1, -0 gives -0.
template <class Packet>
EIGEN_STRONG_INLINE Packet tanh_packet(const Packet& x) {
  namespace ei = Eigen::internal;
  const Packet magnitude = ei::pmin<Eigen::PropagateNaN>(ei::pabs(x), ei::pset1<Packet>(20.0));
  const Packet t = expm1_nonpositive(ei::pmul(ei::pset1<Packet>(-2.0), magnitude));
  const Packet tanh_magnitude = ei::pdiv(ei::pnegate(t), ei::padd(t, ei::pset1<Packet>(2.0)));
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
