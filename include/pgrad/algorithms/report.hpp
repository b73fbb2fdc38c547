#pragma once
// What an on-policy algorithm reports after each update, and the callback that receives it.
#include <chrono>
#include <functional>

#include <pgrad/core/types.hpp>

namespace pgrad::algo {

/// Statistics of one loss evaluation (minibatch or whole batch).
struct LossStats {
  double loss = 0, policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;

  /// Sets `loss` = policy_loss - ent_coef·entropy + vf_coef·value_loss, the form all three share.
  void combine(double ent_coef, double vf_coef) { loss = policy_loss - ent_coef * entropy + vf_coef * value_loss; }
};

class EpisodeLog;

/// What an algorithm reports after each update (CleanRL's metric names in brackets).
struct UpdateReport {
  long long iteration = 0;           ///< updates done in this run
  long long steps = 0;               ///< environment steps so far (all copies)
  long long episodes = 0;            ///< episodes finished so far
  double mean_return = 0;            ///< mean return of the last 100 finished episodes [charts/episodic_return]
  double mean_length = 0;            ///< their mean length [charts/episodic_length]
  /// The run's last finished episodes (EpisodeLog::mean_return(window)); valid during the callback.
  const EpisodeLog* episode_log = nullptr;
  double steps_per_second = 0;       ///< [charts/SPS]
  double seconds = 0;                ///< wall time since learn() started
  double env_seconds = 0;            ///< of which stepping the environments (VectorEnv::step)
  double learning_rate = 0;          ///< [charts/learning_rate]
  double policy_loss = 0;            ///< [losses/policy_loss]
  double value_loss = 0;             ///< [losses/value_loss]
  double entropy = 0;                ///< [losses/entropy]
  double approx_kl = 0;              ///< PPO: mean((r - 1) - log r) [losses/approx_kl]
  double clip_fraction = 0;          ///< PPO: fraction with |r - 1| > clip [losses/clipfrac]
  double explained_variance = 0;     ///< 1 - Var(R - V) / Var(R) over the rollout [losses/explained_variance]
  double grad_norm = 0;              ///< global gradient norm before clipping (last minibatch)
  // TRPO's policy step (approx_kl is then the mean KL(π_old || π_new) of the step taken).
  bool policy_step_accepted = true;  ///< false: the line search found no acceptable step, π is unchanged
  int line_search_steps = 0;         ///< shrinks of the step before the one accepted (or tried last)
  double cg_residual = 0;            ///< ‖g - (F + λI) x‖ after conjugate gradient

  /// Copies the loss terms of a loss evaluation.
  void set_losses(const LossStats& stats) {
    policy_loss = stats.policy_loss;
    value_loss = stats.value_loss;
    entropy = stats.entropy;
    approx_kl = stats.approx_kl;
  }
};

/// Called after every update; return false to stop training (e.g. a reward threshold reached).
using UpdateCallback = std::function<bool(const UpdateReport&)>;

/// Wall-clock time since construction, for steps-per-second reports.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// The sum of a row of values, in double.
template <class S>
double sum_of(const RowVector<S>& values) {
  double sum = 0;
  for (Index j = 0; j < values.size(); ++j) sum += static_cast<double>(values[j]);
  return sum;
}

/// The mean of a row of values, summed in double.
template <class S>
double mean_of(const RowVector<S>& values) {
  return values.size() > 0 ? sum_of(values) / static_cast<double>(values.size()) : 0.0;
}

/// 1 - Var(returns - values) / Var(returns): how much of the return the critic explains
/// (1 perfect, 0 no better than a constant, negative worse), in double. NaN-free: 0 when
/// Var(returns) = 0. The two matrices have the same shape.
template <class S>
double explained_variance(const MatrixCRef<S>& returns, const MatrixCRef<S>& values) {
  const Index n = returns.size();
  double mean_return = 0, mean_difference = 0;
  for (Index j = 0; j < returns.cols(); ++j)
    for (Index i = 0; i < returns.rows(); ++i) {
      mean_return += static_cast<double>(returns(i, j));
      mean_difference += static_cast<double>(returns(i, j)) - static_cast<double>(values(i, j));
    }
  mean_return /= static_cast<double>(n);
  mean_difference /= static_cast<double>(n);
  double var_return = 0, var_difference = 0;
  for (Index j = 0; j < returns.cols(); ++j)
    for (Index i = 0; i < returns.rows(); ++i) {
      const double r = static_cast<double>(returns(i, j)) - mean_return;
      const double d = static_cast<double>(returns(i, j)) - static_cast<double>(values(i, j)) - mean_difference;
      var_return += r * r;
      var_difference += d * d;
    }
  return var_return == 0 ? 0.0 : 1.0 - var_difference / var_return;
}

}  // namespace pgrad::algo
