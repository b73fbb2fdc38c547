// Trains CartPole-v1 with PPO (default), A2C or REINFORCE, then evaluates the deterministic
// policy over 100 episodes. "Solved" = evaluation mean >= 475.
//   ./build/examples/cartpole [--algo ppo|a2c|reinforce] [--seed 1] [--steps 500000] [--threads 2]
//                             [--csv PATH]   (one row per update, CleanRL's metric names)
//                             [--save PATH] [--save-every K] [--load PATH] [--eval N]
//   --save writes a checkpoint at the end (and every K updates); --load resumes training from one
//   up to --steps in all; --eval N with --load only evaluates N deterministic episodes.
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>

#include "example_common.hpp"

using Env = pgrad::envs::CartPole<float>;

template <class Algorithm, class Config>
int train(const std::string& name, const Config& config, std::uint64_t seed, long long steps,
          const std::string& csv_path, const example::CheckpointFlags& checkpoint) {
  const Env env;
  Algorithm algorithm(env, config, seed);
  checkpoint.load_into(algorithm);
  const pgrad::algo::Stopwatch clock;
  long long steps_done = algorithm.collector().steps();
  if (checkpoint.eval > 0) {  // --load PATH --eval N: evaluation only
    const auto evaluation = pgrad::evaluate_policy(algorithm.policy(), env, checkpoint.eval, seed + 1000);
    const bool solved = evaluation.mean_return >= 475.0;
    example::print_result(name, solved, evaluation, steps_done, clock.seconds());
    return solved ? 0 : 1;
  }
  // A live progress bar on a terminal; a plain line every `every` updates otherwise.
  pgrad::ProgressPrinter progress(steps, name == "reinforce" ? 100 : name == "a2c" ? 2000 : 50);
  // REINFORCE stops at the reward threshold, as the tutorial: it drifts afterwards.
  const auto stop = name == "reinforce" ? pgrad::stop_at_return(475.0) : pgrad::algo::UpdateCallback{};
  if (steps_done < steps)  // a loaded checkpoint may already be at the requested total
    algorithm.learn(steps, pgrad::all_of(progress, example::csv_log(csv_path), stop,
                                         [&](const pgrad::algo::UpdateReport& report) { steps_done = report.steps; },
                                         checkpoint.periodic_save(algorithm)));
  progress.finish();
  checkpoint.save_final(algorithm);
  const double seconds = clock.seconds();
  const auto evaluation = pgrad::evaluate_policy(algorithm.policy(), env, 100, seed + 1000);
  const bool solved = evaluation.mean_return >= 475.0;
  example::print_result(name, solved, evaluation, steps_done, seconds);
  return solved ? 0 : 1;
}

int main(int argc, char** argv) try {
  const example::Flags flags(argc, argv,
                             example::CheckpointFlags::with_defaults(
                                 {{"algo", "ppo"}, {"seed", "1"}, {"steps", "0"}, {"threads", "2"}, {"csv", ""}}));
  const example::CheckpointFlags checkpoint(flags);
  const std::string algo = flags.text("algo");
  const auto seed = static_cast<std::uint64_t>(flags.integer("seed"));
  const long long steps = flags.integer("steps");
  const int threads = static_cast<int>(flags.integer("threads"));  // actor and critic in parallel
  const std::string csv = flags.text("csv");
  std::printf("CartPole-v1 with %s, seed %llu\n", algo.c_str(), static_cast<unsigned long long>(seed));
  if (algo == "ppo") {
    pgrad::algo::PpoConfig config;  // CleanRL's ppo.py
    config.policy.num_threads = threads;
    return train<pgrad::algo::Ppo<Env>>(algo, config, seed, steps ? steps : 500000, csv, checkpoint);
  }
  if (algo == "a2c") {
    pgrad::algo::A2cConfig config;  // SB3's A2C with RL-Zoo's 8 environments
    config.policy.num_threads = threads;
    return train<pgrad::algo::A2c<Env>>(algo, config, seed, steps ? steps : 500000, csv, checkpoint);
  }
  if (algo == "reinforce")
    return train<pgrad::algo::Reinforce<Env>>(algo, pgrad::algo::presets::cartpole_reinforce(), seed,
                                              steps ? steps : 300000, csv, checkpoint);
  std::fprintf(stderr, "unknown --algo %s (ppo, a2c or reinforce)\n", algo.c_str());
  return 2;
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
