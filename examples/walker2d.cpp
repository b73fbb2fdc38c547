// Trains Walker2d (MuJoCo) with observation and reward normalisation, by PPO (default:
// CleanRL's ppo_continuous_action.py settings on 2 environment copies x 1024 steps, 32
// minibatches, 10 epochs; --preset rlzoo: RL-Zoo's tuned Walker2d PPO, --preset details37: the 37
// implementation details' settings, 1 copy x 2048 steps; see presets.hpp) or TRPO (RL-Zoo's
// MuJoCo settings, 2 copies), then evaluates the deterministic policy over 10 episodes with the
// observation statistics frozen. Published results at 1M steps: PPO about 2300-3500, TRPO
// (sb3-contrib) 4933.
//   ./build/examples/walker2d [--algo ppo|trpo] [--preset rlzoo|details37] [--seed 1] [--steps 1000000]
//                             [--threads 2] [--csv PATH]
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/walker2d.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>

#include "example_common.hpp"

using Walker = pgrad::envs::Walker2d<float>;
using Recorded = pgrad::envs::RecordEpisodeStatistics<Walker>;  // raw returns for the progress report
using ObservationNormalized = pgrad::envs::NormalizeObservation<Recorded>;
using Env = pgrad::envs::NormalizeReward<ObservationNormalized>;

template <class Algorithm, class Config>
int run(Config config, const example::Options& options) {
  config.num_threads = options.threads;
  std::printf("Walker2d-v4 with %s, seed %llu, %d threads, %d process(es)\n", options.algo.c_str(),
              static_cast<unsigned long long>(options.seed), options.threads, example::Processes::current().count());
  const Env env(ObservationNormalized(Recorded(Walker())), config.gamma);
  Algorithm algorithm = example::make_algorithm<Algorithm>(env, config, options.seed);
  const double seconds = example::train(algorithm, options, 10);
  const double env_seconds = algorithm.collector().env_seconds();
  std::printf("time: %.1f s in all, %.1f s stepping MuJoCo (VectorEnv::step), learning overhead %.1f%%\n",
              seconds, env_seconds, 100.0 * (seconds - env_seconds) / seconds);

  // Evaluate on raw rewards with the first copy's observation statistics, frozen.
  ObservationNormalized evaluation_env = algorithm.collector().env().env(0).inner();
  evaluation_env.set_training(false);
  const auto evaluation = pgrad::evaluate_policy(algorithm.policy(), evaluation_env, 10, options.seed);
  example::print_result(options.algo, evaluation, 2000.0, example::total_steps(algorithm), seconds);
  return 0;
}

int main(int argc, char** argv) try {
  const example::Processes processes(argc, argv);
  example::Options defaults;
  defaults.steps = 1000000;
  const auto options = example::parse_options(argc, argv, "Trains Walker2d (MuJoCo) and evaluates the policy",
                                              defaults, example::mujoco_presets, {"ppo", "trpo"});
  if (options.algo == "trpo") return run<pgrad::algo::Trpo<Env>>(pgrad::algo::presets::mujoco_trpo(), options);
  return run<pgrad::algo::Ppo<Env>>(example::mujoco_ppo_config(options, "walker2d"), options);
} catch (const std::exception& error) {
  if (example::Processes::prints_errors()) std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
