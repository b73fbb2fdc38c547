// Trains CartPole-v1 with PPO (default), A2C, REINFORCE or TRPO, then evaluates the deterministic
// policy over 100 episodes. "Solved" = evaluation mean >= 475. `--help` lists the options.
//   ./build/examples/cartpole [--algo ppo|a2c|reinforce|trpo] [--preset fast|datacamp|article] [--seed 1] [--steps N]
//                             [--threads 2] [--csv PATH] [--save PATH [--save-every K]] [--load PATH [--eval N]]
//                             [--policy mlp|gru] [--hide-velocity]
// --hide-velocity shows the agent only x and theta (a partially observed task); --policy gru
// trains a recurrent policy (PPO, A2C or TRPO), which can infer the velocities from what it saw.
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>

#include "example_common.hpp"

using CartPole = pgrad::envs::CartPole<float>;

template <class Algorithm, class Env, class Config>
int run(const Env& env, Config config, example::Options options, long long default_steps, long long print_every,
        const pgrad::algo::UpdateCallback& stop = {}) {
  if (options.steps == 0) options.steps = default_steps;
  config.num_threads = options.threads;
  std::printf("CartPole-v1%s with %s (%s policy), seed %llu, %d threads\n",
              options.hide_velocity ? " without velocities" : "", options.algo.c_str(), options.policy.c_str(),
              static_cast<unsigned long long>(options.seed), options.threads);
  Algorithm algorithm = example::make_algorithm<Algorithm>(env, config, options.seed);
  const double seconds = example::train(algorithm, options, print_every, stop);
  const auto evaluation =
      pgrad::evaluate_policy(algorithm.policy(), env, options.eval > 0 ? options.eval : 100, options.seed);
  return example::print_result(options.algo, evaluation, 475.0, example::total_steps(algorithm), seconds);
}

// REINFORCE: the two PyTorch tutorials as published (--preset datacamp|article), each with its
// stopping rule, or pgrad's tuned preset (stops once the last 100 episodes average 475: it
// drifts afterwards). All print when the mean of the last 25 episodes first reaches 475.
template <class Env>
int run_reinforce(const Env& env, example::Options options) {
  namespace presets = pgrad::algo::presets;
  using Reinforce = pgrad::algo::Reinforce<Env>;
  long long reached = 0;
  const auto watch = [&reached](const pgrad::algo::UpdateReport& report) {
    if (reached == 0 && report.episode_log->mean_return(25) >= 475.0) {
      reached = report.episodes;
      std::printf("Reached reward threshold in %lld episodes\n", reached);
    }
    return true;
  };
  // Step budgets of episodes x 500 steps: the episode limit ends the tutorials' runs first.
  int code = 0;
  if (options.preset == "datacamp") {  // the last 25 episodes average 475, at most 500 episodes
    code = run<Reinforce>(env, presets::cartpole_reinforce_datacamp(), options, 500 * 500, 100,
                          pgrad::all_of(watch, pgrad::stop_at_return(475.0, 1, 25), pgrad::stop_after_episodes(500)));
  } else if (options.preset == "article") {  // 1000 episodes
    code = run<Reinforce>(env, presets::cartpole_reinforce_article(), options, 1000 * 500, 100,
                          pgrad::all_of(watch, pgrad::stop_after_episodes(1000)));
  } else {
    code = run<Reinforce>(env, presets::cartpole_reinforce(), options, 300000, 100,
                          pgrad::all_of(watch, pgrad::stop_at_return(475.0)));
  }
  if (reached == 0) std::printf("Did not reach the reward threshold (mean of the last 25 episodes >= 475)\n");
  return code;
}

template <class Env>
int run_on(const Env& env, const example::Options& options) {
  namespace algo = pgrad::algo;
  namespace presets = algo::presets;
  if (options.policy == "gru") {
    using Policy = pgrad::RecurrentPolicyFor<Env>;
    // A2C and TRPO stop once the last 100 episodes average 475: their policies keep moving.
    if (options.algo == "a2c")
      return run<algo::A2c<Env, Policy>>(env, presets::cartpole_a2c_gru(), options, 300000, 2000,
                                         pgrad::stop_at_return(475.0));
    if (options.algo == "trpo")
      return run<algo::Trpo<Env, Policy>>(env, presets::cartpole_trpo_gru(), options, 300000, 20,
                                          pgrad::stop_at_return(475.0));
    return run<algo::Ppo<Env, Policy>>(env, presets::cartpole_ppo_gru(), options, 250000, 50);
  }
  if (options.algo == "a2c")  // SB3's A2C with RL-Zoo's 8 environments
    return run<algo::A2c<Env>>(env, algo::A2cConfig{}, options, 500000, 2000);
  if (options.algo == "reinforce") return run_reinforce(env, options);
  if (options.algo == "trpo")  // RL-Zoo's tuned TRPO
    return run<algo::Trpo<Env>>(env, presets::cartpole_trpo(), options, 200000, 10,
                                pgrad::stop_at_return(475.0));  // it keeps moving once solved
  if (options.preset == "fast" || options.hide_velocity)  // RL-Zoo's tuned PPO
    return run<algo::Ppo<Env>>(env, presets::cartpole_ppo_fast(), options, 150000, 50);
  return run<algo::Ppo<Env>>(env, algo::PpoConfig{}, options, 500000, 50);  // CleanRL's ppo.py
}

int main(int argc, char** argv) try {
  const example::Processes processes(argc, argv);
  const auto options = example::parse_options(argc, argv, "Trains CartPole-v1 and evaluates the policy",
                                              example::Options{},
                                              example::presets | example::checkpoints | example::recurrent,
                                              {"ppo", "a2c", "reinforce", "trpo"});
  const bool tutorial = options.preset == "datacamp" || options.preset == "article";
  if ((options.preset == "fast" && options.algo != "ppo") || (tutorial && options.algo != "reinforce")) {
    std::fprintf(stderr, "error: --preset %s is for --algo %s\n", options.preset.c_str(), tutorial ? "reinforce" : "ppo");
    return 2;
  }
  if (options.policy == "gru" && (options.algo == "reinforce" || !options.preset.empty())) {
    std::fprintf(stderr, "error: --policy gru trains with --algo ppo, a2c or trpo, without --preset\n");
    return 2;
  }
  if (options.hide_velocity) return run_on(pgrad::envs::hide_cartpole_velocity(CartPole{}), options);
  return run_on(CartPole{}, options);
} catch (const std::exception& error) {
  if (example::Processes::prints_errors()) std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
