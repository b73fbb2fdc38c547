// GAE(lambda) against hand-worked rollouts: termination, truncation with its own bootstrap
// value, several environments, lambda = 1 and gamma = 1, and bad input.
//
// Unless stated otherwise gamma = lambda = 0.5 (gamma * lambda = 0.25), so every number below is
// an exact binary fraction and the checks use ==.

#include "eigen_no_malloc.hpp"  // first: it configures Eigen

#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/returns/gae.hpp>

#include <cmath>
#include <limits>
#include <utility>

using pgrad::BoolMatrix;
using Catch::Matchers::Contains;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// One environment, T = 4: rewards (1, 2, 3, 4), values (0.5, 1, 1.5, 2), V(last obs) = 4.
struct OneEnv {
  Eigen::MatrixXd rewards = (Eigen::MatrixXd(1, 4) << 1, 2, 3, 4).finished();
  Eigen::MatrixXd values = (Eigen::MatrixXd(1, 4) << 0.5, 1, 1.5, 2).finished();
  BoolMatrix terminated = BoolMatrix::Constant(1, 4, false);
  BoolMatrix truncated = BoolMatrix::Constant(1, 4, false);
  // Only read where truncated: NaN elsewhere proves it.
  Eigen::MatrixXd final_values = Eigen::MatrixXd::Constant(1, 4, kNaN);
  Eigen::VectorXd last_values = (Eigen::VectorXd(1) << 4).finished();
  Eigen::MatrixXd advantages, returns;

  void run(double gamma = 0.5, double lambda = 0.5) {
    pgrad::compute_gae(rewards, values, terminated, truncated, final_values, last_values, gamma, lambda,
                       advantages, returns);
  }
};

Eigen::MatrixXd row(double a, double b, double c, double d) {
  return (Eigen::MatrixXd(1, 4) << a, b, c, d).finished();
}

}  // namespace

TEST_CASE("gae without episode ends", "[gae]") {
  // t=3: delta = 4 + 0.5*4 - 2 = 4;                A = 4
  // t=2: delta = 3 + 0.5*2 - 1.5 = 2.5;            A = 2.5 + 0.25*4 = 3.5
  // t=1: delta = 2 + 0.5*1.5 - 1 = 1.75;           A = 1.75 + 0.25*3.5 = 2.625
  // t=0: delta = 1 + 0.5*1 - 0.5 = 1;              A = 1 + 0.25*2.625 = 1.65625
  OneEnv env;
  env.run();
  CHECK(env.advantages == row(1.65625, 2.625, 3.5, 4));
  CHECK(env.returns == row(2.15625, 3.625, 5, 6));
}

TEST_CASE("gae with a termination mid-rollout", "[gae]") {
  // Terminated at t=1: no bootstrap there and no carry from t=2.
  // t=3: A = 4; t=2: A = 3.5
  // t=1: delta = 2 + 0 - 1 = 1;                    A = 1
  // t=0: delta = 1 + 0.5*1 - 0.5 = 1;              A = 1 + 0.25*1 = 1.25
  OneEnv env;
  env.terminated(0, 1) = true;
  env.run();
  CHECK(env.advantages == row(1.25, 1, 3.5, 4));
  CHECK(env.returns == row(1.75, 2, 5, 6));
}

TEST_CASE("gae with a truncation mid-rollout bootstraps from the final observation", "[gae]") {
  // Truncated at t=1 with V(final obs) = 6, while V(reset obs) = values(0, 2) = 1.5.
  // t=3: A = 4; t=2: A = 3.5
  // t=1: delta = 2 + 0.5*6 - 1 = 4;                A = 4 (no carry)
  // t=0: delta = 1 + 0.5*1 - 0.5 = 1;              A = 1 + 0.25*4 = 2
  // (Bootstrapping from values(0, 2) instead would give delta(1) = 1.75.)
  OneEnv env;
  env.truncated(0, 1) = true;
  env.final_values(0, 1) = 6;
  env.run();
  CHECK(env.advantages == row(2, 4, 3.5, 4));
  CHECK(env.returns == row(2.5, 5, 5, 6));

  // Both flags set: terminated wins (same as the termination case).
  env.terminated(0, 1) = true;
  env.run();
  CHECK(env.advantages == row(1.25, 1, 3.5, 4));
}

