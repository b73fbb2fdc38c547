// nn::Gru: backpropagation through time against central finite differences (double) over
// sequences with episode resets in the middle, float against double, a sequence in one call
// against its steps one by one (bit for bit), the gate equations against a direct evaluation,
// no allocation at a fixed shape, and errors.
#include <catch2/catch.hpp>

#include <cmath>

#include <pgrad/core/error.hpp>
#include <pgrad/nn/gru.hpp>

#include "allocation_hooks.hpp"
#include "gradient_check.hpp"

using pgrad::BoolRowVector;
using pgrad::Index;
using pgrad::Matrix;
using pgrad::nn::Gru;
using pgrad_test::numerical_gradient;
using pgrad_test::relative_error;

namespace {

Matrix<double> random_matrix(Index rows, Index cols, pgrad::Rng& rng, double scale = 1.0) {
  Matrix<double> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = scale * rng.normal<double>();
  return m;
}

// A GRU with every parameter drawn (biases too, so that each gate's bias gradient is exercised).
template <class S>
Gru<S> random_gru(Index in, Index hidden, pgrad::Rng& rng) {
  Gru<S> gru(in, hidden);
  for (Index i = 0; i < gru.parameter_count(); ++i) gru.parameters().value[i] = static_cast<S>(0.5 * rng.normal<double>());
  return gru;
}

// Sequence b is reset before step t where (t + b) % 3 == 2 and t > 0: resets in the middle, in
// different places for each sequence; sequence 1 is also reset at step 0 (its h0 has no effect).
BoolRowVector some_resets(Index steps, Index batch) {
  BoolRowVector resets = BoolRowVector::Constant(steps * batch, false);
  for (Index t = 1; t < steps; ++t)
    for (Index b = 0; b < batch; ++b) resets[t * batch + b] = (t + b) % 3 == 2;
  if (batch > 1) resets[1] = true;
  return resets;
}

// L = Σ C ⊙ H(X, h0): backward(C) must give dL/dθ, dL/dX and dL/dh0.
TEST_CASE("Gru BPTT matches finite differences over sequences with resets", "[gru]") {
  const Index in = 3, hidden = 4, steps = 6, batch = 3;
  pgrad::Rng rng(7);
  Gru<double> gru = random_gru<double>(in, hidden, rng);
  const Matrix<double> x = random_matrix(in, steps * batch, rng);
  const Matrix<double> h0 = random_matrix(hidden, batch, rng, 0.5);
  const Matrix<double> c = random_matrix(hidden, steps * batch, rng);
  const BoolRowVector resets = some_resets(steps, batch);

  gru.zero_grad();
  gru.forward(x, h0, resets, batch);
  const Matrix<double> grad_x = gru.backward(c);
  const Eigen::VectorXd grad_params = gru.parameters().grad;
  const Matrix<double> grad_h0 = gru.initial_state_gradient();

  const auto loss = [&](const Eigen::VectorXd& theta, const Matrix<double>& xs, const Matrix<double>& h) {
    Gru<double> copy = gru;
    copy.parameters().value = theta;
    return (copy.forward(xs, h, resets, batch).array() * c.array()).sum();
  };
  const Eigen::VectorXd theta = gru.parameters().value;
  const Eigen::VectorXd numeric_params =
      numerical_gradient([&](const Eigen::VectorXd& p) { return loss(p, x, h0); }, theta);
  // Every block on its own: W_i, W_h, b_i, b_h, and within them each gate's rows (r, z, n).
  const Index h3 = 3 * hidden;
  const Index offsets[5] = {0, h3 * in, h3 * (in + hidden), h3 * (in + hidden) + h3, gru.parameter_count()};
  const char* names[4] = {"W_i", "W_h", "b_i", "b_h"};
  for (int block = 0; block < 4; ++block) {
    const Index rows = h3, cols = (offsets[block + 1] - offsets[block]) / h3;
    for (int gate = 0; gate < 3; ++gate) {
      Eigen::VectorXd analytic(hidden * cols), numeric(hidden * cols);
      for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < hidden; ++i) {
          const Index k = offsets[block] + j * rows + gate * hidden + i;
          analytic[j * hidden + i] = grad_params[k];
          numeric[j * hidden + i] = numeric_params[k];
        }
      INFO(names[block] << " gate " << "rzn"[gate]);
      CHECK(numeric.norm() > 1e-3);  // the check is not vacuous
      CHECK(relative_error(analytic, numeric) < 1e-7);
    }
  }

