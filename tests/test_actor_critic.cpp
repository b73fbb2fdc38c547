// ActorCritic's acting paths: act() with and without values, values computed in the background
// by start_values (the rollout's path) against act()'s, bit for bit, with one and two threads,
// a shared trunk and no critic; errors from the background pass; and a rollout's stored values
// against the critic's values of its stored observations.
#include <catch2/catch.hpp>

#include <limits>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/envs/cartpole.hpp>

using pgrad::Index;
using pgrad::Matrix;
using pgrad::RowVector;
using Policy = pgrad::ActorCritic<float, pgrad::dist::Categorical<float>>;

namespace {

Matrix<float> random_observations(Index rows, Index cols, pgrad::Rng& rng) {
  Matrix<float> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal<float>();
  return m;
}

pgrad::PolicyConfig config_with(int threads, bool shared_trunk, bool with_critic) {
  pgrad::PolicyConfig config;
  config.num_threads = threads;
  config.with_critic = with_critic;
  if (shared_trunk) {
    config.shared_hidden = {16};
    config.actor_hidden = {8};
    config.critic_hidden = {8};
  }
  return config;
}

}  // namespace

TEST_CASE("start_values gives act()'s values bit for bit, whatever the threads and block", "[policy]") {
  for (int threads : {1, 2})
    for (bool shared_trunk : {false, true})
      for (bool with_critic : {true, false}) {
        INFO("threads " << threads << " shared trunk " << shared_trunk << " critic " << with_critic);
        pgrad::Rng rng(7);
        Policy policy(4, 3, config_with(threads, shared_trunk, with_critic), rng);
        const Matrix<float> observations = random_observations(4, 37, rng);

        // act() one sample at a time: the reference values (and the actions it samples).
        RowVector<float> expected(37);
        pgrad::IndexRowVector actions;
        RowVector<float> log_probs, value;
        for (Index j = 0; j < 37; ++j) {
          policy.act(observations.col(j), rng, actions, log_probs, value);
          expected[j] = value[0];
        }

        // Two background blocks of different sizes into one row, with acting in between.
        RowVector<float> values = RowVector<float>::Constant(37, -1.0f);
        policy.start_values(observations.leftCols(30), values.head(30));
        policy.act(observations.leftCols(5), rng, actions, log_probs);
        policy.wait_values();
        policy.start_values(observations.rightCols(7), values.tail(7));
        policy.wait_values();
        policy.wait_values();  // nothing pending: returns at once
        CHECK(values == expected);
        RowVector<float> on_caller(37);
        policy.compute_values(observations, on_caller);
        CHECK(on_caller == expected);
        if (!with_critic) CHECK(values.isZero());
      }
}

TEST_CASE("act() without values samples exactly as act() with them", "[policy]") {
  pgrad::Rng init(3);
  Policy policy(4, 3, config_with(2, false, true), init);
  pgrad::Rng data(5);
  const Matrix<float> observations = random_observations(4, 50, data);
  pgrad::Rng rng_a(11), rng_b(11);
  pgrad::IndexRowVector actions_a, actions_b;
  RowVector<float> log_probs_a, log_probs_b, values;
  policy.act(observations, rng_a, actions_a, log_probs_a, values);
  policy.act(observations, rng_b, actions_b, log_probs_b);
  CHECK(actions_a == actions_b);
  CHECK(log_probs_a == log_probs_b);
}

TEST_CASE("a NaN observation in a background value pass is reported by wait_values", "[policy][errors]") {
  if (!pgrad::checks_enabled()) return;
  for (int threads : {1, 2}) {
    pgrad::Rng rng(9);
    Policy policy(4, 2, config_with(threads, false, true), rng);
    Matrix<float> observations = random_observations(4, 8, rng);
    observations(2, 5) = std::numeric_limits<float>::quiet_NaN();
    RowVector<float> values(8);
    INFO("threads " << threads);
    // With one thread the pass runs inside start_values; either way wait_values reports it.
    policy.start_values(observations, values);
    CHECK_THROWS_WITH(policy.wait_values(), Catch::Contains("non-finite value nan at row 2, column 5"));
    // The policy is usable afterwards.
    observations(2, 5) = 0.5f;
    policy.start_values(observations, values);
    CHECK_NOTHROW(policy.wait_values());
    CHECK(values.allFinite());
  }
}

TEST_CASE("start_values checks that the value row fits the observations", "[policy][errors]") {
  pgrad::Rng rng(2);
  Policy policy(4, 2, config_with(1, false, true), rng);
  const Matrix<float> observations = random_observations(4, 6, rng);
  RowVector<float> values(5);
  CHECK_THROWS_WITH(policy.start_values(observations, values), Catch::Contains("6 observations") &&
                                                                     Catch::Contains("5 values"));
}

TEST_CASE("a rollout stores the critic's values of its observations, bit for bit", "[policy][rollout]") {
  using Env = pgrad::envs::CartPole<float>;
  // Environment worker threads make the collector compute the values on its own thread instead.
  for (int threads : {1, 2})
    for (int env_threads : {1, 2}) {
      pgrad::Rng rng(21);
      Policy policy(4, 2, config_with(threads, false, true), rng);
      pgrad::algo::RolloutCollector<Env, Policy> collector(pgrad::envs::VectorEnv<Env>(3, Env{}, 8, env_threads), 8);
      pgrad::algo::RolloutBuffer<float, pgrad::IndexRowVector> buffer;
      buffer.resize(45, 3, 4, 1);  // 135 samples: five background blocks of 9 steps
      for (int round = 0; round < 2; ++round) {
        collector.collect(policy, buffer);
        INFO("threads " << threads << " environment threads " << env_threads << " round " << round);
        for (Index j = 0; j < buffer.size(); ++j) {
          RowVector<float> value;
          policy.predict_values(buffer.observations.col(j), value);
          REQUIRE(decltype(buffer)::flat(buffer.values)[j] == value[0]);
        }
      }
    }
}
