// Learning tests on Pendulum-v1: PPO (300k steps) and TRPO (500k steps) with a diagonal-Gaussian
// policy reach a deterministic evaluation mean >= -250 over 100 episodes, on two seeds each.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/training/evaluate.hpp>

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
