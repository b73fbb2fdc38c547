// Trains one of Gymnasium's MuJoCo locomotion tasks (Walker2d-v4, Hopper-v4, HalfCheetah-v4) with
// observation and reward normalisation, by PPO (default: CleanRL's ppo_continuous_action.py
// settings on 2 environment copies x 1024 steps, 32 minibatches, 10 epochs; --preset picks
// another, see presets.hpp) or TRPO (RL-Zoo's MuJoCo settings, 2 copies), then evaluates the
// deterministic policy over 10 episodes with the observation statistics frozen. The same setup
// as walker2d.cpp, for any of the three.
// Published PPO at 1M steps (CleanRL v4 / RL-Zoo): Walker2d 2288 / 3479, Hopper 2383 / 2410,
// HalfCheetah 1443 / 5819.
//   ./build/examples/mujoco [--env walker2d|hopper|half_cheetah] [--algo ppo|trpo]
//                           [--preset details37|rlzoo (walker2d only)] [--seed 1] [--steps 1000000]
//                           [--threads 2] [--csv PATH]
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/half_cheetah.hpp>
#include <pgrad/envs/hopper.hpp>
#include <pgrad/envs/walker2d.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>

#include "example_common.hpp"

namespace {

/// The training stack around a task: raw returns recorded for the progress report, then
/// observation and reward normalisation.
template <class Task>
struct Stack {
  using Recorded = pgrad::envs::RecordEpisodeStatistics<Task>;
  using ObservationNormalized = pgrad::envs::NormalizeObservation<Recorded>;
  using Env = pgrad::envs::NormalizeReward<ObservationNormalized>;
};

template <class Task, template <class> class Algorithm, class Config>
int run(Config config, const example::Options& options, const char* gymnasium_id, double threshold) {
  using S = Stack<Task>;
  config.num_threads = options.threads;
  std::printf("%s with %s, seed %llu, %d threads, %d process(es)\n", gymnasium_id, options.algo.c_str(),
              static_cast<unsigned long long>(options.seed), options.threads, example::Processes::current().count());
  const typename S::Env env(typename S::ObservationNormalized(typename S::Recorded(Task())), config.gamma);
  auto algorithm = example::make_algorithm<Algorithm<typename S::Env>>(env, config, options.seed);
  const double seconds = example::train(algorithm, options, 10);
  const double env_seconds = algorithm.collector().env_seconds();
  std::printf("time: %.1f s in all, %.1f s stepping MuJoCo (VectorEnv::step), learning overhead %.1f%%\n",
              seconds, env_seconds, 100.0 * (seconds - env_seconds) / seconds);

  // Evaluate on raw rewards with the first copy's observation statistics, frozen.
  typename S::ObservationNormalized evaluation_env = algorithm.collector().env().env(0).inner();
  evaluation_env.set_training(false);
  const auto evaluation = pgrad::evaluate_policy(algorithm.policy(), evaluation_env, 10, options.seed);
  return example::print_result(options.algo, evaluation, threshold, example::total_steps(algorithm), seconds);
}

/// Trains `Task` with the algorithm the options name. `threshold`: the evaluation mean that
/// counts as solved (the exit code).
template <class Task>
int train_task(const example::Options& options, const char* gymnasium_id, double threshold) {
  if (options.algo == "trpo")
    return run<Task, pgrad::algo::Trpo>(pgrad::algo::presets::mujoco_trpo(), options, gymnasium_id, threshold);
  return run<Task, pgrad::algo::Ppo>(example::mujoco_ppo_config(options, options.env), options, gymnasium_id,
                                     threshold);
}

}  // namespace

int main(int argc, char** argv) try {
  const example::Processes processes(argc, argv);
  example::Options defaults;
  defaults.steps = 1000000;
  const auto options = example::parse_options(argc, argv, "Trains a MuJoCo locomotion task and evaluates the policy",
                                              defaults, example::mujoco_tasks | example::mujoco_presets,
                                              {"ppo", "trpo"});
  if (options.env == "hopper") return train_task<pgrad::envs::Hopper<float>>(options, "Hopper-v4", 2000.0);
  if (options.env == "half_cheetah")
    return train_task<pgrad::envs::HalfCheetah<float>>(options, "HalfCheetah-v4", 1500.0);
  return train_task<pgrad::envs::Walker2d<float>>(options, "Walker2d-v4", 2000.0);
} catch (const std::exception& error) {
  if (example::Processes::prints_errors()) std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
