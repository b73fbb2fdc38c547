// Trains Pendulum-v1 (continuous torque) with PPO (default) or TRPO and a diagonal-Gaussian
// policy (or a tanh-squashed Gaussian or a Beta: --distribution), then evaluates the
// deterministic policy (the mean action) over 100 episodes. "Solved" = evaluation mean >= -250.
//   ./build/examples/pendulum [--algo ppo|trpo] [--distribution gaussian|squashed_gaussian|beta]
//                             [--state-dependent-std] [--seed 1] [--steps N] [--threads 2] [--csv PATH]
//                             [--save PATH [--save-every K]] [--load PATH [--eval N]]
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/pendulum.hpp>

#include "example_common.hpp"

using Env = pgrad::envs::Pendulum<float>;

template <class Algorithm, class Config>
int run(Config config, example::Options options, long long default_steps, long long print_every) {
  if (options.steps == 0) options.steps = default_steps;
  config.num_threads = options.threads;
  config.policy.state_dependent_std = options.state_dependent_std;
  config.policy.box_distribution = options.distribution == "beta"                ? pgrad::BoxDistribution::beta
                                   : options.distribution == "squashed_gaussian" ? pgrad::BoxDistribution::squashed_gaussian
                                                                                 : pgrad::BoxDistribution::gaussian;
  std::printf("Pendulum-v1 with %s, %s policy, seed %llu, %d threads\n", options.algo.c_str(),
              options.distribution.c_str(), static_cast<unsigned long long>(options.seed), options.threads);
  Algorithm algorithm = example::make_algorithm<Algorithm>(Env{}, config, options.seed);
  const double seconds = example::train(algorithm, options, print_every);
  const auto evaluation =
      pgrad::evaluate_policy(algorithm.policy(), Env{}, options.eval > 0 ? options.eval : 100, options.seed);
  return example::print_result(options.algo, evaluation, -250.0, example::total_steps(algorithm), seconds);
}

int main(int argc, char** argv) try {
  const example::Processes processes(argc, argv);
  const auto options = example::parse_options(argc, argv, "Trains Pendulum-v1 and evaluates the policy",
                                              example::Options{}, example::checkpoints | example::box_actions, {"ppo", "trpo"});
  namespace presets = pgrad::algo::presets;
  if (options.algo == "trpo") return run<pgrad::algo::Trpo<Env>>(presets::pendulum_trpo(), options, 500000, 20);
  return run<pgrad::algo::Ppo<Env>>(presets::pendulum_ppo(), options, 307200, 5);
} catch (const std::exception& error) {
  if (example::Processes::prints_errors()) std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
