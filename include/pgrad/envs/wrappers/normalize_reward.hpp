#pragma once
// pgrad::envs::NormalizeReward: rewards scaled by the running std of the discounted return.
#include <algorithm>
#include <cmath>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/running_mean_std.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/wrapper.hpp>

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
class NormalizeReward : public Wrapper<NormalizeReward<Env>, Env> {
  using Base = Wrapper<NormalizeReward<Env>, Env>;
  friend Base;

 public:
  using typename Base::Action;
  using Statistics = RunningMeanStd<double>;
  static constexpr const char* state_section = "NormalizeReward";

  explicit NormalizeReward(Env env, double gamma = 0.99, double epsilon = 1e-8, double clip = 10.0)
      : Base(std::move(env)), stats_(1), gamma_(gamma), epsilon_(epsilon), clip_(clip) {
    PGRAD_REQUIRE(gamma >= 0.0 && gamma <= 1.0, "NormalizeReward: gamma must be in [0, 1], got ", gamma);
    PGRAD_REQUIRE(std::isfinite(epsilon) && epsilon > 0.0,
                  "NormalizeReward: epsilon must be finite and positive, got ", epsilon);
    PGRAD_REQUIRE(clip > 0.0, "NormalizeReward: clip must be positive, got ", clip);
  }

  auto step(const Action& action) {
    auto result = this->env_.step(action);
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

 private:
  // Checkpoints: gamma, epsilon and clip (checked), the statistics, the running return G and the
  // training flag.
  void save_own_state(Writer& w) const {
    w.named("gamma", gamma_);
    w.named("epsilon", epsilon_);
    w.named("clip", clip_);
    stats_.save_state(w);
    w.f64(discounted_return_);
    w.boolean(training_);
  }
  void load_own_state(Reader& r) {
    r.expect_same(state_section, "gamma", gamma_);
    r.expect_same(state_section, "epsilon", epsilon_);
    r.expect_same(state_section, "clip", clip_);
    stats_.load_state(r);
    discounted_return_ = r.finite<double>("NormalizeReward discounted return");
    training_ = r.boolean();
  }

  Statistics stats_;
  Eigen::Matrix<double, 1, 1> sample_;
  double gamma_, epsilon_, clip_;
  double discounted_return_ = 0.0;
  bool training_ = true;
};

}  // namespace pgrad::envs