  const Eigen::VectorXd numeric_x = numerical_gradient(
      [&](const Eigen::VectorXd& v) { return loss(theta, Eigen::Map<const Matrix<double>>(v.data(), in, steps * batch), h0); },
      Eigen::Map<const Eigen::VectorXd>(x.data(), x.size()));
  CHECK(relative_error(Eigen::Map<const Eigen::VectorXd>(grad_x.data(), grad_x.size()), numeric_x) < 1e-7);

  const Eigen::VectorXd numeric_h0 = numerical_gradient(
      [&](const Eigen::VectorXd& v) { return loss(theta, x, Eigen::Map<const Matrix<double>>(v.data(), hidden, batch)); },
      Eigen::Map<const Eigen::VectorXd>(h0.data(), h0.size()));
  const Eigen::Map<const Eigen::VectorXd> analytic_h0(grad_h0.data(), grad_h0.size());
  CHECK(relative_error(analytic_h0, numeric_h0) < 1e-7);
  CHECK(grad_h0.col(1).norm() == 0.0);   // sequence 1 is reset at step 0
  CHECK(grad_h0.col(0).norm() > 1e-3);   // the others are not
}

TEST_CASE("Gru gradients in float agree with double", "[gru]") {
  const Index in = 5, hidden = 8, steps = 10, batch = 4;
  pgrad::Rng rng(11);
  Gru<double> gru = random_gru<double>(in, hidden, rng);
  Gru<float> gru_f(in, hidden);
  gru_f.parameters().value = gru.parameters().value.cast<float>();
  const Matrix<double> x = random_matrix(in, steps * batch, rng);
  const Matrix<double> h0 = random_matrix(hidden, batch, rng, 0.5);
  const Matrix<double> c = random_matrix(hidden, steps * batch, rng);
  const BoolRowVector resets = some_resets(steps, batch);
  gru.zero_grad();
  gru_f.zero_grad();
  const Matrix<double> out = gru.forward(x, h0, resets, batch);
  const Matrix<float> out_f = gru_f.forward(x.cast<float>(), h0.cast<float>(), resets, batch);
  CHECK(relative_error(out, out_f.cast<double>()) < 1e-5);
  const Matrix<double> grad_x = gru.backward(c);
  const Matrix<float> grad_x_f = gru_f.backward(c.cast<float>());
  CHECK(relative_error(gru.parameters().grad, gru_f.parameters().grad.cast<double>()) < 1e-4);
  CHECK(relative_error(grad_x, grad_x_f.cast<double>()) < 1e-4);
  CHECK(relative_error(gru.initial_state_gradient(), gru_f.initial_state_gradient().cast<double>()) < 1e-4);
}

