#pragma once
// What the example programs share: training with the options' checkpoints, CSV log and progress
// line, and the result lines they end with.
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/algorithms/report.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>
#include <pgrad/training/logger.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#ifdef PGRAD_EXAMPLE_MPI  // the *_mpi builds of the examples, run under mpirun
#include <pgrad/distributed/mpi.hpp>
#endif

#include "example_options.hpp"

namespace example {

/// The processes an example runs on: this one alone, or, in the *_mpi builds, every rank that
/// mpirun started (each trains its share of the environment copies; rank 0 alone prints: the
/// others' standard output goes to /dev/null, and their error messages are not printed, every
/// rank having the same). One per program, made first in main(); current() finds it.
class Processes {
 public:
  Processes(int& argc, char**& argv) {
#ifdef PGRAD_EXAMPLE_MPI
    session_ = std::make_unique<pgrad::distributed::MpiSession>(argc, argv);
    world_ = std::make_unique<pgrad::distributed::MpiCommunicator>();
    if (!world_->is_root() && std::freopen("/dev/null", "w", stdout) == nullptr) std::perror("freopen");
#else
    static_cast<void>(argc);
    static_cast<void>(argv);
#endif
    root_ = is_root();
    current_ = this;
  }
  ~Processes() { current_ = nullptr; }
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  static const Processes& current() { return *current_; }
  /// Whether this process prints errors (also after the Processes object is gone).
  static bool prints_errors() { return root_; }
  /// What the algorithm's constructor takes (null: one process).
  pgrad::algo::Communicator* communicator() const { return world_.get(); }
  int count() const { return world_ ? world_->size() : 1; }
  bool is_root() const { return !world_ || world_->is_root(); }

  /// Splits `config`'s copies over the processes: data_shards = their number, which must divide
  /// num_envs.
  template <class Config>
  void distribute(Config& config) const {
    PGRAD_REQUIRE(config.num_envs % count() == 0, "num_envs = ", config.num_envs,
                  " environment copies do not split over ", count(), " MPI ranks: run a divisor of it");
    config.data_shards = count();
  }

 private:
#ifdef PGRAD_EXAMPLE_MPI
  std::unique_ptr<pgrad::distributed::MpiSession> session_;
#endif
  std::unique_ptr<pgrad::algo::Communicator> world_;
  static inline const Processes* current_ = nullptr;
  static inline bool root_ = true;
};

/// Builds an algorithm for the example's processes: `config` split over them (distribute).
template <class Algorithm, class Env, class Config>
Algorithm make_algorithm(const Env& env, Config config, std::uint64_t seed) {
  const Processes& processes = Processes::current();
  processes.distribute(config);
  return Algorithm(env, config, seed, processes.communicator());
}

/// Environment steps the run has taken, over every process.
template <class Algorithm>
long long total_steps(const Algorithm& algorithm) {
  return algorithm.collector().steps() * algorithm.communicator().size();
}

/// Trains `algorithm` up to options.steps environment steps in all: first loads --load (if
/// given), then learns with a progress line (a live bar on a terminal, a plain line every
/// `print_every` updates otherwise), the --csv log, a --save checkpoint every --save-every
/// updates and `stop` (may be empty), and finally saves --save. Returns the seconds spent.
template <class Algorithm>
double train(Algorithm& algorithm, const Options& options, long long print_every,
             const pgrad::algo::UpdateCallback& stop = {}) {
  if (!options.load.empty()) {
    pgrad::load_checkpoint(algorithm, options.load);
    std::printf("loaded %s: update %lld, %lld steps\n", options.load.c_str(), algorithm.iteration(),
                total_steps(algorithm));
  }
  const pgrad::algo::Stopwatch clock;
  if (options.eval > 0) return clock.seconds();  // --load PATH --eval N: evaluation only
  pgrad::ProgressPrinter progress(options.steps, print_every);
  const auto csv = options.csv.empty() || !algorithm.is_root() ? pgrad::algo::UpdateCallback{}
                                                               : pgrad::CsvLogger(options.csv);
  const auto periodic_save = options.save_every > 0
                                 ? pgrad::checkpoint_every(algorithm, options.save, options.save_every)
                                 : pgrad::algo::UpdateCallback{};
  if (total_steps(algorithm) < options.steps)  // a loaded checkpoint may be there already
    algorithm.learn(options.steps, pgrad::all_of(progress, csv, periodic_save, stop));
  progress.finish();
  const double seconds = clock.seconds();
  if (algorithm.communicator().size() > 1)
    std::printf("MPI: %d ranks; rank 0 spent %.2f s in collectives (%.1f ms per update)\n",
                algorithm.communicator().size(), algorithm.communicator().seconds(),
                1e3 * algorithm.communicator().seconds() / static_cast<double>(std::max(1LL, algorithm.iteration())));
  if (!options.save.empty()) {
    pgrad::save_checkpoint(algorithm, options.save);  // collective under MPI: rank 0 writes
    std::printf("saved %s\n", options.save.c_str());
  }
  return seconds;
}

/// The PPO configuration of the MuJoCo examples for `task` (their --env name): the preset that
/// --preset names (pgrad::algo::presets::mujoco_ppo_preset, with its own num_envs; an unknown
/// name throws, listing the valid ones), or without --preset CleanRL's ppo_continuous_action.py
/// settings on 2 copies x 1024 steps (its 2048 samples per rollout).
inline pgrad::algo::PpoConfig mujoco_ppo_config(const Options& options, const std::string& task) {
  if (!options.preset.empty()) return pgrad::algo::presets::mujoco_ppo_preset(options.preset, task);
  pgrad::algo::PpoConfig config = pgrad::algo::PpoConfig::continuous_defaults();
  config.num_envs = 2;
  config.num_steps = 1024;
  return config;
}

/// Prints the evaluation and the `result:` line every example ends with; returns the exit code
/// (0 when the evaluation mean reaches `threshold`, 1 otherwise).
inline int print_result(const std::string& algo, const pgrad::EvaluationResult& evaluation, double threshold,
                        long long steps, double seconds) {
  const bool solved = evaluation.mean_return >= threshold;
  std::printf("evaluation: %ld deterministic episodes, mean %.1f, std %.1f, min %.1f, max %.1f\n",
              static_cast<long>(evaluation.episodes), evaluation.mean_return, evaluation.std_return,
              evaluation.min_return, evaluation.max_return);
  const int digits = std::abs(evaluation.mean_return) >= 10 ? 1 : 3;
  std::printf("result: algo=%s solved=%s eval_return=%.*f steps=%lld seconds=%.2f steps_per_second=%.0f\n",
              algo.c_str(), solved ? "true" : "false", digits, evaluation.mean_return, steps, seconds,
              seconds > 0 ? static_cast<double>(steps) / seconds : 0.0);
  return solved ? 0 : 1;
}

}  // namespace example
