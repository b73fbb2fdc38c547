// Trains PPO on an environment written by the user (LineWalk, in line_walk.hpp): any class with
// Scalar/Observation/Action types, observation_space(), action_space(), reset(Rng&) and
// step(action) works. "Solved" = evaluation mean >= 0.8 (the optimal policy averages 0.85).
//   ./build/examples/custom_env [--seed 1] [--steps 50000] [--csv PATH]
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/check_env.hpp>

#include "example_common.hpp"
#include "line_walk.hpp"

int main(int argc, char** argv) try {
  const example::Flags flags(argc, argv, {{"seed", "1"}, {"steps", "50000"}, {"csv", ""}});
  const auto seed = static_cast<std::uint64_t>(flags.integer("seed"));
  static_assert(pgrad::envs::require_env<LineWalk>());  // readable compile errors if a member is missing
  pgrad::envs::check_env(LineWalk{}, seed);              // runtime checks: sizes, bounds, determinism

  std::printf("LineWalk (custom environment) with ppo, seed %llu\n", static_cast<unsigned long long>(seed));
  pgrad::algo::Ppo<LineWalk> ppo(LineWalk{}, pgrad::algo::PpoConfig{}, seed);
  const pgrad::algo::Stopwatch clock;
  const long long total_steps = flags.integer("steps");
  long long steps = 0;
  // A live progress bar on a terminal; a plain line every 10 updates otherwise.
  pgrad::ProgressPrinter progress(total_steps, 10);
  ppo.learn(total_steps, pgrad::all_of(progress, example::csv_log(flags.text("csv")),
                                       [&](const pgrad::algo::UpdateReport& report) { steps = report.steps; }));
  progress.finish();
  const double seconds = clock.seconds();
  const auto evaluation = pgrad::evaluate_policy(ppo.policy(), LineWalk{}, 100, seed + 1000);
  const bool solved = evaluation.mean_return >= 0.8;
  example::print_result("ppo", solved, evaluation, steps, seconds);
  return solved ? 0 : 1;
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
