#pragma once
// What the example programs share: training with the options' checkpoints, CSV log and progress
// line, and the result lines they end with.
#include <pgrad/algorithms/report.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>
#include <pgrad/training/logger.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include "example_options.hpp"

namespace example {

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
                algorithm.collector().steps());
  }
  const pgrad::algo::Stopwatch clock;
  if (options.eval > 0) return clock.seconds();  // --load PATH --eval N: evaluation only
  pgrad::ProgressPrinter progress(options.steps, print_every);
  const auto csv = options.csv.empty() ? pgrad::algo::UpdateCallback{} : pgrad::CsvLogger(options.csv);
  const auto periodic_save = options.save_every > 0
                                 ? pgrad::checkpoint_every(algorithm, options.save, options.save_every)
                                 : pgrad::algo::UpdateCallback{};
  if (algorithm.collector().steps() < options.steps)  // a loaded checkpoint may be there already
    algorithm.learn(options.steps, pgrad::all_of(progress, csv, periodic_save, stop));
  progress.finish();
  const double seconds = clock.seconds();
  if (!options.save.empty()) {
    pgrad::save_checkpoint(algorithm, options.save);
    std::printf("saved %s\n", options.save.c_str());
  }
  return seconds;
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
