// Monte-Carlo returns (GAE with λ = 1 and no values) and normalisation against hand-worked numbers.
#include <catch2/catch.hpp>

#include <pgrad/returns/gae.hpp>
#include <pgrad/returns/normalize.hpp>

#include <cmath>
#include <limits>

using pgrad::BoolMatrix;
using Catch::Matchers::Contains;

namespace {
/// Monte-Carlo returns through compute_gae: values 0, λ = 1, episode ends as terminations, no
/// bootstrap at the end (REINFORCE's weights).
template <class S>
pgrad::Matrix<S> monte_carlo_returns(const pgrad::Matrix<S>& rewards, const BoolMatrix& episode_end, S gamma) {
  const pgrad::Matrix<S> zeros = pgrad::Matrix<S>::Zero(rewards.rows(), rewards.cols());
  const BoolMatrix no_cut = BoolMatrix::Constant(rewards.rows(), rewards.cols(), false);
  pgrad::Matrix<S> advantages, returns;
  pgrad::compute_gae<S>(rewards, zeros, episode_end, no_cut, zeros, pgrad::Vector<S>::Zero(rewards.rows()), gamma,
                        S(1), advantages, returns);
  CHECK(returns == advantages);  // V = 0
  return advantages;
}
}  // namespace

TEST_CASE("GAE with λ = 1 and no values gives the discounted returns of hand-worked episodes", "[returns]") {
  Eigen::MatrixXd r(1, 3);
  r << 1, 2, 3;
  const BoolMatrix running = BoolMatrix::Constant(1, 3, false);
  // gamma = 0.5: (1 + 0.5*2 + 0.25*3, 2 + 0.5*3, 3) = (2.75, 3.5, 3).
  CHECK(monte_carlo_returns(Eigen::MatrixXd(r), running, 0.5) == (Eigen::MatrixXd(1, 3) << 2.75, 3.5, 3).finished());
  // gamma = 1: undiscounted tails (6, 5, 3); gamma = 0: the rewards themselves.
  CHECK(monte_carlo_returns(Eigen::MatrixXd(r), running, 1.0) == (Eigen::MatrixXd(1, 3) << 6, 5, 3).finished());
  CHECK(monte_carlo_returns(Eigen::MatrixXd(r), running, 0.0) == r);
  // gamma = 0.9, rewards (1, 0, 0, 1): (1 + 0.729, 0.81, 0.9, 1).
  Eigen::MatrixXf rf(1, 4);
  rf << 1, 0, 0, 1;
  const Eigen::MatrixXf out = monte_carlo_returns(rf, BoolMatrix::Constant(1, 4, false), 0.9f);
  CHECK(out(0, 0) == Approx(1.729f));
  CHECK(out(0, 1) == Approx(0.81f));
  CHECK(out(0, 2) == Approx(0.9f));
  CHECK(out(0, 3) == 1.0f);
}

TEST_CASE("Monte-Carlo returns restart at episode ends", "[returns]") {
  // gamma = 0.5. Env 0 ends at t = 1: (1 + 0.5*2, 2, 3 + 0.5*4, 4) = (2, 2, 5, 4).
  // Env 1 never ends: (1.875, 1.75, 1.5, 1).
  Eigen::MatrixXd r(2, 4);
  r << 1, 2, 3, 4,  //
      1, 1, 1, 1;
  BoolMatrix end = BoolMatrix::Constant(2, 4, false);
  end(0, 1) = true;
  Eigen::MatrixXd expected(2, 4);
  expected << 2, 2, 5, 4,  //
      1.875, 1.75, 1.5, 1;
  CHECK(monte_carlo_returns(r, end, 0.5) == expected);
}

TEST_CASE("normalize_in_place uses the unbiased standard deviation", "[returns][normalize]") {
  // x = (1, 2, 3, 4): mean 2.5, unbiased variance 5/3, std 1.2909944487358056.
  Eigen::RowVectorXd x(4);
  x << 1, 2, 3, 4;
  pgrad::normalize_in_place(x, 0.0);
  CHECK(x[0] == Approx(-1.161895003862225).epsilon(1e-14));
  CHECK(x[1] == Approx(-0.3872983346207417).epsilon(1e-14));
  CHECK(x[2] == Approx(0.3872983346207417).epsilon(1e-14));
  CHECK(x[3] == Approx(1.161895003862225).epsilon(1e-14));

  // Default eps = 1e-8 is added to the std.
  Eigen::ArrayXXf a(2, 2);
  a << 1, 3, 2, 4;  // column-major: 1, 2, 3, 4
  pgrad::normalize_in_place(a);
  CHECK(a(0, 0) == Approx(-1.5 / (1.2909944487358056 + 1e-8)).epsilon(1e-6));
  CHECK(a.mean() == Approx(0.0).margin(1e-6));

  // A block temporary: only that column changes.
  Eigen::MatrixXd m(3, 2);
  m << 1, 10, 2, 20, 3, 60;
  pgrad::normalize_in_place(m.col(1));
  CHECK(m.col(0) == Eigen::Vector3d(1, 2, 3));
  // Column 1: mean 30, unbiased std sqrt((400 + 100 + 900) / 2) = sqrt(700).
  CHECK(m(2, 1) == Approx(30 / (std::sqrt(700.0) + 1e-8)).epsilon(1e-14));

  // One entry: only the mean is subtracted. Constant input: zeros, no NaN.
  Eigen::VectorXd one(1);
  one << 7;
  pgrad::normalize_in_place(one);
  CHECK(one[0] == 0.0);
  Eigen::VectorXd same = Eigen::VectorXd::Constant(5, 3.0);
  pgrad::normalize_in_place(same);
  CHECK(same == Eigen::VectorXd::Zero(5));
}

TEST_CASE("normalize_in_place rejects bad input", "[returns][normalize]") {
  Eigen::VectorXd empty;
  CHECK_THROWS_WITH(pgrad::normalize_in_place(empty), Contains("empty input"));
  Eigen::VectorXd x = Eigen::VectorXd::Ones(3);
  CHECK_THROWS_WITH(pgrad::normalize_in_place(x, -1.0), Contains("eps must be finite and >= 0, got -1"));
  if (pgrad::checks_enabled()) {
    x[2] = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(pgrad::normalize_in_place(x), Contains("input: non-finite value nan at row 2"));
  }
}
