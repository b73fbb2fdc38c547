#pragma once
// pgrad::envs::NormalizeObservation: observations standardised by running statistics.
#include <cmath>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/running_mean_std.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/envs/wrapper.hpp>

namespace pgrad::envs {

/// Standardises observations with running statistics (Gymnasium's NormalizeObservation with
/// Stable-Baselines3's clipping; envs::normalize_observation):
///
///   o' = clip((o - mean) / sqrt(var + epsilon), -clip, clip),   epsilon = 1e-8, clip = 10,
///
/// where mean and var are a RunningMeanStd<double> over every observation seen so far (reset
/// ones included), updated with o before o is normalised. `set_training(false)` freezes the
/// statistics (evaluation); `statistics()` / `set_statistics()` read and restore them (they are
/// part of a trained model). The observation space becomes Box(-clip, clip).
/// Cost: O(obs_dim) per step, no allocation after construction.
template <class Env>
class NormalizeObservation : public Wrapper<NormalizeObservation<Env>, Env> {
  using Base = Wrapper<NormalizeObservation<Env>, Env>;
  friend Base;

 public:
  using typename Base::Action;
  using typename Base::Observation;
  using typename Base::Scalar;
  using Statistics = RunningMeanStd<double>;
  static constexpr const char* state_section = "NormalizeObservation";

  explicit NormalizeObservation(Env env, double epsilon = 1e-8, double clip = 10.0)
      : Base(std::move(env)),
        size_(this->env_.observation_space().size()),
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

  using Base::reset;
  Observation reset(Rng& rng) { return process(this->env_.reset(rng)); }

  auto step(const Action& action) {
    auto result = this->env_.step(action);
    result.observation = process(result.observation);
    return result;
  }

  /// Normalises `observation` with the current statistics, without updating them.
  Observation normalize(const Observation& observation) const {
    PGRAD_REQUIRE(observation.size() == size_, "NormalizeObservation::normalize: observation has ",
                  observation.size(), " entries, expected ", size_);
    Observation out = observation;
    apply(out);
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

 private:
  // Checkpoints: epsilon and clip (checked), the statistics and the training flag.
  void save_own_state(Writer& w) const {
    w.named("epsilon", epsilon_);
    w.named("clip", clip_);
    stats_.save_state(w);
    w.boolean(training_);
  }
  void load_own_state(Reader& r) {
    r.expect_same(state_section, "epsilon", epsilon_);
    r.expect_same(state_section, "clip", clip_);
    stats_.load_state(r);
    training_ = r.boolean();
  }

  Observation process(Observation observation) {
    PGRAD_REQUIRE(observation.size() == size_, "NormalizeObservation: the inner environment returned ",
                  observation.size(), " values, its observation space has ", size_);
    // Element loops (a handful of features) rather than mixed fixed/dynamic-size Eigen
    // expressions, which GCC 12 with AVX-512 reports as out-of-bounds packet loads.
    for (Index i = 0; i < size_; ++i) work_[i] = static_cast<double>(observation[i]);
    if (training_) stats_.update(work_);
    apply(observation);
    return observation;
  }

  // observation <- normalize_observation(observation) with the current statistics, in place.
  void apply(Observation& observation) const {
    normalize_observation(observation, stats_.mean(), stats_.var(), epsilon_, clip_, observation);
  }

  Index size_;
  Statistics stats_;
  Vector<double> work_;
  double epsilon_, clip_;
  bool training_ = true;
};

}  // namespace pgrad::envs
