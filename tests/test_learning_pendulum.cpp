// Learning tests on Pendulum-v1: PPO (300k steps) and TRPO (500k steps) with a diagonal-Gaussian
// policy reach a deterministic evaluation mean >= -250 over 100 episodes, on two seeds each; so do
// the bounded distributions (tanh-squashed Gaussian and Beta) with PPO on two seeds and TRPO on one.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/training/evaluate.hpp>

#include "thread_invariance.hpp"

using Env = pgrad::envs::Pendulum<float>;

TEST_CASE("PPO swings up Pendulum within 300k steps", "[learning][ppo][pendulum]") {
  for (std::uint64_t seed : {1, 2}) {
    pgrad::algo::Ppo<Env> ppo(Env{}, pgrad::algo::presets::pendulum_ppo(), seed);
    ppo.learn(300000);
    INFO("seed " << seed);
    CHECK(pgrad::evaluate_policy(ppo.policy(), Env{}, 100, seed).mean_return >= -250.0);
  }
}

TEST_CASE("TRPO swings up Pendulum within 500k steps", "[learning][trpo][pendulum]") {
  for (std::uint64_t seed : {1, 2}) {
    pgrad::algo::Trpo<Env> trpo(Env{}, pgrad::algo::presets::pendulum_trpo(), seed);
    trpo.learn(500000);
    INFO("seed " << seed);
    CHECK(pgrad::evaluate_policy(trpo.policy(), Env{}, 100, seed).mean_return >= -250.0);
  }
}

TEST_CASE("PPO with a state-dependent log-std head swings up Pendulum within 300k steps", "[learning][ppo][pendulum]") {
  pgrad::algo::PpoConfig config = pgrad::algo::presets::pendulum_ppo();
  config.policy.state_dependent_std = true;
  for (std::uint64_t seed : {1, 2}) {
    pgrad::algo::Ppo<Env> ppo(Env{}, config, seed);
    ppo.learn(300000);
    INFO("seed " << seed);
    CHECK(pgrad::evaluate_policy(ppo.policy(), Env{}, 100, seed).mean_return >= -250.0);
  }
}

namespace {
pgrad::algo::PpoConfig bounded_ppo(pgrad::BoxDistribution kind) {
  pgrad::algo::PpoConfig config = pgrad::algo::presets::pendulum_ppo();
  config.policy.box_distribution = kind;
  return config;
}
}  // namespace

namespace {
// PPO with a bounded distribution reaches a deterministic evaluation of -250 on seeds 1 and 2.
void check_bounded_ppo_swings_up(pgrad::BoxDistribution kind, long long steps) {
  for (std::uint64_t seed : {1, 2}) {
    pgrad::algo::Ppo<Env> ppo(Env{}, bounded_ppo(kind), seed);
    ppo.learn(steps);
    INFO("seed " << seed);
    CHECK(pgrad::evaluate_policy(ppo.policy(), Env{}, 100, seed).mean_return >= -250.0);
  }
}
}  // namespace

TEST_CASE("PPO with a tanh-squashed Gaussian swings up Pendulum within 300k steps", "[learning][ppo][pendulum]") {
  check_bounded_ppo_swings_up(pgrad::BoxDistribution::squashed_gaussian, 300000);
}

TEST_CASE("PPO with a Beta policy swings up Pendulum within 400k steps", "[learning][ppo][pendulum]") {
  check_bounded_ppo_swings_up(pgrad::BoxDistribution::beta, 409600);
}

TEST_CASE("TRPO with bounded distributions swings up Pendulum within 500k steps", "[learning][trpo][pendulum]") {
  for (pgrad::BoxDistribution kind : {pgrad::BoxDistribution::squashed_gaussian, pgrad::BoxDistribution::beta}) {
    pgrad::algo::TrpoConfig config = pgrad::algo::presets::pendulum_trpo();
    config.policy.box_distribution = kind;
    pgrad::algo::Trpo<Env> trpo(Env{}, config, 1);
    trpo.learn(500000);
    INFO(pgrad::box_distribution_name(kind));
    CHECK(pgrad::evaluate_policy(trpo.policy(), Env{}, 100, 1).mean_return >= -250.0);
  }
}

TEST_CASE("bounded distributions train bit-identically whatever the thread count", "[learning][determinism]") {
  for (pgrad::BoxDistribution kind : {pgrad::BoxDistribution::squashed_gaussian, pgrad::BoxDistribution::beta}) {
    INFO(pgrad::box_distribution_name(kind));
    const auto train = [&](std::uint64_t seed, int threads) {
      pgrad::algo::PpoConfig config = bounded_ppo(kind);
      config.num_threads = threads;
      pgrad::algo::Ppo<Env> ppo(Env{}, config, seed);
      ppo.learn(20000);
      return pgrad::Vector<float>(ppo.policy().flat_parameters());
    };
    pgrad_test::check_same_parameters_for_thread_counts(train);
  }
}
