// nn::tanh_in_place (double): within 3 ulp of tanh computed in long double over every magnitude,
// the special values, results independent of an entry's position, and an Mlp<double> tanh layer
// equal to the product followed by std::tanh to within that accuracy.
#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/nn/tanh.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using pgrad::Index;

namespace {

// |got - exact| in units of the last place of the double nearest to exact.
double ulp_error(double got, long double exact) {
  const double nearest = static_cast<double>(exact);
  const double ulp = std::nextafter(std::abs(nearest), std::numeric_limits<double>::infinity()) - std::abs(nearest);
  return static_cast<double>(std::abs(static_cast<long double>(got) - exact) / static_cast<long double>(ulp));
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

std::vector<double> test_inputs() {
  pgrad::Rng rng(7);
  std::vector<double> x;
  for (int i = 0; i < 200000; ++i) {  // |x| from 2^-40 to 2^5, log-uniform, both signs
    const double magnitude = std::exp2(-40.0 + 45.0 * rng.uniform<double>()) * (1.0 + rng.uniform<double>());
    x.push_back(i % 2 == 0 ? magnitude : -magnitude);
  }
  for (int i = 0; i < 100000; ++i) x.push_back(-25.0 + 50.0 * rng.uniform<double>());
  for (double edge : {0.5493061443340548, 1.0, 0.625, 0.34657359027997264, 19.06, 20.0, 22.0})
    for (double step : {-1e-15, 0.0, 1e-15}) x.push_back(edge + step);
  return x;
}

}  // namespace

TEST_CASE("tanh_in_place is within 3 ulp of tanh over every magnitude", "[tanh]") {
  const std::vector<double> x = test_inputs();
  std::vector<double> y = x;
  pgrad::nn::tanh_in_place(y.data(), static_cast<Index>(y.size()));
  double worst = 0, worst_at = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double error = ulp_error(y[i], std::tanh(static_cast<long double>(x[i])));
    if (error > worst) worst = error, worst_at = x[i];
  }
  INFO("largest error " << worst << " ulp at x = " << worst_at);
  CHECK(worst <= 3.0);
}

TEST_CASE("tanh_in_place keeps zeros' signs, saturates, and propagates NaN", "[tanh]") {
  const double inf = std::numeric_limits<double>::infinity();
  const double denormal = std::numeric_limits<double>::denorm_min();
  std::vector<double> v = {0.0, -0.0, inf, -inf, 30.0, -1e300, denormal, -denormal, 1e-300,
                           std::numeric_limits<double>::quiet_NaN()};
  pgrad::nn::tanh_in_place(v.data(), static_cast<Index>(v.size()));
  CHECK(same_bits(v[0], 0.0));
  CHECK(same_bits(v[1], -0.0));
  CHECK(v[2] == 1.0);
  CHECK(v[3] == -1.0);
  CHECK(v[4] == 1.0);
  CHECK(v[5] == -1.0);
  CHECK(v[6] == denormal);  // tanh x = x below 2^-27
  CHECK(v[7] == -denormal);
  CHECK(v[8] == 1e-300);
  CHECK(std::isnan(v[9]));
}

TEST_CASE("tanh_in_place gives an entry the same bits wherever it sits", "[tanh]") {
  // Whole packets and the padded tail go through the same code: every prefix length and offset.
  const std::vector<double> x = {0.1, -2.5, 0.003, 7.0, -0.7, 1e-9, 3.3, -12.0, 0.45, -0.01, 5.5};
  std::vector<double> reference = x;
  pgrad::nn::tanh_in_place(reference.data(), static_cast<Index>(reference.size()));
  for (std::size_t offset = 0; offset < x.size(); ++offset)
    for (std::size_t length = 1; offset + length <= x.size(); ++length) {
      std::vector<double> part(x.begin() + static_cast<long>(offset), x.begin() + static_cast<long>(offset + length));
      pgrad::nn::tanh_in_place(part.data(), static_cast<Index>(length));
      for (std::size_t i = 0; i < length; ++i) CHECK(same_bits(part[i], reference[offset + i]));
    }
}

TEST_CASE("An Mlp<double> tanh layer is the product followed by tanh", "[tanh][mlp]") {
  pgrad::Rng rng(3);
  pgrad::nn::Mlp<double> net({5, 13, 2}, pgrad::nn::Activation::tanh, pgrad::nn::Activation::identity);
  for (Index i = 0; i < net.parameters().size(); ++i) net.parameters().value[i] = rng.normal<double>();
  pgrad::Matrix<double> x(5, 7);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = 2.0 * rng.normal<double>();
  const pgrad::Matrix<double>& y = net.forward(x);
  const pgrad::Matrix<double> hidden =
      ((net.weight(0) * x).colwise() + net.bias(0)).unaryExpr([](double z) { return std::tanh(z); });
  const pgrad::Matrix<double> expected = (net.weight(1) * hidden).colwise() + net.bias(1);
  CHECK((y - expected).cwiseAbs().maxCoeff() <= 1e-13 * (1.0 + expected.cwiseAbs().maxCoeff()));
}
