// Trains CartPole-v1 with PPO (default), A2C, REINFORCE or TRPO, then evaluates the deterministic
// policy over 100 episodes. "Solved" = evaluation mean >= 475. `--help` lists the options.
//   ./build/examples/cartpole [--algo ppo|a2c|reinforce|trpo] [--preset fast] [--seed 1] [--steps N]
//                             [--threads 2] [--csv PATH] [--save PATH [--save-every K]] [--load PATH [--eval N]]
//                             [--policy mlp|gru] [--hide-velocity]
// --hide-velocity shows the agent only x and theta (a partially observed task); --policy gru
// trains a recurrent policy (PPO or A2C), which can infer the velocities from what it saw.
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>

#include "example_common.hpp"

using CartPole = pgrad::envs::CartPole<float>;
using HiddenVelocity = pgrad::envs::SelectObservation<CartPole, 2>;

template <class Algorithm, class Env, class Config>
int run(const Env& env, Config config, example::Options options, long long default_steps, long long print_every,
        const pgrad::algo::UpdateCallback& stop = {}) {
  if (options.steps == 0) options.steps = default_steps;
  config.num_threads = options.threads;
  std::printf("CartPole-v1%s with %s (%s policy), seed %llu, %d threads\n",
              options.hide_velocity ? " without velocities" : "", options.algo.c_str(), options.policy.c_str(),
              static_cast<unsigned long long>(options.seed), options.threads);
  Algorithm algorithm(env, config, options.seed);
  const double seconds = example::train(algorithm, options, print_every, stop);
  const auto evaluation =
      pgrad::evaluate_policy(algorithm.policy(), env, options.eval > 0 ? options.eval : 100, options.seed);
  return example::print_result(options.algo, evaluation, 475.0, algorithm.collector().steps(), seconds);
}

template <class Env>
int run_on(const Env& env, const example::Options& options) {
  namespace algo = pgrad::algo;
  namespace presets = algo::presets;
  if (options.policy == "gru") {
    using Policy = pgrad::RecurrentPolicyFor<Env>;
    if (options.algo == "a2c") {
      algo::A2cConfig config;
      config.policy = presets::cartpole_ppo_gru().policy;
      return run<algo::A2c<Env, Policy>>(env, config, options, 500000, 2000);
    }
    if (options.algo != "ppo") throw pgrad::Error("--policy gru trains with --algo ppo or a2c");
    return run<algo::Ppo<Env, Policy>>(env, presets::cartpole_ppo_gru(), options, 150000, 50);
  }
  if (options.algo == "a2c")  // SB3's A2C with RL-Zoo's 8 environments
    return run<algo::A2c<Env>>(env, algo::A2cConfig{}, options, 500000, 2000);
  if (options.algo == "reinforce")  // stops at the reward threshold, as the tutorial: it drifts afterwards
    return run<algo::Reinforce<Env>>(env, presets::cartpole_reinforce(), options, 300000, 100,
                                     pgrad::stop_at_return(475.0));
  if (options.algo == "trpo")  // RL-Zoo's tuned TRPO
    return run<algo::Trpo<Env>>(env, presets::cartpole_trpo(), options, 200000, 10);
  if (options.preset == "fast" || options.hide_velocity)  // RL-Zoo's tuned PPO
    return run<algo::Ppo<Env>>(env, presets::cartpole_ppo_fast(), options, 150000, 50);
  return run<algo::Ppo<Env>>(env, algo::PpoConfig{}, options, 500000, 50);  // CleanRL's ppo.py
}

int main(int argc, char** argv) try {
  const auto options = example::parse_options(argc, argv, "Trains CartPole-v1 and evaluates the policy",
                                              example::Options{},
                                              example::presets | example::checkpoints | example::recurrent,
                                              {"ppo", "a2c", "reinforce", "trpo"});
  if (options.hide_velocity) return run_on(pgrad::envs::hide_cartpole_velocity(CartPole{}), options);
  return run_on(CartPole{}, options);
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
