// Learning with MultiDiscrete actions: PPO, A2C, TRPO and REINFORCE solve the three-dial task
// (examples/dials.hpp: optimal 16, random about 5.5), and PPO with per-component masks
// never takes a forbidden position, in training or evaluation.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/training/evaluate.hpp>

#include "../examples/dials.hpp"
#include "thread_invariance.hpp"

using pgrad::Index;

namespace {
// The deterministic evaluation mean over 50 episodes after training for `steps`.
template <class Algorithm>
double evaluation_after(Algorithm& algorithm, long long steps, const Dials& env) {
  algorithm.learn(steps);
  return pgrad::evaluate_policy(algorithm.policy(), env, 50, 3).mean_return;
}
}  // namespace

TEST_CASE("PPO, A2C, TRPO and REINFORCE learn the MultiDiscrete dials", "[multi_discrete][learning]") {
  SECTION("PPO") {
    pgrad::algo::PpoConfig config;
    config.ent_coef = 0.0;
    config.learning_rate = 1e-3;
    pgrad::algo::Ppo<Dials> ppo(Dials{}, config, 1);
    CHECK(evaluation_after(ppo, 150000, Dials{}) >= 15.0);
  }
  SECTION("A2C") {
    pgrad::algo::A2cConfig config;
    config.ent_coef = 0.0;
    pgrad::algo::A2c<Dials> a2c(Dials{}, config, 1);
    CHECK(evaluation_after(a2c, 150000, Dials{}) >= 15.0);
  }
  SECTION("TRPO") {
    pgrad::algo::TrpoConfig config;
    config.num_steps = 512;
    pgrad::algo::Trpo<Dials> trpo(Dials{}, config, 1);
    CHECK(evaluation_after(trpo, 150000, Dials{}) >= 15.0);
  }
  SECTION("REINFORCE") {
    pgrad::algo::ReinforceConfig config;  // with a baseline: the returns of one 16-step episode say little alone
    config.policy.with_critic = true;
    config.learning_rate = 1e-3;
    pgrad::algo::Reinforce<Dials> reinforce(Dials{}, config, 1);
    CHECK(evaluation_after(reinforce, 300000, Dials{}) >= 15.0);
  }
}

TEST_CASE("PPO with per-component masks never takes a forbidden position, in training or evaluation",
          "[multi_discrete][masks][learning]") {
  const Dials env = masked_dials();
  pgrad::algo::PpoConfig config;
  config.ent_coef = 0.0;
  config.learning_rate = 1e-3;
  pgrad::algo::Ppo<Dials> ppo(env, config, 2);
  const double evaluation = evaluation_after(ppo, 150000, env);
  CHECK(evaluation >= 15.0);
  CHECK(evaluation <= 16.0);  // no forbidden lure (10 each) was collected
  CHECK(*env.forbidden_taken == 0);
  for (Index i = 0; i < ppo.collector().env().num_envs(); ++i) CHECK(*ppo.collector().env().env(i).forbidden_taken == 0);
}


TEST_CASE("MultiDiscrete PPO with masks trains bit-identically whatever the thread count",
          "[multi_discrete][determinism][learning]") {
  const auto train = [](std::uint64_t seed, int threads) {
    pgrad::algo::PpoConfig config;
    config.num_threads = threads;
    pgrad::algo::Ppo<Dials> ppo(masked_dials(), config, seed);
    ppo.learn(10000);
    return pgrad::Vector<float>(ppo.policy().flat_parameters());
  };
  pgrad_test::check_same_parameters_for_thread_counts(train);
}
