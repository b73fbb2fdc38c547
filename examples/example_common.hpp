#pragma once
// Small helpers shared by the example programs: command-line flags, the --csv log, result lines.
#include <pgrad/algorithms/on_policy.hpp>
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
