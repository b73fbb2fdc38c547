// Trains Pendulum-v1 (continuous torque) with PPO and a diagonal-Gaussian policy, then evaluates
// the deterministic policy (the mean action) over 100 episodes. "Solved" = evaluation mean >= -250.
//   ./build/examples/pendulum [--seed 1] [--steps 307200] [--threads 2] [--csv PATH]
//                             [--save PATH [--save-every K]] [--load PATH [--eval N]]
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/pendulum.hpp>

#include "example_common.hpp"

using Env = pgrad::envs::Pendulum<float>;

int main(int argc, char** argv) try {
  example::Options defaults;
  defaults.steps = 307200;
  const auto options = example::parse_options(argc, argv, "Trains Pendulum-v1 with PPO and evaluates the policy",
                                              defaults, example::checkpoints);
  std::printf("Pendulum-v1 with ppo, seed %llu, %d threads\n", static_cast<unsigned long long>(options.seed),
              options.threads);
  pgrad::algo::PpoConfig config = pgrad::algo::presets::pendulum_ppo();
  config.num_threads = options.threads;
  pgrad::algo::Ppo<Env> ppo(Env{}, config, options.seed);
  const double seconds = example::train(ppo, options, 5);
  const auto evaluation = pgrad::evaluate_policy(ppo.policy(), Env{}, options.eval > 0 ? options.eval : 100, options.seed);
  return example::print_result("ppo", evaluation, -250.0, ppo.collector().steps(), seconds);
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