// J·v of the states along a direction in parameters and input, against central differences of
// the states themselves, each parameter block's part on its own; the cut at a reset; float
// against double.
TEST_CASE("Gru forward_tangent is J·v: central differences over sequences with resets", "[gru][tangent]") {
  const Index in = 3, hidden = 4, steps = 6, batch = 3;
  pgrad::Rng rng(17);
  Gru<double> gru = random_gru<double>(in, hidden, rng);
  const Matrix<double> x = random_matrix(in, steps * batch, rng);
  const Matrix<double> h0 = random_matrix(hidden, batch, rng, 0.5);
  const Matrix<double> x_tangent = random_matrix(in, steps * batch, rng);
  const BoolRowVector resets = some_resets(steps, batch);
  const Eigen::VectorXd theta = gru.parameters().value;
  const auto states = [&](const Eigen::VectorXd& parameters, const Matrix<double>& xs) {
    Gru<double> copy = gru;
    copy.parameters().value = parameters;
    return Matrix<double>(copy.forward(xs, h0, resets, batch));
  };
  const double step = 1e-6;
  const Index h3 = 3 * hidden;
  const Index offsets[5] = {0, h3 * in, h3 * (in + hidden), h3 * (in + hidden) + h3, gru.parameter_count()};
  const char* names[5] = {"W_i", "W_h", "b_i", "b_h", "all"};
  for (int block = 0; block < 5; ++block) {
    Eigen::VectorXd direction = Eigen::VectorXd::Zero(theta.size());
    const Index first = block < 4 ? offsets[block] : 0, last = block < 4 ? offsets[block + 1] : theta.size();
    for (Index i = first; i < last; ++i) direction[i] = rng.normal<double>();
    for (bool move_input : {false, true}) {
      INFO(names[block] << (move_input ? " with the input" : ""));
      gru.forward(x, h0, resets, batch);
      const Matrix<double> analytic = gru.forward_tangent(direction, move_input ? &x_tangent : nullptr);
      const double s = move_input ? step : 0.0;
      const Matrix<double> numeric =
          (states(theta + step * direction, x + s * x_tangent) - states(theta - step * direction, x - s * x_tangent)) /
          (2 * step);
      CHECK(numeric.norm() > 1e-2);
      CHECK(relative_error(analytic, numeric) < 1e-7);
    }
  }
  // A reset cuts the tangent: with the parameters fixed and only sequence 0's inputs before its
  // reset at step 2 moved, its states from step 2 on do not move at all.
  Matrix<double> early = Matrix<double>::Zero(in, steps * batch);
  for (Index t = 0; t < 2; ++t) early.col(t * batch) = x_tangent.col(t * batch);
  gru.forward(x, h0, resets, batch);
  const Matrix<double> cut = gru.forward_tangent(Eigen::VectorXd::Zero(theta.size()), &early);
  CHECK(cut.col(batch).norm() > 1e-3);
  for (Index t = 2; t < steps; ++t) CHECK(cut.col(t * batch).norm() == 0.0);
  // Float against double.
  Gru<float> single(in, hidden);
  single.parameters().value = theta.cast<float>();
  Eigen::VectorXd direction(theta.size());
  for (Index i = 0; i < direction.size(); ++i) direction[i] = rng.normal<double>();
  gru.forward(x, h0, resets, batch);
  single.forward(x.cast<float>(), h0.cast<float>(), resets, batch);
  const Matrix<float> x_tangent_f = x_tangent.cast<float>();
  const Matrix<double> tangent = gru.forward_tangent(direction, &x_tangent);
  CHECK(relative_error(tangent, single.forward_tangent(direction.cast<float>(), &x_tangent_f).cast<double>()) < 1e-5);
}

TEST_CASE("Gru step follows PyTorch's gate equations", "[gru]") {
  const Index in = 3, hidden = 2;
  pgrad::Rng rng(3);
  Gru<double> gru = random_gru<double>(in, hidden, rng);
  const Matrix<double> x = random_matrix(in, 1, rng);
  Matrix<double> h = random_matrix(hidden, 1, rng);
  const Eigen::VectorXd h_before = h.col(0);
  gru.step(x, h);
  const auto wi = gru.input_weight(), wh = gru.hidden_weight();
  const auto bi = gru.input_bias(), bh = gru.hidden_bias();
  const Eigen::VectorXd gi = wi * x.col(0) + bi, gh = wh * h_before + bh;
  const auto sigmoid = [](double a) { return 1.0 / (1.0 + std::exp(-a)); };
  for (Index i = 0; i < hidden; ++i) {
    const double r = sigmoid(gi[i] + gh[i]), z = sigmoid(gi[hidden + i] + gh[hidden + i]);
    const double n = std::tanh(gi[2 * hidden + i] + r * gh[2 * hidden + i]);
    CHECK(h(i, 0) == Approx((1 - z) * n + z * h_before[i]).epsilon(1e-12));
  }
}

