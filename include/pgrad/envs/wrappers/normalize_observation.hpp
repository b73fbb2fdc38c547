#pragma once
// pgrad::envs::NormalizeObservation: observations standardised by running statistics.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/running_mean_std.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>

namespace pgrad::envs {

/// Standardises observations with running statistics (Gymnasium's NormalizeObservation with
/// Stable-Baselines3's clipping):
///
///   o' = clip((o - mean) / sqrt(var + epsilon), -clip, clip),   epsilon = 1e-8, clip = 10,
///
/// where mean and var are a RunningMeanStd<double> over every observation seen so far (reset
/// ones included), updated with o before o is normalised. `set_training(false)` freezes the
/// statistics (evaluation); `statistics()` / `set_statistics()` read and restore them (they are
/// part of a trained model). The observation space becomes Box(-clip, clip).
/// Cost: O(obs_dim) per step, no allocation after construction.
template <class Env>
class NormalizeObservation {
  static_assert(require_env<Env>());

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;
  using Statistics = RunningMeanStd<double>;

  explicit NormalizeObservation(Env env, double epsilon = 1e-8, double clip = 10.0)
      : env_(std::move(env)),
        size_(env_.observation_space().size()),
        stats_(size_),
        work_(size_),
        epsilon_(epsilon),
        clip_(clip) {
    PGRAD_REQUIRE(std::isfinite(epsilon) && epsilon > 0.0,
                  "NormalizeObservation: epsilon must be finite and positive, got ", epsilon);
    PGRAD_REQUIRE(clip > 0.0, "NormalizeObservation: clip must be positive, got ", clip);
  }

  Box<Scalar> observation_space() const {
    return Box<Scalar>::uniform(size_, static_cast<Scalar>(-clip_), static_cast<Scalar>(clip_));
  }
  auto action_space() const { return env_.action_space(); }

  Observation reset(Rng& rng) { return process(env_.reset(rng)); }
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  auto step(const Action& action) {
    auto result = env_.step(action);
    result.observation = process(result.observation);
    return result;
  }

  /// Normalises `observation` with the current statistics, without updating them.
  Observation normalize(const Observation& observation) const {
    PGRAD_REQUIRE(observation.size() == size_, "NormalizeObservation::normalize: observation has ",
                  observation.size(), " entries, expected ", size_);
    Observation out = observation;
    apply(observation, out);
    return out;
  }

  /// true (default): every observation updates the statistics; false: they stay frozen.
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

  const Statistics& statistics() const { return stats_; }
  void set_statistics(const Statistics& statistics) {
    PGRAD_REQUIRE(statistics.size() == size_, "NormalizeObservation::set_statistics: statistics over ",
                  statistics.size(), " features, observations have ", size_);
    stats_ = statistics;
  }

  double epsilon() const { return epsilon_; }
  double clip() const { return clip_; }

  Env& inner() { return env_; }
  const Env& inner() const { return env_; }

  /// Checkpoints: epsilon and clip (checked), the statistics and the training flag, then the
  /// inner environment's state.
  void save_state(Writer& w) const {
    w.section("NormalizeObservation");
    w.named("epsilon", epsilon_);
    w.named("clip", clip_);
    stats_.save_state(w);
    w.boolean(training_);
    save_state_of(w, env_);
  }
  void load_state(Reader& r) {
    r.section("NormalizeObservation");
    r.expect_same("NormalizeObservation", "epsilon", epsilon_);
    r.expect_same("NormalizeObservation", "clip", clip_);
    stats_.load_state(r);
    training_ = r.boolean();
    load_state_of(r, env_);
  }

 private:
  Observation process(Observation observation) {
    PGRAD_REQUIRE(observation.size() == size_, "NormalizeObservation: the inner environment returned ",
                  observation.size(), " values, its observation space has ", size_);
    // Element loops (a handful of features) rather than mixed fixed/dynamic-size Eigen
    // expressions, which GCC 12 with AVX-512 reports as out-of-bounds packet loads.
    for (Index i = 0; i < size_; ++i) work_[i] = static_cast<double>(observation[i]);
    if (training_) stats_.update(work_);
    apply(observation, observation);
    return observation;
  }

  // out_i = clip((raw_i - mean_i) / sqrt(var_i + epsilon), -clip, clip); raw may alias out.
  void apply(const Observation& raw, Observation& out) const {
    const auto& mean = stats_.mean();
    const auto& var = stats_.var();
    for (Index i = 0; i < size_; ++i) {
      const double z = (static_cast<double>(raw[i]) - mean[i]) / std::sqrt(var[i] + epsilon_);
      out[i] = static_cast<Scalar>(std::clamp(z, -clip_, clip_));
    }
  }

  Env env_;
  Index size_;
  Statistics stats_;
  Vector<double> work_;
  double epsilon_, clip_;
  bool training_ = true;
};

}  // namespace pgrad::envs
