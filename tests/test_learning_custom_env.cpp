// The custom environment of examples/custom_env.cpp (LineWalk) is learned by PPO with default
// settings: near-optimal deterministic return (optimal 0.85) within 50k steps, on two seeds.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/training/evaluate.hpp>

#include "../examples/line_walk.hpp"

TEST_CASE("PPO learns the custom LineWalk environment", "[learning][ppo][custom]") {
  pgrad::envs::check_env(LineWalk{}, 3);
  for (std::uint64_t seed : {1, 2}) {
    pgrad::algo::Ppo<LineWalk> ppo(LineWalk{}, pgrad::algo::PpoConfig{}, seed);
    ppo.learn(50000);
    INFO("seed " << seed);
    CHECK(pgrad::evaluate_policy(ppo.policy(), LineWalk{}, 100, seed).mean_return >= 0.8);
  }
}
