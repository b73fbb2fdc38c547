// Trains PPO on an environment written by the user (LineWalk, in line_walk.hpp): any class with
// Scalar/Observation/Action types, observation_space(), action_space(), reset(Rng&) and
// step(action) works. "Solved" = evaluation mean >= 0.8 (the optimal policy averages 0.85).
//   ./build/examples/custom_env [--seed 1] [--steps 50000] [--threads 2] [--csv PATH]
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/check_env.hpp>

#include "example_common.hpp"
#include "line_walk.hpp"

int main(int argc, char** argv) try {
  example::Options defaults;
  defaults.steps = 50000;
  const auto options = example::parse_options(argc, argv, "Trains PPO on LineWalk, an environment written in the example",
                                              defaults, example::basic);
  static_assert(pgrad::envs::require_env<LineWalk>());  // readable compile errors if a member is missing
  pgrad::envs::check_env(LineWalk{}, options.seed);      // runtime checks: sizes, bounds, determinism

  std::printf("LineWalk (custom environment) with ppo, seed %llu\n", static_cast<unsigned long long>(options.seed));
  pgrad::algo::PpoConfig config;
  config.num_threads = options.threads;
  pgrad::algo::Ppo<LineWalk> ppo(LineWalk{}, config, options.seed);
  const double seconds = example::train(ppo, options, 10);
  const auto evaluation = pgrad::evaluate_policy(ppo.policy(), LineWalk{}, 100, options.seed);
  return example::print_result("ppo", evaluation, 0.8, ppo.collector().steps(), seconds);
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
