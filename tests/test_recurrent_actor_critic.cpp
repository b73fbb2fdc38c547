// RecurrentActorCritic: the training pass over sequences (encoder, GRU through time, heads and
// distribution) against central finite differences, shared and separate GRUs, Categorical and
// DiagGaussian; acting step by step against replaying the sequence; the state's handling;
// checkpoints; configuration errors.
#include <catch2/catch.hpp>

#include <pgrad/core/error.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>

#include "gradient_check.hpp"
#include "recurrent_checks.hpp"

using pgrad::BoolRowVector;
using pgrad::Index;
using pgrad::Matrix;
using pgrad::RowVector;
using pgrad_test::numerical_gradient;
using pgrad_test::relative_error;

namespace {

using pgrad_test::Discrete;
using pgrad_test::Gaussian;
using pgrad_test::small_recurrent_config;

Matrix<double> random_matrix(Index rows, Index cols, pgrad::Rng& rng) {
  Matrix<double> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal<double>();
  return m;
}

template <class Policy>
void check_sequence_gradients(bool shared) {
  const Index obs = 3, actions = 2, steps = 5, sequences = 3;
  pgrad::Rng rng(21);
  Policy policy(obs, actions, small_recurrent_config(shared), rng);
  // Non-zero biases everywhere, so every bias gradient is exercised.
  Eigen::VectorXd theta = policy.flat_parameters();
  for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();
  policy.set_flat_parameters(theta);
  const Matrix<double> x = random_matrix(obs, steps * sequences, rng);
  const Matrix<double> h0 = 0.5 * random_matrix(policy.hidden_size(), sequences, rng);
  BoolRowVector resets = BoolRowVector::Constant(steps * sequences, false);
  resets[2 * sequences + 0] = true;  // sequence 0's episode ends after step 1
  resets[3 * sequences + 2] = true;
  typename Policy::Actions a;
  RowVector<double> log_probs, entropy, values;
  {
    Matrix<double> hidden = h0;
    Policy sampler = policy;
    typename Policy::Actions step_actions;
    a.resize(Policy::discrete ? 1 : actions, steps * sequences);
    for (Index t = 0; t < steps; ++t) {
      sampler.act(x.middleCols(t * sequences, sequences), hidden, rng, step_actions, log_probs);
      a.middleCols(t * sequences, sequences) = step_actions;
    }
  }
  const RowVector<double> w = random_matrix(1, steps * sequences, rng), e = random_matrix(1, steps * sequences, rng),
                          v = random_matrix(1, steps * sequences, rng);
  const auto loss = [&](const Eigen::VectorXd& parameters) {
    Policy copy = policy;
    copy.set_flat_parameters(parameters);
    copy.evaluate_sequences(x, a, h0, resets, sequences, log_probs, entropy, values);
    return (w.array() * log_probs.array()).sum() + (e.array() * entropy.array()).sum() +
           (v.array() * values.array()).sum();
  };
  policy.zero_grad();
  policy.train_sequences(
      x, a, h0, resets, sequences,
      [&](const pgrad::PolicyTerms<double>& p) {
        p.log_prob_weight = w;
        p.entropy_weight = e;
      },
      [&](const pgrad::ValueTerms<double>& terms) { terms.value_weight = v; });
  const Eigen::VectorXd analytic = policy.flat_gradients();
  const Eigen::VectorXd numeric = numerical_gradient(loss, theta);
  CHECK(numeric.norm() > 1e-2);
  CHECK(relative_error(analytic, numeric) < 1e-6);
  // Block by block, so that no block's error hides behind a larger one.
  Index offset = 0;
  for (Index size : policy.block_sizes()) {
    INFO("block at " << offset << " of size " << size);
    CHECK(relative_error(analytic.segment(offset, size), numeric.segment(offset, size)) < 1e-6);
    offset += size;
  }
}

TEST_CASE("RecurrentActorCritic sequence gradients match finite differences", "[recurrent]") {
  SECTION("Categorical, shared GRU") { check_sequence_gradients<Discrete<double>>(true); }
  SECTION("Categorical, separate GRUs") { check_sequence_gradients<Discrete<double>>(false); }
  SECTION("DiagGaussian, shared GRU") { check_sequence_gradients<Gaussian<double>>(true); }
  SECTION("DiagGaussian, separate GRUs") { check_sequence_gradients<Gaussian<double>>(false); }
}

TEMPLATE_TEST_CASE("RecurrentActorCritic: acting step by step equals replaying the sequence", "[recurrent]", float,
                   double) {
  using S = TestType;
  for (bool shared : {true, false}) {
    const Index obs = 3, steps = 8, envs = 4;
    pgrad::Rng rng(5);
    pgrad::PolicyConfig config = small_recurrent_config(shared);
    config.shared_hidden = {16};
    config.recurrent_size = 16;
    config.actor_hidden = {};
    config.critic_hidden = {};
    Discrete<S> policy(obs, 3, config, rng);
    const Matrix<S> x = random_matrix(obs, steps * envs, rng).template cast<S>();
    Matrix<S> hidden = Matrix<S>::Zero(policy.hidden_size(), envs);
    const Matrix<S> initial = hidden;
    BoolRowVector resets = BoolRowVector::Constant(steps * envs, false);
    typename Discrete<S>::Actions actions(1, steps * envs), step_actions;
    RowVector<S> log_probs(steps * envs), values(steps * envs), step_log_probs, step_values, peek;
    for (Index t = 0; t < steps; ++t) {
      const auto observations = x.middleCols(t * envs, envs);
      // predict_values leaves the state alone and gives what the next act will give.
      const Matrix<S> before = hidden;
      policy.predict_values(observations, hidden, peek);
      CHECK((hidden.array() == before.array()).all());
      policy.act(observations, hidden, rng, step_actions, step_log_probs, step_values);
      CHECK((peek.array() == step_values.array()).all());
      actions.middleCols(t * envs, envs) = step_actions;
      log_probs.segment(t * envs, envs) = step_log_probs;
      values.segment(t * envs, envs) = step_values;
      BoolRowVector done = BoolRowVector::Constant(envs, false);
      done[t % envs] = t % 3 == 1;  // episodes end here and there
      Discrete<S>::reset_state(hidden, done);
      if (t + 1 < steps)
        for (Index i = 0; i < envs; ++i) resets[(t + 1) * envs + i] = done[i];
    }
    RowVector<S> replay_log_probs, entropy, replay_values;
    policy.evaluate_sequences(x, actions, initial, resets, envs, replay_log_probs, entropy, replay_values);
    const S tolerance = std::is_same_v<S, float> ? S(1e-5) : S(1e-12);
    INFO("shared " << shared);
    CHECK((replay_log_probs - log_probs).cwiseAbs().maxCoeff() < tolerance);
    CHECK((replay_values - values).cwiseAbs().maxCoeff() < tolerance);
  }
}

TEST_CASE("RecurrentActorCritic checkpoints its architecture and parameters", "[recurrent]") {
  pgrad::Rng rng(1);
  Discrete<float> policy(3, 2, small_recurrent_config(true), rng);
  pgrad::Writer w;
  policy.save_state(w);
  pgrad::Rng other_rng(2);
  Discrete<float> restored(3, 2, small_recurrent_config(true), other_rng);
  pgrad::Reader r(w.bytes(), "test");
  restored.load_state(r);
  CHECK((restored.flat_parameters().array() == policy.flat_parameters().array()).all());
  Discrete<float> separate(3, 2, small_recurrent_config(false), other_rng);
  pgrad::Reader again(w.bytes(), "test");
  CHECK_THROWS_AS(separate.load_state(again), pgrad::Error);
}

TEST_CASE("Recurrent and feed-forward policies refuse each other's configuration", "[recurrent]") {
  pgrad::Rng rng(1);
  pgrad::PolicyConfig config;
  CHECK_THROWS_AS(Discrete<float>(3, 2, config, rng), pgrad::Error);  // recurrent_size = 0
  config.recurrent_size = 8;
  CHECK_THROWS_AS((pgrad::ActorCritic<float, pgrad::dist::Categorical<float>>(3, 2, config, rng)), pgrad::Error);
  config.recurrent_size = -1;
  CHECK_THROWS_AS(Discrete<float>(3, 2, config, rng), pgrad::Error);
  config.recurrent_size = 4;
  config.dropout = 0.5;  // ActorCritic's dropout has no recurrent counterpart
  CHECK_THROWS_WITH(Discrete<float>(3, 2, config, rng), Catch::Contains("policy.dropout"));
  config.dropout = 0;
  Discrete<float> policy(3, 2, config, rng);
  Matrix<float> wrong = Matrix<float>::Zero(3, 2);
  typename Discrete<float>::Actions actions;
  RowVector<float> log_probs;
  CHECK_THROWS_AS(policy.act(Matrix<float>::Zero(3, 2), wrong, rng, actions, log_probs), pgrad::Error);
}

}  // namespace
