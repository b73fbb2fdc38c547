// Trains CartPole-v1 with PPO (default), A2C or REINFORCE, then evaluates the deterministic
// policy over 100 episodes. "Solved" = evaluation mean >= 475.
//   ./build/examples/cartpole [--algo ppo|a2c|reinforce] [--seed 1] [--steps 500000]
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>

#include "example_common.hpp"

using Env = pgrad::envs::CartPole<float>;

template <class Algorithm, class Config>
int train(const std::string& name, const Config& config, std::uint64_t seed, long long steps) {
  const Env env;
  Algorithm algorithm(env, config, seed);
  const pgrad::algo::Stopwatch clock;
  long long steps_done = 0;
  const auto progress = example::print_progress(name == "reinforce" ? 100 : name == "a2c" ? 2000 : 50);
  algorithm.learn(steps, [&](const pgrad::algo::UpdateReport& report) {
    steps_done = report.steps;
    progress(report);
    // REINFORCE stops at the reward threshold, as the tutorial: it drifts afterwards.
    return name != "reinforce" || report.mean_return < 475.0;
  });
  const double seconds = clock.seconds();
  const auto evaluation = pgrad::evaluate_policy(algorithm.policy(), env, 100, seed + 1000);
  const bool solved = evaluation.mean_return >= 475.0;
  example::print_result(name, solved, evaluation, steps_done, seconds);
  return solved ? 0 : 1;
}

int main(int argc, char** argv) try {
  const example::Flags flags(argc, argv, {{"algo", "ppo"}, {"seed", "1"}, {"steps", "0"}});
  const std::string algo = flags.text("algo");
  const auto seed = static_cast<std::uint64_t>(flags.integer("seed"));
  long long steps = flags.integer("steps");
  std::printf("CartPole-v1 with %s, seed %llu\n", algo.c_str(), static_cast<unsigned long long>(seed));
  if (algo == "ppo") return train<pgrad::algo::Ppo<Env>>(algo, pgrad::algo::PpoConfig{}, seed, steps ? steps : 500000);
  if (algo == "a2c") return train<pgrad::algo::A2c<Env>>(algo, pgrad::algo::A2cConfig{}, seed, steps ? steps : 500000);
  if (algo == "reinforce")
    return train<pgrad::algo::Reinforce<Env>>(algo, pgrad::algo::presets::cartpole_reinforce(), seed,
                                              steps ? steps : 300000);
  std::fprintf(stderr, "unknown --algo %s (ppo, a2c or reinforce)\n", algo.c_str());
  return 2;
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