TEMPLATE_TEST_CASE("Gru: a sequence in one call equals its steps one by one, bit for bit", "[gru]", float, double) {
  using S = TestType;
  const Index in = 4, hidden = 16, steps = 9, batch = 5;
  pgrad::Rng rng(5);
  Gru<S> gru = random_gru<S>(in, hidden, rng);
  const Matrix<S> x = random_matrix(in, steps * batch, rng).template cast<S>();
  const Matrix<S> h0 = random_matrix(hidden, batch, rng).template cast<S>();
  const BoolRowVector resets = some_resets(steps, batch);
  const Matrix<S> sequence = gru.forward(x, h0, resets, batch);
  Matrix<S> h = h0;
  for (Index t = 0; t < steps; ++t) {
    for (Index b = 0; b < batch; ++b)
      if (resets[t * batch + b]) h.col(b).setZero();
    gru.step(x.middleCols(t * batch, batch), h);
    INFO("step " << t);
    CHECK((h.array() == sequence.middleCols(t * batch, batch).array()).all());
  }
  // A column's states do not depend on the batch it is in: sequence 2 alone gives the same bits.
  Matrix<S> alone(in, steps), h_alone = h0.col(2);
  BoolRowVector resets_alone(steps);
  for (Index t = 0; t < steps; ++t) {
    alone.col(t) = x.col(t * batch + 2);
    resets_alone[t] = resets[t * batch + 2];
  }
  const Matrix<S> single = gru.forward(alone, h_alone, resets_alone, 1);
  for (Index t = 0; t < steps; ++t) CHECK((single.col(t).array() == sequence.col(t * batch + 2).array()).all());
}

TEST_CASE("Gru forward, backward, forward_tangent and step allocate nothing at a fixed shape", "[gru]") {
  const Index in = 6, hidden = 32, steps = 16, batch = 4;
  pgrad::Rng rng(9);
  Gru<float> gru = random_gru<float>(in, hidden, rng);
  const pgrad::Vector<float> direction = random_matrix(gru.parameter_count(), 1, rng).cast<float>();
  const Matrix<float> x = random_matrix(in, steps * batch, rng).cast<float>();
  const Matrix<float> h0 = Matrix<float>::Zero(hidden, batch);
  const Matrix<float> c = random_matrix(hidden, steps * batch, rng).cast<float>();
  const BoolRowVector resets = some_resets(steps, batch);
  Matrix<float> h = h0;
  const auto round = [&] {
    gru.zero_grad();
    gru.forward(x, h0, resets, batch);
    gru.backward(c);
    gru.forward_tangent(direction, &x);
    gru.step(x.leftCols(batch), h);
  };
  round();  // sizes the buffers
  allocations = 0;
  counting = true;
  round();
  round();
  counting = false;
  CHECK(allocations.load() == 0);
}

TEST_CASE("Gru rejects wrong shapes", "[gru]") {
  CHECK_THROWS_AS(Gru<float>(0, 4), pgrad::Error);
  Gru<float> gru(3, 4);
  Matrix<float> h = Matrix<float>::Zero(4, 2);
  CHECK_THROWS_AS(gru.step(Matrix<float>::Zero(2, 2), h), pgrad::Error);
  CHECK_THROWS_AS(gru.step(Matrix<float>::Zero(3, 3), h), pgrad::Error);
  CHECK_THROWS_AS(gru.forward(Matrix<float>::Zero(3, 5), Matrix<float>::Zero(4, 2), BoolRowVector(), 2), pgrad::Error);
  CHECK_THROWS_AS(gru.forward(Matrix<float>::Zero(3, 4), Matrix<float>::Zero(4, 2), BoolRowVector(3), 2), pgrad::Error);
  CHECK_THROWS_AS(gru.backward(Matrix<float>::Zero(4, 4)), pgrad::Error);
  CHECK_THROWS_AS(gru.forward_tangent(pgrad::Vector<float>::Zero(gru.parameter_count())), pgrad::Error);
  gru.forward(Matrix<float>::Zero(3, 4), Matrix<float>::Zero(4, 2), BoolRowVector(), 2);
  CHECK_THROWS_AS(gru.backward(Matrix<float>::Zero(4, 3)), pgrad::Error);
  CHECK_THROWS_AS(gru.forward_tangent(pgrad::Vector<float>::Zero(3)), pgrad::Error);
  const Matrix<float> wrong_input = Matrix<float>::Zero(3, 3);
  CHECK_THROWS_AS(gru.forward_tangent(pgrad::Vector<float>::Zero(gru.parameter_count()), &wrong_input), pgrad::Error);
}

}  // namespace
