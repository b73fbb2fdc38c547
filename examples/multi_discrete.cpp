// Trains a policy with MultiDiscrete actions (examples/dials.hpp: three dials of 3, 5 and 2
// positions, one categorical choice each) and per-component action masks from the environment,
// by PPO (default), A2C, TRPO or REINFORCE, then evaluates the deterministic policy over 100
// episodes. "Solved" = evaluation mean >= 15 (optimal 16, random about 5.5); it also reports how
// often a forbidden position was taken (0: the masks were honoured).
//   ./build/examples/multi_discrete [--algo ppo|a2c|trpo|reinforce] [--seed 1] [--steps 150000] [--threads 2] [--csv PATH]
#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/envs/check_env.hpp>

#include "dials.hpp"
#include "example_common.hpp"

template <class Algorithm, class Config>
int run(Config config, const example::Options& options) {
  config.num_threads = options.threads;
  const Dials env = masked_dials();
  std::printf("Dials (MultiDiscrete {3, 5, 2}, masked) with %s, seed %llu\n", options.algo.c_str(),
              static_cast<unsigned long long>(options.seed));
  Algorithm algorithm(env, config, options.seed);
  const double seconds = example::train(algorithm, options, 50);
  const auto evaluation = pgrad::evaluate_policy(algorithm.policy(), env, 100, options.seed);
  std::printf("forbidden positions taken: %lld\n", *env.forbidden_taken);
  return example::print_result(options.algo, evaluation, 15.0, algorithm.collector().steps(), seconds);
}

int main(int argc, char** argv) try {
  example::Options defaults;
  defaults.steps = 150000;
  const auto options = example::parse_options(argc, argv, "Trains a MultiDiscrete policy with action masks",
                                              defaults, example::basic, {"ppo", "a2c", "trpo", "reinforce"});
  pgrad::envs::check_env(masked_dials(), options.seed);
  namespace algo = pgrad::algo;
  if (options.algo == "a2c") return run<algo::A2c<Dials>>(algo::A2cConfig{}, options);
  if (options.algo == "trpo") {
    algo::TrpoConfig config;
    config.num_steps = 512;
    return run<algo::Trpo<Dials>>(config, options);
  }
  if (options.algo == "reinforce") {
    algo::ReinforceConfig config;  // with a baseline: one 16-step episode's returns say little alone
    config.policy.with_critic = true;
    config.learning_rate = 1e-3;
    return run<algo::Reinforce<Dials>>(config, options);
  }
  algo::PpoConfig config;
  config.learning_rate = 1e-3;
  return run<algo::Ppo<Dials>>(config, options);
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
