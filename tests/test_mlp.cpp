// Dense, activations and Mlp: backward against central finite differences (double), shapes, errors.
#include <catch2/catch.hpp>

#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>

#include "gradient_check.hpp"

using pgrad::Index;
using pgrad::Matrix;
using pgrad::nn::Activation;
using pgrad::nn::Mlp;
using pgrad_test::numerical_gradient;
using pgrad_test::random_matrix;
using pgrad_test::relative_error;

namespace {


// L = Σ C ⊙ net(X): dL/dY = C, so backward(C) must give dL/dθ and dL/dX.
void check_mlp_gradients(std::vector<Index> sizes, Activation hidden, Activation output, Index batch) {
  pgrad::Rng rng(1000 + static_cast<std::uint64_t>(batch));
  Mlp<double> net(sizes, hidden, output);
  pgrad::nn::init_orthogonal(net, rng, 1.0, 1.0);
  // Non-zero biases so the bias gradients and ReLU kinks are exercised.
  for (Index l = 0; l < net.num_layers(); ++l)
    for (Index i = 0; i < net.bias(l).size(); ++i) net.bias(l)[i] = 0.3 * rng.normal<double>();
  const Matrix<double> x = random_matrix(sizes.front(), batch, rng);
  const Matrix<double> c = random_matrix(sizes.back(), batch, rng);

  net.zero_grad();
  net.forward(x);
  const Matrix<double> grad_x = net.backward(c);
  const Eigen::VectorXd grad_params = net.parameters().grad;

  const Eigen::VectorXd theta = net.parameters().value;
  auto loss_of_params = [&](const Eigen::VectorXd& p) {
    Mlp<double> copy = net;
    copy.parameters().value = p;
    Matrix<double> y;
    copy.predict(x, y);
    return (c.array() * y.array()).sum();
  };
  auto loss_of_input = [&](const Eigen::VectorXd& flat_x) {
    Matrix<double> y;
    net.predict(Eigen::Map<const Matrix<double>>(flat_x.data(), x.rows(), x.cols()), y);
    return (c.array() * y.array()).sum();
  };
  const Eigen::VectorXd numeric_params = numerical_gradient(loss_of_params, theta);
  const Eigen::VectorXd numeric_x =
      numerical_gradient(loss_of_input, Eigen::Map<const Eigen::VectorXd>(x.data(), x.size()));
  INFO("sizes " << sizes.size() << " hidden " << to_string(hidden) << " output " << to_string(output)
                << " batch " << batch);
  CHECK(relative_error(grad_params, numeric_params) <= 1e-6);
  CHECK(relative_error(Eigen::Map<const Eigen::VectorXd>(grad_x.data(), grad_x.size()), numeric_x) <= 1e-6);
}

}  // namespace

TEST_CASE("each activation backward matches finite differences", "[nn][gradient]") {
  for (Activation a : {Activation::identity, Activation::tanh, Activation::relu})
    for (Index batch : {1, 3}) check_mlp_gradients({3, 4}, Activation::identity, a, batch);
}

TEST_CASE("dense layer backward matches finite differences", "[nn][gradient]") {
  for (Index batch : {1, 2, 7}) check_mlp_gradients({5, 3}, Activation::identity, Activation::identity, batch);
}

TEST_CASE("3-layer MLP input and parameter gradients match finite differences", "[nn][gradient]") {
  for (Activation hidden : {Activation::tanh, Activation::relu})
    for (Activation output : {Activation::identity, Activation::tanh})
      for (Index batch : {1, 4, 64}) check_mlp_gradients({4, 8, 6, 3}, hidden, output, batch);
}

TEST_CASE("backward accumulates until zero_grad", "[nn]") {
  pgrad::Rng rng(3);
  Mlp<double> net({2, 3, 1}, Activation::tanh, Activation::identity);
  pgrad::nn::init_orthogonal(net, rng, 1.0, 1.0);
  const Matrix<double> x = random_matrix(2, 5, rng), c = Matrix<double>::Ones(1, 5);
  net.zero_grad();
  net.forward(x);
  net.backward(c);
  const Eigen::VectorXd once = net.parameters().grad;
  net.forward(x);
  net.backward(c);
  CHECK(relative_error(net.parameters().grad, 2.0 * once) < 1e-12);
  net.zero_grad();
  CHECK(net.parameters().grad.isZero());
}

TEST_CASE("forward and predict agree and hand-computed small network", "[nn]") {
  Mlp<double> net({2, 2, 1}, Activation::relu, Activation::identity);
  net.weight(0) << 1, -1, 2, 0.5;  // rows: [1 -1], [2 0.5]
  net.bias(0) << 0, -1;
  net.weight(1) << 3, -2;
  net.bias(1) << 0.5;
  Matrix<double> x(2, 2);
  x << 1, 0, 2, -2;  // columns (1,2) and (0,-2)
  // column 1: h = relu([1-2, 2+1-1]) = [0, 2]; y = 0*3 - 2*2 + 0.5 = -3.5
  // column 2: h = relu([0+2, 0-1-1]) = [2, 0]; y = 6 + 0.5 = 6.5
  const Matrix<double> y = net.forward(x);
  CHECK(y(0, 0) == Approx(-3.5));
  CHECK(y(0, 1) == Approx(6.5));
  Matrix<double> predicted;
  net.predict(x, predicted);
  CHECK(predicted == y);
}

TEST_CASE("a batch with the wrong row count throws naming both sizes", "[nn][errors]") {
  Mlp<float> net({4, 8, 2}, Activation::tanh, Activation::identity);
  Matrix<float> wrong = Matrix<float>::Zero(3, 5), out;
  CHECK_THROWS_AS(net.forward(wrong), pgrad::Error);
  CHECK_THROWS_WITH(net.predict(wrong, out), Catch::Contains("expected 4 rows") && Catch::Contains("got 3"));
  net.forward(Matrix<float>::Zero(4, 5));
  CHECK_THROWS_WITH(net.backward(Matrix<float>::Zero(2, 4)), Catch::Contains("2x5") && Catch::Contains("2x4"));
  CHECK_THROWS_AS(Mlp<float>({4}, Activation::tanh, Activation::identity), pgrad::Error);
}

TEST_CASE("NaN in a forward input is reported by check_finite", "[nn][errors]") {
  Mlp<float> net({2, 3, 1}, Activation::tanh, Activation::identity);
  Matrix<float> x = Matrix<float>::Zero(2, 4), out;
  x(1, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(net.forward(x), Catch::Contains("non-finite") && Catch::Contains("row 1, column 2"));
  x(1, 2) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(net.predict(x, out), Catch::Contains("non-finite"));
}

TEST_CASE("predict does not reallocate its output for a fixed batch size", "[nn]") {
  pgrad::Rng rng(1);
  Mlp<float> net({4, 64, 64, 2}, Activation::tanh, Activation::identity);
  pgrad::nn::init_orthogonal(net, rng, std::sqrt(2.0), 0.01);
  Matrix<float> x = Matrix<float>::Random(4, 16), out;
  net.predict(x, out);
  const float* data = out.data();
  for (int i = 0; i < 5; ++i) net.predict(x, out);
  CHECK(out.data() == data);
}
