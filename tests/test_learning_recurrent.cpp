// Learning with memory: on CartPole with its velocities hidden (x and theta only), PPO with a GRU
// policy (presets::cartpole_ppo_gru) reaches a deterministic evaluation mean >= 475 over 100
// episodes within 250k steps on at least three of seeds 1-6, while the MLP policy with the same
// settings and budget stays far below (it cannot infer the velocities). Release build: about 5 s
// per GRU run.
// TRPO with a GRU policy (presets::cartpole_trpo_gru) solves it too on at least three of seeds
// 1-6 within 300k steps (about 3-9 s each), the MLP with TRPO's settings stays near 40; A2C
// trains a GRU policy on CartPole with its velocities (presets::cartpole_a2c_gru, at least three
// of seeds 1-6, about 0.5 s each).
#include <catch2/catch.hpp>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>
#include <pgrad/training/evaluate.hpp>

#include "seed_rates.hpp"

namespace {

using Env = pgrad::envs::SelectObservation<pgrad::envs::CartPole<float>, 2>;
constexpr long long budget = 250000;

Env env() { return pgrad::envs::hide_cartpole_velocity(pgrad::envs::CartPole<float>{}); }

template <class Algorithm, class E = Env, class Config>
double evaluation_after_training(const Config& config, std::uint64_t seed, long long steps = budget,
                                 const pgrad::algo::UpdateCallback& on_update = {}, const E& environment = env()) {
  Algorithm algorithm(environment, config, seed);
  algorithm.learn(steps, on_update);
  return pgrad::evaluate_policy(algorithm.policy(), environment, 100, seed).mean_return;
}

}  // namespace

TEST_CASE("A GRU policy solves CartPole without velocities and an MLP with the same budget does not",
          "[learning][recurrent]") {
  // Seeds 1-4 reach 475 on the AVX-512 build at -O3 (456 and 403 on seeds 5 and 6); the same
  // code at -O2 rounds differently and seed 2 got 440, so this counts seeds as the cases below do.
  std::string log;
  const int solved = pgrad_test::seeds_reaching(475.0, 3, 6, [](std::uint64_t seed) {
    return evaluation_after_training<pgrad::algo::Ppo<Env, pgrad::RecurrentPolicyFor<Env>>>(
        pgrad::algo::presets::cartpole_ppo_gru(), seed);
  }, log);
  INFO(log);
  CHECK(solved >= 3);
  for (std::uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    const double mlp = evaluation_after_training<pgrad::algo::Ppo<Env>>(pgrad::algo::presets::cartpole_ppo_fast(), seed);
    CHECK(mlp < 200.0);
  }
}

TEST_CASE("TRPO trains a GRU policy on CartPole without velocities and an MLP with the same budget does not",
          "[learning][recurrent][trpo]") {
  // TRPO needs more samples than PPO, and which seeds reach 500 within 300k steps depends on the
  // build: 4 of seeds 1-6 on the AVX-512 build (140 and 183 on seeds 1 and 5), 5 of 6 on the
  // x86-64-v3 build (29 on seed 6). As for the MLP on CartPole, training stops once the last 100
  // episodes average 475 (TRPO's policy keeps moving once solved).
  const pgrad::algo::TrpoConfig config = pgrad::algo::presets::cartpole_trpo_gru();
  std::string log;
  const int solved = pgrad_test::seeds_reaching(475.0, 3, 6, [&](std::uint64_t seed) {
    return evaluation_after_training<pgrad::algo::Trpo<Env, pgrad::RecurrentPolicyFor<Env>>>(
        config, seed, 300000, pgrad::stop_at_return(475.0));
  }, log);
  INFO(log);
  CHECK(solved >= 3);
  pgrad::algo::TrpoConfig mlp = config;
  mlp.policy = pgrad::algo::presets::cartpole_trpo().policy;
  CHECK(evaluation_after_training<pgrad::algo::Trpo<Env>>(mlp, 2, 300000) < 100.0);
}

TEST_CASE("A2C trains a GRU policy on CartPole", "[learning][recurrent][a2c]") {
  // With cartpole_a2c_gru()'s entropy bonus (without it the policy collapsed to one action on
  // some seeds: 2 of 6 solved on the x86-64-v3 build), 4 to 6 of seeds 1-6 reach 475 within 300k
  // steps on the AVX-512 and x86-64-v3 builds at -O2 and -O3; the others get 90-420.
  using CartPole = pgrad::envs::CartPole<float>;
  std::string log;
  const int solved = pgrad_test::seeds_reaching(475.0, 3, 6, [](std::uint64_t seed) {
    return evaluation_after_training<pgrad::algo::A2c<CartPole, pgrad::RecurrentPolicyFor<CartPole>>>(
        pgrad::algo::presets::cartpole_a2c_gru(), seed, 300000, pgrad::stop_at_return(475.0), CartPole{});
  }, log);
  INFO(log);
  CHECK(solved >= 3);
}
