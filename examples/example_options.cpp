// The example programs' command line, with CLI11 (Debian's libcli11-dev).
#include "example_options.hpp"

#include <CLI/CLI.hpp>
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/core/thread_pool.hpp>

#include <algorithm>
#include <cstdlib>

namespace example {

Options parse_options(int argc, char** argv, const std::string& description, Options defaults, unsigned groups,
                      const std::vector<std::string>& algorithms) {
  Options options = std::move(defaults);
  // Two threads where the process may use two CPUs (taskset, cpusets and cgroup quotas count).
  if (options.threads == 0) options.threads = std::min(2, pgrad::usable_cpus());
  CLI::App app{description};
  app.option_defaults()->always_capture_default();
  if (!algorithms.empty()) app.add_option("--algo", options.algo, "Algorithm to train")->check(CLI::IsMember(algorithms));
  if (groups & presets)
    app.add_option("--preset", options.preset,
                   "PPO: fast = RL-Zoo's tuned CartPole PPO (150k steps); REINFORCE: datacamp or article = the "
                   "two PyTorch tutorials as published, with their stopping rules")
        ->check(CLI::IsMember({"", "fast", "datacamp", "article"}));
  if (groups & mujoco_presets) {
    std::string help = "PPO hyperparameters by name instead of CleanRL's on 2 copies x 1024 steps:";
    for (const auto& preset : pgrad::algo::presets::mujoco_ppo_presets())
      help += std::string(" ") + preset.name + " = " + preset.summary +
              (preset.task ? " (" + std::string(preset.task) + " only);" : ";");
    help.back() = '.';
    app.add_option("--preset", options.preset, help);
  }
  if (groups & recurrent) {
    app.add_option("--policy", options.policy, "Policy network: mlp (feed-forward) or gru (recurrent: an MLP cannot "
                   "remember what it saw)")->check(CLI::IsMember({"mlp", "gru"}));
    app.add_flag("--hide-velocity", options.hide_velocity,
                 "Partially observed CartPole: the agent sees the cart position and pole angle, not their velocities");
  }
  if (groups & box_actions) {
    app.add_option("--distribution", options.distribution,
                   "Box-action distribution: gaussian (clipped to the box), squashed_gaussian (tanh, mapped onto "
                   "the box) or beta (mapped onto the box)")
        ->check(CLI::IsMember({"gaussian", "squashed_gaussian", "beta"}));
    app.add_flag("--state-dependent-std", options.state_dependent_std,
                 "Gaussian policies: log σ from a second actor head (a function of the state) instead of one "
                 "learned vector");
  }
  if (groups & mujoco_tasks)
    app.add_option("--env", options.env, "MuJoCo task: Gymnasium's Walker2d-v4, Hopper-v4 or HalfCheetah-v4")
        ->check(CLI::IsMember({"walker2d", "hopper", "half_cheetah"}));
  app.add_option("--seed", options.seed, "Seed of every random number of the run")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 62));
  app.add_option("--steps", options.steps,
                 options.steps == 0 ? "Environment steps to train for (0: the algorithm's default)"
                                    : "Environment steps to train for")
      ->check(CLI::Range(0LL, 1000000000000LL));
  app.add_option("--threads", options.threads,
                 "The run's thread budget, shared by the environment copies and the actor and critic passes "
                 "(results are identical for every value; default: 2, or 1 when the process may use one CPU)")
      ->check(CLI::Range(1, 256));
  app.add_option("--csv", options.csv, "Write one CSV row per update (CleanRL's metric names) to this file");
  if (groups & checkpoints) {
    app.add_option("--save", options.save, "Write a checkpoint to this file at the end");
    app.add_option("--save-every", options.save_every, "With --save: also every K updates (0: only at the end)")
        ->check(CLI::Range(0LL, 1000000000LL));
    app.add_option("--load", options.load, "Resume training from this checkpoint, up to --steps in all")
        ->check(CLI::ExistingFile);
    app.add_option("--eval", options.eval, "With --load: only evaluate N deterministic episodes")
        ->check(CLI::Range(0LL, 1000000LL));
  }
  try {
    app.parse(argc, argv);
    if (options.save_every > 0 && options.save.empty()) throw CLI::ValidationError("--save-every", "needs --save PATH");
    if (options.eval > 0 && options.load.empty()) throw CLI::ValidationError("--eval", "needs --load PATH");
    if ((groups & mujoco_presets) && !options.preset.empty() && options.algo != "ppo")
      throw CLI::ValidationError("--preset", "names a PPO preset: use it with --algo ppo");
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error) == 0 ? 0 : 2);
  }
  return options;
}

}  // namespace example
