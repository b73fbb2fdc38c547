// Trains Pendulum-v1 (continuous torque) with PPO and a diagonal-Gaussian policy, then evaluates
// the deterministic policy (the mean action) over 100 episodes. "Solved" = evaluation mean >= -250.
//   ./build/examples/pendulum [--seed 1] [--steps 307200] [--csv PATH]
//                             [--save PATH] [--save-every K] [--load PATH] [--eval N]
//   --save writes a checkpoint at the end (and every K updates); --load resumes training from one
//   up to --steps in all; --eval N with --load only evaluates N deterministic episodes.
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/pendulum.hpp>

#include "example_common.hpp"

using Env = pgrad::envs::Pendulum<float>;

int main(int argc, char** argv) try {
  const example::Flags flags(
      argc, argv, example::CheckpointFlags::with_defaults({{"seed", "1"}, {"steps", "307200"}, {"csv", ""}}));
  const example::CheckpointFlags checkpoint(flags);
  const auto seed = static_cast<std::uint64_t>(flags.integer("seed"));
  std::printf("Pendulum-v1 with ppo, seed %llu\n", static_cast<unsigned long long>(seed));
  const Env env;
  pgrad::algo::Ppo<Env> ppo(env, pgrad::algo::presets::pendulum_ppo(), seed);
  checkpoint.load_into(ppo);
  const pgrad::algo::Stopwatch clock;
  const long long total_steps = flags.integer("steps");
  long long steps = ppo.collector().steps();
  if (checkpoint.eval == 0) {
    // A live progress bar on a terminal; a plain line every 5 updates otherwise.
    pgrad::ProgressPrinter progress(total_steps, 5);
    if (steps < total_steps)  // a loaded checkpoint may already be at the requested total
      ppo.learn(total_steps, pgrad::all_of(progress, example::csv_log(flags.text("csv")),
                                           [&](const pgrad::algo::UpdateReport& report) { steps = report.steps; },
                                           checkpoint.periodic_save(ppo)));
    progress.finish();
    checkpoint.save_final(ppo);
  }
  const double seconds = clock.seconds();
  const auto evaluation =
      pgrad::evaluate_policy(ppo.policy(), env, checkpoint.eval > 0 ? checkpoint.eval : 100, seed + 1000);
  const bool solved = evaluation.mean_return >= -250.0;
  example::print_result("ppo", solved, evaluation, steps, seconds);
  return solved ? 0 : 1;
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 2;
}