TEST_CASE("gae with a truncation at the last step", "[gae]") {
  // Truncated at t=3 with V(final obs) = 10; last_values = 4 is the reset observation's value.
  // t=3: delta = 4 + 0.5*10 - 2 = 7;               A = 7
  // t=2: delta = 2.5;                              A = 2.5 + 0.25*7 = 4.25
  // t=1: delta = 1.75;                             A = 1.75 + 0.25*4.25 = 2.8125
  // t=0: delta = 1;                                A = 1 + 0.25*2.8125 = 1.703125
  OneEnv env;
  env.truncated(0, 3) = true;
  env.final_values(0, 3) = 10;
  env.run();
  CHECK(env.advantages == row(1.703125, 2.8125, 4.25, 7));
  CHECK(env.returns == row(2.203125, 3.8125, 5.75, 9));

  // Terminated at the last step: no bootstrap at all. t=3: A = 4 - 2 = 2; t=2: 2.5 + 0.5 = 3;
  // t=1: 1.75 + 0.75 = 2.5; t=0: 1 + 0.625 = 1.625.
  OneEnv term;
  term.terminated(0, 3) = true;
  term.run();
  CHECK(term.advantages == row(1.625, 2.5, 3, 2));
}

TEST_CASE("gae over several environments with different episode boundaries", "[gae]") {
  // T = 3.
  // env 0: r (1, 1, 1), V (1, 1, 1), no ends, last 2.
  //   t=2: delta = 1 + 1 - 1 = 1, A = 1; t=1: delta = 0.5, A = 0.75; t=0: delta = 0.5, A = 0.6875
  // env 1: r (2, 0, 1), V (1, 0.5, 1), terminated at t=0, last 4.
  //   t=2: delta = 1 + 2 - 1 = 2, A = 2; t=1: delta = 0 + 0.5 - 0.5 = 0, A = 0.5;
  //   t=0: delta = 2 - 1 = 1, A = 1 (no carry)
  // env 2: r (0, 1, 2), V (2, 1, 3), truncated at t=1 with V(final obs) = 4, last 1.
  //   t=2: delta = 2 + 0.5 - 3 = -0.5, A = -0.5; t=1: delta = 1 + 2 - 1 = 2, A = 2;
  //   t=0: delta = 0 + 0.5 - 2 = -1.5, A = -1.5 + 0.5 = -1
  Eigen::MatrixXd r(3, 3), v(3, 3), fv = Eigen::MatrixXd::Constant(3, 3, kNaN), adv, ret;
  r << 1, 1, 1, 2, 0, 1, 0, 1, 2;
  v << 1, 1, 1, 1, 0.5, 1, 2, 1, 3;
  BoolMatrix term = BoolMatrix::Constant(3, 3, false), trunc = term;
  term(1, 0) = true;
  trunc(2, 1) = true;
  fv(2, 1) = 4;
  const Eigen::Vector3d last(2, 4, 1);
  pgrad::compute_gae(r, v, term, trunc, fv, last, 0.5, 0.5, adv, ret);
  Eigen::MatrixXd expected(3, 3);
  expected << 0.6875, 0.75, 1,  //
      1, 0.5, 2,                //
      -1, 2, -0.5;
  CHECK(adv == expected);
  CHECK(ret == expected + v);

  // Float gives the same numbers (all exact in binary).
  Eigen::MatrixXf advf, retf;
  pgrad::compute_gae(r.cast<float>(), v.cast<float>(), term, trunc, fv.cast<float>(), last.cast<float>(), 0.5,
                     0.5, advf, retf);
  CHECK(advf == expected.cast<float>());
}

