// Initialisers: orthogonality with gain, uniform bounds, zero biases, reproducibility.
#include <catch2/catch.hpp>

#include <Eigen/QR>  // the reference QR the library no longer uses

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

namespace {
// The previous implementation, on Eigen's HouseholderQR: the reference for the library's own QR.
Matrix<double> eigen_orthogonal(pgrad::Index rows, pgrad::Index cols, pgrad::Rng& rng, double gain) {
  const bool wide = rows < cols;
  const pgrad::Index tall_rows = wide ? cols : rows, tall_cols = wide ? rows : cols;
  Eigen::MatrixXd gaussian(tall_rows, tall_cols);
  for (pgrad::Index j = 0; j < tall_cols; ++j)
    for (pgrad::Index i = 0; i < tall_rows; ++i) gaussian(i, j) = rng.normal<double>();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(tall_rows, tall_cols);
  for (pgrad::Index j = 0; j < tall_cols; ++j)
    if (qr.matrixQR()(j, j) < 0) q.col(j) *= -1.0;
  q *= gain;
  return wide ? Matrix<double>(q.transpose()) : q;
}
}  // namespace

TEST_CASE("orthogonal init equals gain times Q of Eigen's HouseholderQR with R's signs folded in", "[nn][init]") {
  for (auto shape : {std::pair<int, int>{64, 4}, {4, 64}, {32, 32}, {64, 64}, {1, 8}, {8, 1}, {1, 1}, {200, 70},
                     {3, 130}, {256, 256}}) {
    pgrad::Rng rng(97), reference_rng(97);
    Matrix<double> w(shape.first, shape.second);
    pgrad::nn::orthogonal(w, rng, 0.75);
    const Matrix<double> reference = eigen_orthogonal(shape.first, shape.second, reference_rng, 0.75);
    CAPTURE(shape.first, shape.second);
    CHECK((w - reference).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(rng == reference_rng);  // the same Gaussian draws, in the same order
  }
}

TEST_CASE("orthogonal init of a float block rounds the double result", "[nn][init]") {
  pgrad::Rng rng(4), reference_rng(4);
  Matrix<float> w = Matrix<float>::Zero(10, 20);
  auto block = w.block(1, 2, 6, 12);
  pgrad::nn::orthogonal(block, rng, std::sqrt(2.0));
  const Matrix<double> reference = eigen_orthogonal(6, 12, reference_rng, std::sqrt(2.0));
  CHECK((w.block(1, 2, 6, 12).cast<double>() - reference).cwiseAbs().maxCoeff() < 1e-6);
  CHECK(w.leftCols(2).isZero());
  CHECK(w.row(0).isZero());
  CHECK(w.bottomRows(3).isZero());
}
