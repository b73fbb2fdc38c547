// log_gamma, digamma, trigamma against known closed forms and high-precision values (mpmath,
// 30 digits), and the stable softplus, sigmoid and log(1 - tanh²).
#include <catch2/catch.hpp>

#include <pgrad/core/special_functions.hpp>

#include <cmath>
#include <limits>

using Catch::Matchers::Contains;

namespace {
const double kPi = std::acos(-1.0);
const double kEulerGamma = 0.57721566490153286060651209008240;

// |got - expected| <= 1e-12 |expected| (or 1e-12 absolute near zero).
bool close(double got, double expected, double tolerance = 1e-12) {
  return std::abs(got - expected) <= tolerance * std::max(1.0, std::abs(expected));
}
}  // namespace

TEST_CASE("digamma and trigamma match their closed forms at 1 and 1/2", "[special_functions]") {
  CHECK(close(pgrad::digamma(1.0), -kEulerGamma));
  CHECK(close(pgrad::digamma(0.5), -kEulerGamma - 2 * std::log(2.0)));
  CHECK(close(pgrad::digamma(2.0), 1 - kEulerGamma));  // ψ(x + 1) = ψ(x) + 1/x
  CHECK(close(pgrad::trigamma(1.0), kPi * kPi / 6));
  CHECK(close(pgrad::trigamma(0.5), kPi * kPi / 2));
  CHECK(close(pgrad::trigamma(2.0), kPi * kPi / 6 - 1));
}

TEST_CASE("digamma and trigamma match high-precision values across the range", "[special_functions]") {
  // Both sides of the switch from the recurrence to the asymptotic series at 10.
  struct Case {
    double x, digamma, trigamma;
  };
  const Case cases[] = {
      {0.001, -1000.5755719318103005, 1000001.642533195869},
      {0.1, -10.423754940411076795, 101.43329915079275882},
      {2.5, 0.70315664064524318723, 0.49035775610023486497},
      {3.7, 1.1671535393615113859, 0.3100378576700383191},
      {9.99, 2.2507003728312010995, 0.10527695014824178675},
      {10, 2.2517525890667211076, 0.10516633568168574612},
      {12.5, 2.4851956512749120482, 0.083285224601578370444},
      {100, 4.6001618527380874002, 0.010050166663333571395},
      {1e6, 13.815510057964190771, 1.0000005000001666667e-6},
  };
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CHECK(close(pgrad::digamma(c.x), c.digamma));
    CHECK(std::abs(pgrad::trigamma(c.x) - c.trigamma) <= 1e-12 * c.trigamma);
  }
}

TEST_CASE("log_gamma matches known values across the range", "[special_functions]") {
  CHECK(close(pgrad::log_gamma(0.5), 0.5 * std::log(kPi)));
  CHECK(std::abs(pgrad::log_gamma(1.0)) <= 1e-14);
  CHECK(std::abs(pgrad::log_gamma(2.0)) <= 1e-14);
  CHECK(close(pgrad::log_gamma(5.0), std::log(24.0)));
  const double values[][2] = {{0.001, 6.9071788853838536825}, {2.5, 0.28468287047291915963},
                              {9.5, 11.689333420797268483},   {10, 12.801827480081469611},
                              {33.3, 82.603723581654952928},  {1000, 5905.2204232091812118}};
  for (const auto& v : values) {
    CAPTURE(v[0]);
    CHECK(close(pgrad::log_gamma(v[0]), v[1]));
  }
}

TEST_CASE("special functions refuse arguments outside their domain", "[special_functions]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(pgrad::digamma(0.0), Contains("digamma: argument 0 is not positive"));
  CHECK_THROWS_WITH(pgrad::digamma(-1.5), Contains("not positive"));
  CHECK_THROWS_WITH(pgrad::trigamma(nan), Contains("trigamma: argument nan"));
  CHECK_THROWS_WITH(pgrad::log_gamma(-2.0), Contains("log_gamma: argument -2 is not positive"));
}

TEST_CASE("softplus, sigmoid and log(1 - tanh^2) are finite and accurate for every sign", "[special_functions]") {
  for (const double x : {-800.0, -40.0, -3.0, -1e-3, 0.0, 2e-8, 0.7, 5.0, 40.0, 800.0}) {
    CAPTURE(x);
    const double expected_softplus = x > 30 ? x + std::exp(-x) : std::log1p(std::exp(x));
    CHECK(close(pgrad::softplus(x), expected_softplus, 1e-15));
    const double expected_sigmoid = x < -700 ? std::exp(x) : 1 / (1 + std::exp(-x));
    CHECK(close(pgrad::sigmoid(x), expected_sigmoid, 1e-15));
  }
  // log(1 - tanh²u) against the direct formula where that is accurate, and -2|u| + 2 log 2 far out.
  for (const double u : {-3.0, -0.5, 0.0, 0.25, 2.0}) {
    const double t = std::tanh(u);
    CHECK(close(pgrad::log_one_minus_tanh_squared(u), std::log(1 - t * t), 1e-13));
  }
  CHECK(close(pgrad::log_one_minus_tanh_squared(20.0), -40 + 2 * std::log(2.0), 1e-15));
  CHECK(close(pgrad::log_one_minus_tanh_squared(-20.0), -40 + 2 * std::log(2.0), 1e-15));
  CHECK(std::isfinite(pgrad::log_one_minus_tanh_squared(20.0f)));
  CHECK(pgrad::log_one_minus_tanh_squared(-20.0f) == Approx(-40 + 2 * std::log(2.0)).epsilon(1e-6));
}
