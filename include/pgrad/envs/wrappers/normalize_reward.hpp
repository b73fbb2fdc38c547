#pragma once
// pgrad::envs::NormalizeReward: rewards scaled by the running std of the discounted return.
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

namespace pgrad::envs {

/// Gymnasium's NormalizeReward (v0.27+ definition) with Stable-Baselines3's clipping:
///
///   G   <- G * gamma * (1 - terminated) + r        (G starts at 0; reset() does not clear it)
///   var <- running variance of every G so far      (RunningMeanStd<double>, count from 1e-4)
///   r'  = clip(r / sqrt(var + epsilon), -clip, clip),   gamma 0.99, epsilon 1e-8, clip 10.
///
/// The mean is not subtracted (OpenAI baselines issue 538). `set_training(false)` freezes the
/// statistics; `statistics()` / `set_statistics()` read and restore them. Put
/// RecordEpisodeStatistics inside this wrapper to report raw returns.
template <class Env>
class NormalizeReward {
  static_assert(require_env<Env>());

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;
  using Statistics = RunningMeanStd<double>;

  explicit NormalizeReward(Env env, double gamma = 0.99, double epsilon = 1e-8, double clip = 10.0)
      : env_(std::move(env)), stats_(1), gamma_(gamma), epsilon_(epsilon), clip_(clip) {
    PGRAD_REQUIRE(gamma >= 0.0 && gamma <= 1.0, "NormalizeReward: gamma must be in [0, 1], got ", gamma);
    PGRAD_REQUIRE(std::isfinite(epsilon) && epsilon > 0.0,
                  "NormalizeReward: epsilon must be finite and positive, got ", epsilon);
    PGRAD_REQUIRE(clip > 0.0, "NormalizeReward: clip must be positive, got ", clip);
  }

  auto observation_space() const { return env_.observation_space(); }
  auto action_space() const { return env_.action_space(); }

  Observation reset(Rng& rng) { return env_.reset(rng); }
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  auto step(const Action& action) {
    auto result = env_.step(action);
    const double reward = static_cast<double>(result.reward);
    PGRAD_REQUIRE(std::isfinite(reward), "NormalizeReward: the inner environment returned reward ",
                  reward);
    discounted_return_ = discounted_return_ * gamma_ * (result.terminated ? 0.0 : 1.0) + reward;
    if (training_) {
      sample_(0, 0) = discounted_return_;
      stats_.update(sample_);
    }
    result.reward = static_cast<decltype(result.reward)>(normalize(reward));
    return result;
  }

  /// r / sqrt(var + epsilon) clipped to +-clip, with the current statistics (no update).
  double normalize(double reward) const {
    return std::clamp(reward / std::sqrt(stats_.var()[0] + epsilon_), -clip_, clip_);
  }

  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

  const Statistics& statistics() const { return stats_; }
  void set_statistics(const Statistics& statistics) {
    PGRAD_REQUIRE(statistics.size() == 1, "NormalizeReward::set_statistics: expected statistics of 1 "
                                          "feature, got ", statistics.size());
    stats_ = statistics;
  }
  /// The running discounted return G.
  double discounted_return() const { return discounted_return_; }

  double gamma() const { return gamma_; }
  double epsilon() const { return epsilon_; }
  double clip() const { return clip_; }

  Env& inner() { return env_; }
  const Env& inner() const { return env_; }

  /// Checkpoints: gamma, epsilon and clip (checked), the statistics, the running return G and the
  /// training flag, then the inner environment's state.
  void save_state(Writer& w) const {
    w.section("NormalizeReward");
    w.named("gamma", gamma_);
    w.named("epsilon", epsilon_);
    w.named("clip", clip_);
    stats_.save_state(w);
    w.f64(discounted_return_);
    w.boolean(training_);
    save_state_of(w, env_);
  }
  void load_state(Reader& r) {
    r.section("NormalizeReward");
    r.expect_same("NormalizeReward", "gamma", gamma_);
    r.expect_same("NormalizeReward", "epsilon", epsilon_);
    r.expect_same("NormalizeReward", "clip", clip_);
    stats_.load_state(r);
    discounted_return_ = r.f64();
    training_ = r.boolean();
    load_state_of(r, env_);
  }

 private:
  Env env_;
  Statistics stats_;
  Eigen::Matrix<double, 1, 1> sample_;
  double gamma_, epsilon_, clip_;
  double discounted_return_ = 0.0;
  bool training_ = true;
};

}  // namespace pgrad::envs