TEST_CASE("gae with lambda 1 gives bootstrapped discounted returns", "[gae]") {
  // gamma = 0.5, lambda = 1, terminated at t=1: returns are the discounted sums
  // R3 = 4 + 0.5*4 = 6, R2 = 3 + 0.5*6 = 6, R1 = 2, R0 = 1 + 0.5*2 = 2; A = R - V.
  OneEnv env;
  env.terminated(0, 1) = true;
  env.run(0.5, 1.0);
  CHECK(env.returns == row(2, 2, 6, 6));
  CHECK(env.advantages == row(1.5, 1, 4.5, 4));

  // lambda = 0: one-step TD errors (the deltas of the no-ends case).
  OneEnv td;
  td.run(0.5, 0.0);
  CHECK(td.advantages == row(1, 1.75, 2.5, 4));
}

TEST_CASE("gae with gamma 1", "[gae]") {
  // gamma = lambda = 1: undiscounted sums bootstrapped with last = 4: R = (14, 13, 11, 8).
  OneEnv env;
  env.run(1.0, 1.0);
  CHECK(env.returns == row(14, 13, 11, 8));
  CHECK(env.advantages == row(13.5, 12, 9.5, 6));
  // gamma = 1, lambda = 0.5:
  // t=3: delta = 4 + 4 - 2 = 6, A = 6; t=2: delta = 3 + 2 - 1.5 = 3.5, A = 3.5 + 3 = 6.5
  // t=1: delta = 2 + 1.5 - 1 = 2.5, A = 2.5 + 3.25 = 5.75; t=0: delta = 1 + 1 - 0.5 = 1.5, A = 4.375
  env.run(1.0, 0.5);
  CHECK(env.advantages == row(4.375, 5.75, 6.5, 6));
}

TEST_CASE("gae rejects bad input with a message naming the problem", "[gae]") {
  OneEnv env;
  CHECK_THROWS_WITH(env.run(1.01, 0.5), Contains("compute_gae: gamma must be in [0, 1], got 1.01"));
  CHECK_THROWS_WITH(env.run(0.5, -0.2), Contains("compute_gae: lambda must be in [0, 1], got -0.2"));
  CHECK_THROWS_WITH(env.run(0.5, kNaN), Contains("lambda must be in [0, 1]"));

  OneEnv bad_values;
  bad_values.values = Eigen::MatrixXd::Zero(1, 3);
  CHECK_THROWS_WITH(bad_values.run(), Contains("values (shape of rewards, N envs x T steps): expected 1x4, got 1x3"));
  OneEnv bad_flags;
  bad_flags.truncated = BoolMatrix::Constant(2, 4, false);
  CHECK_THROWS_WITH(bad_flags.run(), Contains("truncated (shape of rewards, N envs x T steps): expected 1x4, got 2x4"));
  OneEnv bad_term;
  bad_term.terminated = BoolMatrix::Constant(1, 5, false);
  CHECK_THROWS_WITH(bad_term.run(), Contains("terminated (shape of rewards"));
  OneEnv bad_final;
  bad_final.final_values = Eigen::MatrixXd::Zero(4, 1);
  CHECK_THROWS_WITH(bad_final.run(), Contains("final_values (shape of rewards, N envs x T steps): expected 1x4, got 4x1"));
  OneEnv bad_last;
  bad_last.last_values = Eigen::VectorXd::Zero(2);
  CHECK_THROWS_WITH(bad_last.run(), Contains("last_values has 2 entries but rewards has 1 rows"));

  if (pgrad::checks_enabled()) {
    OneEnv nan_reward;
    nan_reward.rewards(0, 2) = kNaN;
    CHECK_THROWS_WITH(nan_reward.run(), Contains("rewards: non-finite value nan at row 0, column 2"));
    OneEnv nan_final;  // NaN where truncated is set is an error
    nan_final.truncated(0, 2) = true;
    CHECK_THROWS_WITH(nan_final.run(), Contains("final_values (where truncated): non-finite value nan"));
  }
}

