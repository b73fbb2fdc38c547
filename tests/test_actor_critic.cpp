// ActorCritic's acting paths and structure: values computed on a worker while the caller acts
// (the rollout's path) against predict_values, bit for bit; errors from such a pass; a policy
// without a critic has none (no parameters, no initial draws, no optimiser state); and a
// rollout's stored values against the critic's values of its stored observations, whatever the
// threads.
#include <catch2/catch.hpp>

#include <limits>

#include <pgrad/algorithms/collector.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/policies/actor_critic.hpp>

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

pgrad::PolicyConfig config_with(bool shared_trunk, bool with_critic) {
  pgrad::PolicyConfig config;
  config.with_critic = with_critic;
  if (shared_trunk) {
    config.shared_hidden = {16};
    config.actor_hidden = {8};
    config.critic_hidden = {8};
  }
  return config;
}

}  // namespace

TEST_CASE("compute_values on a worker gives predict_values' bits while the caller acts", "[policy]") {
  for (bool shared_trunk : {false, true})
    for (bool with_critic : {true, false}) {
      INFO("shared trunk " << shared_trunk << " critic " << with_critic);
      pgrad::Rng rng(7);
      Policy policy(4, 3, config_with(shared_trunk, with_critic), rng);
      const Matrix<float> observations = random_observations(4, 37, rng);

      // One observation at a time: the reference values.
      RowVector<float> expected(37), value;
      for (Index j = 0; j < 37; ++j) {
        policy.predict_values(observations.col(j), value);
        expected[j] = value[0];
      }

      // Two blocks of different sizes on worker 1, with acting on this thread meanwhile.
      pgrad::ThreadPool pool(2);
      RowVector<float> values = RowVector<float>::Constant(37, -1.0f);
      auto first = [&] { policy.compute_values(observations.leftCols(30), values.head(30)); };
      auto second = [&] { policy.compute_values(observations.rightCols(7), values.tail(7)); };
      pgrad::IndexRowVector actions;
      RowVector<float> log_probs, acted_values;
      pool.start(first);
      policy.act(observations.leftCols(5), rng, actions, log_probs, acted_values);
      pool.join();
      pool.start(second);
      pool.join();
      pool.join();  // nothing pending: returns at once
      CHECK(values == expected);
      CHECK(acted_values == expected.head(5));
      if (!with_critic) CHECK(values.isZero());
    }
}

TEST_CASE("act() with values samples exactly as act() without", "[policy]") {
  pgrad::Rng init(3);
  Policy policy(4, 3, config_with(false, true), init);
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

TEST_CASE("a NaN observation in a value pass on a worker is reported by join", "[policy][errors]") {
  if (!pgrad::checks_enabled()) return;
  for (int threads : {1, 2}) {
    pgrad::Rng rng(9);
    Policy policy(4, 2, config_with(false, true), rng);
    Matrix<float> observations = random_observations(4, 8, rng);
    observations(2, 5) = std::numeric_limits<float>::quiet_NaN();
    RowVector<float> values(8);
    INFO("threads " << threads);
    pgrad::ThreadPool pool(threads);
    auto job = [&] { policy.compute_values(observations, values); };
    // With one thread the pass runs inside start; either way join reports it.
    pool.start(job);
    CHECK_THROWS_WITH(pool.join(), Catch::Contains("non-finite value nan at row 2, column 5"));
    // The policy and the pool are usable afterwards.
    observations(2, 5) = 0.5f;
    pool.start(job);
    CHECK_NOTHROW(pool.join());
    CHECK(values.allFinite());
  }
}

TEST_CASE("compute_values checks that the value row fits the observations", "[policy][errors]") {
  pgrad::Rng rng(2);
  Policy policy(4, 2, config_with(false, true), rng);
  const Matrix<float> observations = random_observations(4, 6, rng);
  RowVector<float> values(5);
  CHECK_THROWS_WITH(policy.compute_values(observations, values), Catch::Contains("6 observations") &&
                                                                       Catch::Contains("5 values"));
}

TEST_CASE("a policy without a critic has no critic: no parameters, no draws, no optimiser state", "[policy]") {
  using Gaussian = pgrad::ActorCritic<float, pgrad::dist::ContinuousDistribution<float>>;
  pgrad::Rng with_rng(4), without_rng(4);
  Gaussian with(3, 2, config_with(false, true), with_rng);
  Gaussian without(3, 2, config_with(false, false), without_rng);
  CHECK(with.has_critic());
  CHECK_FALSE(without.has_critic());
  CHECK_THROWS_WITH(without.critic(), Catch::Contains("no critic"));
  // The actor is drawn first, so both actors match; only the critic's draws are missing.
  CHECK(without.actor().parameters().value == with.actor().parameters().value);
  CHECK(without.parameter_count() == with.actor().parameters().size() + 2);  // + log-std
  CHECK(without_rng != with_rng);
  pgrad::Rng actor_only(4);
  pgrad::nn::Mlp<float> actor({3, 64, 64, 2}, pgrad::nn::Activation::tanh, pgrad::nn::Activation::identity);
  pgrad::nn::init_orthogonal(actor, actor_only, std::sqrt(2.0), 0.01);
  CHECK(actor_only == without_rng);
  // Adam keeps moments for the actor and the log-std only.
  pgrad::nn::Adam<float> adam;
  without.zero_grad();
  without.apply(adam);
  CHECK(adam.state().vectors().size() == 4);  // 2 blocks x (m, v)
  pgrad::RowVector<float> values;
  without.predict_values(Matrix<float>::Zero(3, 4), values);
  CHECK(values == RowVector<float>::Zero(4));
}

TEST_CASE("a rollout stores the critic's values of its observations, bit for bit, whatever the threads",
          "[policy][rollout]") {
  using Env = pgrad::envs::CartPole<float>;
  using Stepping = pgrad::envs::ParallelStepping;
  // Stepping the copies on the workers makes the collector compute the values on its own thread.
  for (int threads : {1, 2})
    for (Stepping stepping : {Stepping::never, Stepping::always}) {
      pgrad::Rng rng(21);
      Policy policy(4, 2, config_with(false, true), rng);
      pgrad::ThreadPool pool(threads);
      pgrad::RandomStreams streams(8);
      pgrad::envs::VectorEnv<Env> envs(3, Env{}, streams, pool);
      envs.set_parallel_stepping(stepping);
      REQUIRE(envs.steps_in_parallel() == (threads == 2 && stepping == Stepping::always));
      pgrad::algo::RolloutCollector<Env, Policy> collector(std::move(envs), streams.take(pgrad::Stream::action_sampling));
      pgrad::algo::RolloutBuffer<float, pgrad::IndexRowVector> buffer;
      buffer.resize(45, 3, 4, 1);  // 135 samples: five value blocks of 9 steps
      for (int round = 0; round < 2; ++round) {
        CHECK(collector.collect(policy, buffer, false, &pool) == 45);
        INFO("threads " << threads << " parallel stepping " << (stepping == Stepping::always) << " round " << round);
        for (Index j = 0; j < buffer.size(); ++j) {
          RowVector<float> value;
          policy.predict_values(buffer.observations.col(j), value);
          REQUIRE(decltype(buffer)::flat(buffer.values)[j] == value[0]);
        }
      }
    }
}
