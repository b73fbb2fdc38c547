#pragma once
// The command-line options of the example programs. They are parsed with CLI11 in
// example_options.cpp, compiled once for all examples, so that no example includes CLI11.
#include <cstdint>
#include <string>
#include <vector>

namespace example {

/// Every option an example may take, with the example's defaults filled in before parsing.
struct Options {
  std::string algo = "ppo";     ///< --algo (among the example's algorithms)
  std::uint64_t seed = 1;       ///< --seed: every random number of the run comes from it
  long long steps = 0;          ///< --steps: environment steps to train for
  int threads = 0;              ///< --threads: the run's thread budget (0: min(2, pgrad::usable_cpus()))
  std::string csv;              ///< --csv PATH: one row per update
  std::string preset;           ///< --preset NAME (cartpole: fast, datacamp, article; MuJoCo PPO: rlzoo, details37)
  std::string save, load;       ///< --save PATH, --load PATH: checkpoints
  long long save_every = 0;     ///< --save-every K: also every K updates
  long long eval = 0;           ///< --eval N: with --load, only evaluate N episodes
  std::string policy = "mlp";   ///< --policy mlp|gru (cartpole only): feed-forward or recurrent
  bool hide_velocity = false;   ///< --hide-velocity (cartpole only): observe x and theta alone
  bool state_dependent_std = false;  ///< --state-dependent-std (Box actions): log σ from the actor
  std::string distribution = "gaussian";  ///< --distribution gaussian|squashed_gaussian|beta (Box actions)
  std::string env = "walker2d";  ///< --env walker2d|hopper|half_cheetah (mujoco only)
};

/// Which option groups an example takes beyond --seed, --steps, --threads and --csv.
/// `presets`: CartPole's --preset names; `mujoco_presets`: --preset among
/// pgrad::algo::presets::mujoco_ppo_presets(), with --algo ppo; `box_actions`: --distribution and
/// --state-dependent-std.
enum OptionGroups : unsigned {
  basic = 0,
  presets = 1,
  checkpoints = 2,
  recurrent = 4,
  box_actions = 8,
  mujoco_tasks = 16,
  mujoco_presets = 32
};

/// Parses argv into `defaults` for an example described by `description`; `algorithms` lists
/// what --algo may name (no --algo when empty). --help prints every option with its default and
/// range and exits with 0; a bad value prints what was wrong and exits with 2 (CLI11's messages).
Options parse_options(int argc, char** argv, const std::string& description, Options defaults, unsigned groups,
                      const std::vector<std::string>& algorithms = {});

}  // namespace example