TEST_CASE("gae allocates nothing once the rollout size is fixed", "[gae]") {
  const Eigen::MatrixXf r = Eigen::MatrixXf::Random(8, 32), v = Eigen::MatrixXf::Random(8, 32);
  const Eigen::MatrixXf fv = Eigen::MatrixXf::Random(8, 32);
  const Eigen::VectorXf last = Eigen::VectorXf::Random(8);
  BoolMatrix term = BoolMatrix::Constant(8, 32, false), trunc = term;
  term(2, 5) = trunc(3, 7) = trunc(4, 31) = true;
  Eigen::MatrixXf adv, ret;
  for (int round = 0; round < 3; ++round) {
    Eigen::internal::set_is_malloc_allowed(round > 0 ? false : true);
    pgrad::compute_gae(r, v, term, trunc, fv, last, 0.99f, 0.95f, adv, ret);
    Eigen::internal::set_is_malloc_allowed(true);
  }
  CHECK(ret.allFinite());
}

namespace {
// compute_gae as whole-column Eigen expressions (the library's previous implementation): the
// loops must give exactly these numbers.
template <class S>
void expression_gae(const pgrad::Matrix<S>& rewards, const pgrad::Matrix<S>& values, const BoolMatrix& terminated,
                    const BoolMatrix& truncated, const pgrad::Matrix<S>& final_values, const pgrad::Vector<S>& last_values,
                    S gamma, S lambda, pgrad::Matrix<S>& advantages, pgrad::Matrix<S>& returns) {
  const pgrad::Index envs = rewards.rows(), steps = rewards.cols();
  advantages.resize(envs, steps);
  returns.resize(envs, steps);
  const auto set_delta = [&](pgrad::Index t, const auto& bootstrap) {
    const auto next_value = terminated.col(t).select(S(0), truncated.col(t).select(final_values.col(t).array(), bootstrap));
    advantages.col(t).array() = rewards.col(t).array() + gamma * next_value - values.col(t).array();
  };
  const S gamma_lambda = gamma * lambda;
  if (steps > 0) set_delta(steps - 1, last_values.array());
  for (pgrad::Index t = steps - 2; t >= 0; --t) {
    set_delta(t, values.col(t + 1).array());
    advantages.col(t).array() +=
        gamma_lambda * (terminated.col(t) || truncated.col(t)).select(S(0), advantages.col(t + 1).array());
  }
  returns = advantages + values;
}

template <class S>
void check_gae_matches_expressions() {
  pgrad::Rng rng(31);
  for (const auto& shape : {std::pair<int, int>{1, 1}, {1, 7}, {3, 5}, {8, 64}, {17, 33}, {64, 128}}) {
    const int envs = shape.first, steps = shape.second;
    pgrad::Matrix<S> r(envs, steps), v(envs, steps), fv(envs, steps);
    pgrad::Vector<S> last(envs);
    BoolMatrix term(envs, steps), trunc(envs, steps);
    for (int t = 0; t < steps; ++t)
      for (int i = 0; i < envs; ++i) {
        r(i, t) = rng.normal<S>() * S(3);
        v(i, t) = rng.normal<S>() * S(10);
        fv(i, t) = rng.normal<S>() * S(10);
        term(i, t) = rng.uniform() < 0.05;
        trunc(i, t) = rng.uniform() < 0.05;
      }
    for (int i = 0; i < envs; ++i) last[i] = rng.normal<S>();
    for (const auto& gl : {std::pair<S, S>{S(0.99), S(0.95)}, {S(0.9), S(1)}, {S(0.997), S(0.3)}}) {
      pgrad::Matrix<S> adv, ret, expected_adv, expected_ret;
      pgrad::compute_gae(r, v, term, trunc, fv, last, gl.first, gl.second, adv, ret);
      expression_gae(r, v, term, trunc, fv, last, gl.first, gl.second, expected_adv, expected_ret);
      CAPTURE(envs, steps, gl.first, gl.second);
      CHECK(adv == expected_adv);  // bit for bit
      CHECK(ret == expected_ret);
    }
  }
}
}  // namespace

TEST_CASE("gae equals the whole-column Eigen expressions bit for bit", "[gae]") {
  check_gae_matches_expressions<float>();
  check_gae_matches_expressions<double>();
}
