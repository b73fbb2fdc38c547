#pragma once
// Update callbacks for learn(): combining several (all_of), stopping at a return threshold,
// periodic evaluation and periodic checkpoints. The loggers (CsvLogger, ProgressPrinter) are in
// training/logger.hpp.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <pgrad/algorithms/collector.hpp>
#include <pgrad/algorithms/report.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>

namespace pgrad {

/// Stops training (returns false) once at least `min_episodes` episodes have finished and the
/// mean return of the last `window` of them (fewer while fewer have finished; window in [1, 100],
/// the log the algorithm keeps) is >= `threshold`. Before any episode has finished the mean is
/// meaningless and never stops training, whatever the threshold's sign. DataCamp's REINFORCE
/// tutorial stops at 475 over a window of 25.
inline algo::UpdateCallback stop_at_return(double threshold, long long min_episodes = 1, std::size_t window = 100) {
  PGRAD_REQUIRE(std::isfinite(threshold), "stop_at_return: threshold must be finite, got ", threshold);
  PGRAD_REQUIRE(min_episodes >= 1, "stop_at_return: min_episodes must be at least 1, got ", min_episodes);
  PGRAD_REQUIRE(window >= 1 && window <= 100, "stop_at_return: window must be in [1, 100], got ", window);
  return [threshold, min_episodes, window](const algo::UpdateReport& report) {
    if (report.episodes < min_episodes) return true;
    const double mean = report.episode_log ? report.episode_log->mean_return(window) : report.mean_return;
    return mean < threshold;
  };
}

/// Stops training once `episodes` episodes have finished (the tutorials' episode budgets).
inline algo::UpdateCallback stop_after_episodes(long long episodes) {
  PGRAD_REQUIRE(episodes >= 1, "stop_after_episodes: episodes must be at least 1, got ", episodes);
  return [episodes](const algo::UpdateReport& report) { return report.episodes < episodes; };
}

/// One update callback made of several: calls every one of them in order (all of them, even
/// after one asked to stop, so loggers still record the last update) and asks to stop when any
/// returned false. Each argument is anything callable with an UpdateReport returning bool (or
/// void: never stops); it is stored by value (CsvLogger and ProgressPrinter copies share their
/// state; use std::ref for other stateful callables). An empty UpdateCallback is skipped.
template <class... Callbacks>
algo::UpdateCallback all_of(Callbacks&&... callbacks) {
  static_assert((std::is_invocable_v<std::decay_t<Callbacks>&, const algo::UpdateReport&> && ...),
                "pgrad::all_of: every argument must be callable as f(const pgrad::algo::UpdateReport&)");
  return [stored = std::make_tuple(std::forward<Callbacks>(callbacks)...)](
             const algo::UpdateReport& report) mutable {
    return std::apply(
        [&report](auto&... callback) {
          bool keep_going = true;
          const auto call = [&report, &keep_going](auto& one) {
            using One = std::remove_reference_t<decltype(one)>;
            if constexpr (std::is_constructible_v<bool, const One&>) {
              if (!static_cast<bool>(one)) return;  // empty std::function or null pointer
            }
            if constexpr (std::is_void_v<std::invoke_result_t<One&, const algo::UpdateReport&>>) {
              std::invoke(one, report);
            } else {
              if (!std::invoke(one, report)) keep_going = false;
            }
          };
          (call(callback), ...);
          static_cast<void>(call);  // no callbacks: all_of() never stops
          return keep_going;
        },
        stored);
  };
}


/// Every `every` updates, evaluates the algorithm's policy for `episodes` deterministic episodes
/// on a copy of `env` (Rng streams from `seed`) and calls on_result(report, result); training
/// stops when on_result returns false. Evaluation does not touch the training state, so a run
/// with it gives the same parameters as one without (tested).
template <class Algorithm, class Env, class OnResult>
algo::UpdateCallback evaluate_every(Algorithm& algorithm, Env env, long long every, Index episodes,
                                    std::uint64_t seed, OnResult on_result) {
  PGRAD_REQUIRE(every > 0, "evaluate_every: every must be positive, got ", every);
  PGRAD_REQUIRE(episodes > 0, "evaluate_every: episodes must be positive, got ", episodes);
  return [&algorithm, env = std::move(env), every, episodes, seed,
          on_result = std::move(on_result)](const algo::UpdateReport& report) {
    if (report.iteration % every != 0) return true;
    const EvaluationResult result = evaluate_policy(algorithm.policy(), env, episodes, seed);
    return static_cast<bool>(on_result(report, result));
  };
}

/// Every `every` updates, writes a checkpoint of `algorithm` to `path` (atomically: a failure
/// keeps the previous one). Never stops training.
template <class Algorithm>
algo::UpdateCallback checkpoint_every(const Algorithm& algorithm, std::string path, long long every) {
  PGRAD_REQUIRE(every > 0, "checkpoint_every: every must be positive, got ", every);
  return [&algorithm, path = std::move(path), every](const algo::UpdateReport& report) {
    if (report.iteration % every == 0) save_checkpoint(algorithm, path);
    return true;
  };
}

}  // namespace pgrad
