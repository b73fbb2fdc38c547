#pragma once
// Periodic evaluation and periodic checkpoints as update callbacks for learn().
#include <cstdint>
#include <string>
#include <utility>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>

namespace pgrad {

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
