#pragma once
// pgrad::log_gamma, pgrad::digamma, pgrad::trigamma, and the numerically stable softplus, sigmoid and
// log(1 - tanh²) used by the bounded action distributions.
#include <cmath>

#include <pgrad/core/error.hpp>

namespace pgrad {

/// log Γ(x) for x > 0, in double (absolute error ~1e-15 for x ≥ 1): our own, so results are the
/// same with every C library (std::lgamma's differ, and glibc's writes the global signgam).
///
/// Below x = 10 the recurrence log Γ(x) = log Γ(x + n) − log(x (x+1) ... (x+n−1)); from x ≥ 10
/// Stirling's series (Abramowitz & Stegun 6.1.41)
///
///     log Γ(x) ≈ (x − 1/2) log x − x + log(2π)/2 + Σ_{k=1..7} B_2k / (2k (2k−1) x^(2k−1))
///              = ... + 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷) + 1/(1188x⁹)
///                − 691/(360360x¹¹) + 1/(156x¹³).
///
/// Throws pgrad::Error for x ≤ 0 or NaN.
inline double log_gamma(double x) {
  PGRAD_REQUIRE(x > 0, "log_gamma: argument ", x, " is not positive");
  double product = 1;
  while (x < 10) {
    product *= x;
    x += 1;
  }
  const double r = 1 / x, r2 = r * r;
  const double series =
      r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188 - r2 * (691.0 / 360360 - r2 * (1.0 / 156)))))));
  return (x - 0.5) * std::log(x) - x + 0.91893853320467274178032973640562 + series - std::log(product);
}

/// The digamma function ψ(x) = d/dx log Γ(x) for x > 0, in double (relative error ~1e-15).
///
/// Below x = 10 the recurrence ψ(x) = ψ(x + 1) − 1/x moves the argument up; from x ≥ 10 the
/// asymptotic series (Abramowitz & Stegun 6.3.18)
///
///     ψ(x) ≈ ln x − 1/(2x) − Σ_{k=1..7} B_2k / (2k x^2k)
///          = ln x − 1/(2x) − 1/(12x²) + 1/(120x⁴) − 1/(252x⁶) + 1/(240x⁸) − 1/(132x¹⁰)
///            + 691/(32760x¹²) − 1/(12x¹⁴)
///
/// whose first omitted term is below 1e-16 at x = 10. Cost: at most ten divisions and one log.
/// Throws pgrad::Error for x ≤ 0 or NaN (ψ has poles at 0, −1, −2, ... and pgrad never needs it
/// there).
inline double digamma(double x) {
  PGRAD_REQUIRE(x > 0, "digamma: argument ", x, " is not positive");  // also refuses NaN
  double shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const double r = 1 / x, r2 = r * r;
  const double series =
      r2 * (1.0 / 12 -
            r2 * (1.0 / 120 -
                  r2 * (1.0 / 252 - r2 * (1.0 / 240 - r2 * (1.0 / 132 - r2 * (691.0 / 32760 - r2 * (1.0 / 12)))))));
  return shift + std::log(x) - 0.5 * r - series;
}

/// The trigamma function ψ'(x) = d²/dx² log Γ(x) for x > 0, in double (relative error ~1e-15).
///
/// Below x = 10 the recurrence ψ'(x) = ψ'(x + 1) + 1/x²; from x ≥ 10 the asymptotic series
/// (Abramowitz & Stegun 6.4.12)
///
///     ψ'(x) ≈ 1/x + 1/(2x²) + Σ_{k=1..7} B_2k / x^(2k+1)
///           = 1/x + 1/(2x²) + 1/(6x³) − 1/(30x⁵) + 1/(42x⁷) − 1/(30x⁹) + 5/(66x¹¹)
///             − 691/(2730x¹³) + 7/(6x¹⁵).
///
/// Throws pgrad::Error for x ≤ 0 or NaN.
inline double trigamma(double x) {
  PGRAD_REQUIRE(x > 0, "trigamma: argument ", x, " is not positive");
  double shift = 0;
  while (x < 10) {
    shift += 1 / (x * x);
    x += 1;
  }
  const double r = 1 / x, r2 = r * r;
  const double series =
      r * r2 * (1.0 / 6 - r2 * (1.0 / 30 - r2 * (1.0 / 42 - r2 * (1.0 / 30 - r2 * (5.0 / 66 - r2 * (691.0 / 2730 - r2 * (7.0 / 6)))))));
  return shift + r + 0.5 * r2 + series;
}

/// softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|): exact to rounding for every finite x
/// (no overflow for large x, no loss for very negative x).
template <class S>
inline S softplus(S x) {
  using std::abs;
  using std::exp;
  using std::log1p;
  return (x > S(0) ? x : S(0)) + log1p(exp(-abs(x)));
}

/// sigmoid(x) = 1 / (1 + e^−x) = d softplus / dx, without overflow for either sign.
template <class S>
inline S sigmoid(S x) {
  using std::exp;
  if (x >= S(0)) return S(1) / (S(1) + exp(-x));
  const S e = exp(x);
  return e / (S(1) + e);
}

/// log(1 − tanh²(u)) = log sech²(u) = 2 (log 2 − u − softplus(−2u)), finite for every finite u
/// (about −2|u| + 2 log 2 for large |u|, where 1 − tanh²(u) itself rounds to 0). Its derivative
/// is −2 tanh(u).
template <class S>
inline S log_one_minus_tanh_squared(S u) {
  return S(2) * (S(0.69314718055994530941723212145818) - u - softplus(S(-2) * u));
}

}  // namespace pgrad
