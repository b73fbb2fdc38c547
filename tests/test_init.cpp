// Initialisers: orthogonality with gain, uniform bounds, zero biases, reproducibility.
#include <catch2/catch.hpp>

#include <pgrad/nn/init.hpp>

using pgrad::Matrix;
using pgrad::nn::Activation;

TEST_CASE("orthogonal init gives WtW = gain^2 I for tall and WWt for wide matrices", "[nn][init]") {
  pgrad::Rng rng(11);
  for (auto shape : {std::pair<int, int>{64, 4}, {4, 64}, {32, 32}, {1, 8}}) {
    Matrix<double> w(shape.first, shape.second);
    pgrad::nn::orthogonal(w, rng, 1.5);
    const Matrix<double> gram = w.rows() >= w.cols() ? Matrix<double>(w.transpose() * w) : Matrix<double>(w * w.transpose());
    CHECK((gram - 2.25 * Matrix<double>::Identity(gram.rows(), gram.cols())).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("init_orthogonal uses the hidden gain then the output gain and zeroes biases", "[nn][init]") {
  pgrad::Rng rng(2);
  pgrad::nn::Mlp<float> net({4, 64, 64, 2}, Activation::tanh, Activation::identity);
  net.parameters().value.setOnes();
  pgrad::nn::init_orthogonal(net, rng, std::sqrt(2.0), 0.01);
  const Matrix<float> w0 = net.weight(0), w2 = net.weight(2);
  CHECK((w0.transpose() * w0 - 2.0f * Matrix<float>::Identity(4, 4)).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK((w2 * w2.transpose() - 1e-4f * Matrix<float>::Identity(2, 2)).cwiseAbs().maxCoeff() < 1e-8f);
  for (int l = 0; l < 3; ++l) CHECK(net.bias(l).isZero());
  pgrad::Rng rng2(2);
  pgrad::nn::Mlp<float> again({4, 64, 64, 2}, Activation::tanh, Activation::identity);
  pgrad::nn::init_orthogonal(again, rng2, std::sqrt(2.0), 0.01);
  CHECK(again.parameters().value == net.parameters().value);
}

TEST_CASE("Xavier and He uniform stay within their bounds and fill them", "[nn][init]") {
  pgrad::Rng rng(5);
  pgrad::nn::Mlp<double> net({100, 50}, Activation::relu, Activation::identity);
  pgrad::nn::init_xavier_uniform(net, rng);
  const double xavier = std::sqrt(6.0 / 150.0);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() <= xavier);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() > 0.95 * xavier);
  // Variance of U(-a, a) is a²/3; 5000 draws.
  const double var = net.weight(0).squaredNorm() / 5000.0;
  CHECK(std::abs(var - xavier * xavier / 3) < 4 * (xavier * xavier / 3) * std::sqrt(0.8 / 5000.0));
  pgrad::nn::init_he_uniform(net, rng);
  const double he = std::sqrt(6.0 / 100.0);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() <= he);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() > 0.95 * he);
}
