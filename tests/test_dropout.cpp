// nn::Dropout and Mlp with dropout masks: the masks' values and drop rate, backward and
// forward_tangent against central finite differences with a fixed mask, predict = forward, and
// PyTorch's default nn.Linear initialisation.
#include <catch2/catch.hpp>

#include <cmath>

#include <pgrad/nn/dropout.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>

#include "gradient_check.hpp"

using pgrad::Index;
using pgrad::Matrix;
using pgrad::nn::Activation;
using pgrad::nn::Dropout;
using pgrad::nn::Mlp;
using pgrad_test::numerical_gradient;
using pgrad_test::random_matrix;
using pgrad_test::relative_error;

namespace {


Mlp<double> random_net(const std::vector<Index>& sizes, Activation hidden, pgrad::Rng& rng) {
  Mlp<double> net(sizes, hidden, Activation::identity);
  net.parameters().value = random_matrix(net.parameters().size(), 1, rng) * 0.7;
  return net;
}

}  // namespace

TEST_CASE("Dropout masks hold 0 and 1/(1-p), dropping a fraction p", "[nn][dropout]") {
  pgrad::Rng rng(5);
  Matrix<float> mask;
  for (double p : {0.1, 0.5, 0.8}) {
    INFO("p = " << p);
    const Dropout<float> dropout(p);
    dropout.draw(rng, 100, 1000, mask);
    REQUIRE(mask.rows() == 100);
    REQUIRE(mask.cols() == 1000);
    const double kept = static_cast<double>((mask.array() != 0.0f).count()) / static_cast<double>(mask.size());
    CHECK(std::abs((1 - kept) - p) < 0.01);  // 100k draws: the std of the fraction is <= 0.0016
    CHECK(((mask.array() == 0.0f) || (mask.array() == static_cast<float>(1 / (1 - p)))).all());
    CHECK(mask.mean() == Approx(1.0).epsilon(0.02));  // inverted: the expected scale is 1
  }
  const Dropout<float> none(0.0);
  none.draw(rng, 3, 4, mask);
  CHECK((mask.array() == 1.0f).all());
  CHECK_THROWS_WITH(Dropout<float>(1.0), Catch::Contains("Dropout: p must be in [0, 1)"));
  CHECK_THROWS_WITH(Dropout<float>(-0.1), Catch::Contains("Dropout: p must be in [0, 1)"));
  CHECK_THROWS_WITH(Dropout<float>(std::nan("")), Catch::Contains("Dropout: p must be in [0, 1)"));
}

TEST_CASE("Mlp with fixed dropout masks: backward and forward_tangent match finite differences", "[nn][dropout][gradient]") {
  for (Activation hidden : {Activation::tanh, Activation::relu}) {
    INFO(pgrad::nn::to_string(hidden));
    pgrad::Rng rng(7);
    Mlp<double> net = random_net({3, 6, 5, 2}, hidden, rng);
    const Index batch = 4;
    Matrix<double> masks;
    Dropout<double>(0.5).draw(rng, net.hidden_units(), batch, masks);
    REQUIRE(masks.rows() == 11);
    REQUIRE((masks.array() == 0.0).count() > 0);
    const Matrix<double> x = random_matrix(3, batch, rng), c = random_matrix(2, batch, rng);

    net.zero_grad();
    net.forward(x, &masks);
    const Matrix<double> grad_x = net.backward(c);
    const Eigen::VectorXd grad_params = net.parameters().grad;
    const Eigen::VectorXd theta = net.parameters().value;
    const auto loss = [&](const Eigen::VectorXd& params, const Matrix<double>& input) {
      Mlp<double> copy = net;
      copy.parameters().value = params;
      Matrix<double> y;
      typename Mlp<double>::PredictScratch scratch;
      copy.predict(input, y, scratch, &masks);
      return (c.array() * y.array()).sum();
    };
    const Eigen::VectorXd numeric_params = numerical_gradient([&](const Eigen::VectorXd& p) { return loss(p, x); }, theta);
    const Eigen::VectorXd x_flat = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
    const Eigen::VectorXd numeric_x = numerical_gradient(
        [&](const Eigen::VectorXd& v) { return loss(theta, Eigen::Map<const Matrix<double>>(v.data(), 3, batch)); },
        x_flat);
    CHECK(relative_error(grad_params, numeric_params) <= 1e-7);
    CHECK(relative_error(Eigen::Map<const Eigen::VectorXd>(grad_x.data(), grad_x.size()), numeric_x) <= 1e-7);

    // Without the mask the gradient differs: the check sees the mask.
    net.zero_grad();
    net.forward(x);
    net.backward(c);
    CHECK(relative_error(net.parameters().grad, numeric_params) > 1e-2);

    // J·v with the same masks against central differences of the masked outputs.
    net.forward(x, &masks);
    const Eigen::VectorXd v = random_matrix(theta.size(), 1, rng);
    const Matrix<double> tangent = net.forward_tangent(v);
    const double h = 1e-6;
    Matrix<double> plus, minus;
    typename Mlp<double>::PredictScratch scratch;
    Mlp<double> moved = net;
    moved.parameters().value = theta + h * v;
    moved.predict(x, plus, scratch, &masks);
    moved.parameters().value = theta - h * v;
    moved.predict(x, minus, scratch, &masks);
    CHECK(relative_error(tangent, (plus - minus) / (2 * h)) <= 1e-7);
  }
}

TEST_CASE("predict with masks equals forward with masks; no masks is evaluation mode", "[nn][dropout]") {
  pgrad::Rng rng(8);
  Mlp<double> net = random_net({4, 8, 2}, Activation::relu, rng);
  const Matrix<double> x = random_matrix(4, 5, rng);
  Matrix<double> masks, y;
  Dropout<double>(0.3).draw(rng, net.hidden_units(), 5, masks);
  typename Mlp<double>::PredictScratch scratch;
  net.predict(x, y, scratch, &masks);
  CHECK(y == net.forward(x, &masks));
  net.predict(x, y);
  CHECK(y == net.forward(x));
  // A mask of ones is the evaluation-mode network.
  const Matrix<double> ones = Matrix<double>::Ones(8, 5);
  CHECK(net.forward(x, &ones) == y);
  const Matrix<double> wrong = Matrix<double>::Ones(7, 5);
  CHECK_THROWS_WITH(net.forward(x, &wrong), Catch::Contains("dropout masks are 7x5, expected 8x5"));
}

TEST_CASE("PyTorch's default nn.Linear initialisation: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))", "[nn][init]") {
  pgrad::Rng rng(9);
  Mlp<double> net({4, 128, 2}, Activation::relu, Activation::identity);
  pgrad::nn::init_pytorch_default(net, rng);
  for (Index l = 0; l < net.num_layers(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(net.weight(l).cols()));
    INFO("layer " << l << ", bound " << bound);
    CHECK(net.weight(l).cwiseAbs().maxCoeff() <= bound);
    CHECK(net.bias(l).cwiseAbs().maxCoeff() <= bound);
    CHECK(net.bias(l).cwiseAbs().minCoeff() > 0);  // not zeroed, unlike the other schemes
    // Uniform on (-a, a): variance a²/3; 512 or 256 weights give it within about 10 %.
    const double variance = net.weight(l).array().square().mean();
    CHECK(variance == Approx(bound * bound / 3).epsilon(0.15));
  }
  CHECK(net.weight(0).cwiseAbs().maxCoeff() > 0.45);  // the first layer's bound is 1/2
}
