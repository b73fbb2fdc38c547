// Trains Walker2d (MuJoCo) with PPO, CleanRL's ppo_continuous_action.py settings (observation and
// reward normalisation, 2048 steps per rollout, 32 minibatches, 10 epochs) on 2 environment
// copies, then evaluates the deterministic policy over 10 episodes with the observation
// statistics frozen. Published PPO results at 1M steps are about 2300-3500.
//   ./build/examples/walker2d [--seed 1] [--steps 1000000] [--threads 2] [--csv PATH]
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/walker2d.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>

#include "example_common.hpp"

using Walker = pgrad::envs::Walker2d<float>;
using Recorded = pgrad::envs::RecordEpisodeStatistics<Walker>;  // raw returns for the progress report
using ObservationNormalized = pgrad::envs::NormalizeObservation<Recorded>;
using Env = pgrad::envs::NormalizeReward<ObservationNormalized>;

int main(int argc, char** argv) try {
  example::Options defaults;
  defaults.steps = 1000000;
  const auto options =
      example::parse_options(argc, argv, "Trains Walker2d (MuJoCo) with PPO and evaluates the policy", defaults,
                             example::basic);
  pgrad::algo::PpoConfig config = pgrad::algo::PpoConfig::continuous_defaults();
  config.num_envs = 2;
  config.num_steps = 1024;
  config.num_threads = options.threads;
  std::printf("Walker2d-v4 with ppo, seed %llu, %d threads\n", static_cast<unsigned long long>(options.seed),
              options.threads);

  const Env env(ObservationNormalized(Recorded(Walker())), config.gamma);
  pgrad::algo::Ppo<Env> ppo(env, config, options.seed);
  const double seconds = example::train(ppo, options, 10);
  const double env_seconds = ppo.collector().env_seconds();
  std::printf("time: %.1f s in all, %.1f s stepping MuJoCo (VectorEnv::step), learning overhead %.1f%%\n",
              seconds, env_seconds, 100.0 * (seconds - env_seconds) / seconds);

  // Evaluate on raw rewards with the first copy's observation statistics, frozen.
  ObservationNormalized evaluation_env = ppo.collector().env().env(0).inner();
  evaluation_env.set_training(false);
  const auto evaluation = pgrad::evaluate_policy(ppo.policy(), evaluation_env, 10, options.seed);
  example::print_result("ppo", evaluation, 2000.0, ppo.collector().steps(), seconds);
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
