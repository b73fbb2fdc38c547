// Learning test on Pendulum-v1: PPO with a diagonal-Gaussian policy reaches a deterministic
// evaluation mean >= -250 over 100 episodes within 300k steps, on two seeds.
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
