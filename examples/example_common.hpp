#pragma once
// Small helpers shared by the example programs: command-line flags, the --csv log, checkpoints
// (--save, --save-every, --load, --eval), result lines.
#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>
#include <pgrad/training/logger.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>

namespace example {

/// --name value flags with defaults; unknown flags are an error.
class Flags {
 public:
  Flags(int argc, char** argv, std::map<std::string, std::string> defaults) : values_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      std::string name = argv[i];
      if (name == "--help" || name == "-h") {
        std::printf("usage: %s", argv[0]);
        for (const auto& [key, value] : values_)
          std::printf(" [--%s %s]", key.c_str(), value.empty() ? "\"\"" : value.c_str());
        std::printf("\n");
        std::exit(0);
      }
      if (name.rfind("--", 0) != 0 || !values_.count(name.substr(2)) || i + 1 >= argc)
        throw std::invalid_argument("unknown flag or missing value: " + name + " (try --help)");
      values_[name.substr(2)] = argv[++i];
    }
  }
  std::string text(const std::string& name) const { return values_.at(name); }
  long long integer(const std::string& name) const { return std::stoll(values_.at(name)); }

 private:
  std::map<std::string, std::string> values_;
};

/// --csv PATH: one CSV row per update with CleanRL's metric names; no file when PATH is empty
/// (an empty callback, which pgrad::all_of skips).
inline pgrad::algo::UpdateCallback csv_log(const std::string& path) {
  if (path.empty()) return {};
  return pgrad::CsvLogger(path);
}

/// The checkpoint flags: --save PATH (at the end, and every --save-every K updates if K > 0),
/// --load PATH (resume training up to --steps in all), --eval N (with --load: only evaluate N
/// episodes, no training).
struct CheckpointFlags {
  std::string save, load;
  long long save_every = 0, eval = 0;

  /// Adds the flags' defaults to an example's own.
  static std::map<std::string, std::string> with_defaults(std::map<std::string, std::string> defaults) {
    defaults.insert({{"save", ""}, {"save-every", "0"}, {"load", ""}, {"eval", "0"}});
    return defaults;
  }
  explicit CheckpointFlags(const Flags& flags)
      : save(flags.text("save")),
        load(flags.text("load")),
        save_every(flags.integer("save-every")),
        eval(flags.integer("eval")) {
    if (save_every < 0 || eval < 0) throw std::invalid_argument("--save-every and --eval must be >= 0");
    if (save_every > 0 && save.empty()) throw std::invalid_argument("--save-every needs --save PATH");
    if (eval > 0 && load.empty()) throw std::invalid_argument("--eval needs --load PATH");
  }

  /// Loads --load into the algorithm (if given) and says where the run stands.
  template <class Algorithm>
  void load_into(Algorithm& algorithm) const {
    if (load.empty()) return;
    pgrad::load_checkpoint(algorithm, load);
    std::printf("loaded %s: update %lld, %lld steps\n", load.c_str(), algorithm.iteration(),
                algorithm.collector().steps());
  }

  /// The --save-every callback (empty when not asked for).
  template <class Algorithm>
  pgrad::algo::UpdateCallback periodic_save(const Algorithm& algorithm) const {
    if (save_every <= 0) return {};
    return [this, &algorithm](const pgrad::algo::UpdateReport& report) {
      if (report.iteration % save_every == 0) pgrad::save_checkpoint(algorithm, save);
      return true;
    };
  }

  /// The final --save.
  template <class Algorithm>
  void save_final(const Algorithm& algorithm) const {
    if (save.empty()) return;
    pgrad::save_checkpoint(algorithm, save);
    std::printf("saved %s\n", save.c_str());
  }
};

/// The last line every example prints.
inline void print_result(const std::string& algo, bool solved, const pgrad::EvaluationResult& evaluation,
                         long long steps, double seconds) {
  std::printf("evaluation: %ld deterministic episodes, mean %.1f, std %.1f, min %.1f, max %.1f\n",
              static_cast<long>(evaluation.episodes), evaluation.mean_return, evaluation.std_return,
              evaluation.min_return, evaluation.max_return);
  const int digits = std::abs(evaluation.mean_return) >= 10 ? 1 : 3;
  std::printf("result: algo=%s solved=%s eval_return=%.*f steps=%lld seconds=%.2f steps_per_second=%.0f\n",
              algo.c_str(), solved ? "true" : "false", digits, evaluation.mean_return, steps, seconds,
              static_cast<double>(steps) / seconds);
}

}  // namespace example
