#pragma once
// pgrad::dist::DiagGaussian: a batch of diagonal Gaussians with a state-independent or
// state-dependent log standard deviation, and the closed-form gradient of a policy-gradient loss.
#include <cmath>
#include <limits>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/distributions/column_redux.hpp>
#include <pgrad/distributions/elementwise.hpp>

namespace pgrad::dist {

/// A batch of diagonal Gaussians N(mu, diag(sigma^2)), one per column of an `action_dim x batch`
/// mean, with log sigma either one learned vector shared by every sample (set_state_independent,
/// the PPO default) or a second network head (set_state_dependent, `action_dim x batch`).
/// With d = action_dim and z_i = (a_i - mu_i) / sigma_i, per sample:
///
///     log p(a)  = sum_i [ -z_i^2 / 2 - log sigma_i - log(2 pi) / 2 ]
///     H         = sum_i [ log sigma_i + (1 + log(2 pi)) / 2 ]
///     KL(p||q)  = sum_i [ log(sigma_q,i / sigma_p,i) + (sigma_p,i^2 + (mu_p,i - mu_q,i)^2) / (2 sigma_q,i^2) - 1/2 ]
///
/// loss_gradient gives, for L = sum_j w_j log p(a_j) + sum_j e_j H_j,
///
///     dL/dmu_ij         = w_j z_ij / sigma_ij
///     dL/dlog sigma_ij  = w_j (z_ij^2 - 1) + e_j
///
/// per sample; for the state-independent parameter vector sum the rows: grad.rowwise().sum().
///
/// sample() is reparameterised: a = mu + sigma * eps with eps from rng.normal<S>(), drawn in
/// column-major order (all dimensions of sample 0, then sample 1, ...). Every call is
/// O(action_dim x batch); buffers are members and outputs are resized only when their size
/// changes.
template <class Scalar = float>
class DiagGaussian {
 public:
  using S = Scalar;

  DiagGaussian() = default;

  /// mean: action_dim x batch; log_std: action_dim, shared by every sample.
  void set_state_independent(const MatrixCRef<S>& mean, const VectorCRef<S>& log_std) {
    PGRAD_REQUIRE(log_std.size() == mean.rows(), "DiagGaussian::set_state_independent: log_std has ",
                  log_std.size(), " entries but the mean has ", mean.rows(), " rows (action_dim)");
    check_inputs(mean, log_std, "DiagGaussian::set_state_independent");
    mean_ = mean;
    log_std_.resize(mean.rows(), mean.cols());
    const Index d = mean.rows();
    for (Index j = 0; j < mean.cols(); ++j)
      for (Index i = 0; i < d; ++i) log_std_.data()[i + j * d] = log_std.data()[i];
    state_dependent_ = false;
    update_std("DiagGaussian::set_state_independent");
  }

  /// mean and log_std: action_dim x batch (a second network head).
  void set_state_dependent(const MatrixCRef<S>& mean, const MatrixCRef<S>& log_std) {
    check_shape(log_std, mean.rows(), mean.cols(), "DiagGaussian::set_state_dependent: log_std (shape of the mean)");
    check_inputs(mean, log_std, "DiagGaussian::set_state_dependent");
    mean_ = mean;
    log_std_ = log_std;
    state_dependent_ = true;
    update_std("DiagGaussian::set_state_dependent");
  }

  Index action_dim() const { return mean_.rows(); }
  Index batch_size() const { return mean_.cols(); }
  bool state_dependent() const { return state_dependent_; }
  const Matrix<S>& mean() const { return mean_; }
  /// log sigma and sigma, action_dim x batch (columns equal when state-independent).
  const Matrix<S>& log_std() const { return log_std_; }
  const Matrix<S>& stddev() const { return std_; }

  /// Draws what sample() draws for `samples` samples of `action_dim` dimensions (one normal
  /// each) and discards it.
  static void discard_samples(Rng& rng, Index samples, Index action_dim) {
    for (Index i = 0; i < samples * action_dim; ++i) static_cast<void>(rng.normal<S>());
  }

  /// a = mu + sigma * eps, eps ~ N(0, 1) from rng.normal<S>().
  void sample(Rng& rng, Matrix<S>& actions) const {
    actions.resize(action_dim(), batch_size());
    S* a = actions.data();
    const S* mu = mean_.data();
    const S* sigma = std_.data();
    for (Index i = 0; i < actions.size(); ++i) a[i] = rng.normal<S>();
    for (Index i = 0; i < actions.size(); ++i) {
      const S scaled = sigma[i] * a[i];
      a[i] = mu[i] + scaled;
    }
  }

  /// The most probable action: the mean.
  void mode(Matrix<S>& actions) const { actions = mean_; }

  /// log p(a) per sample, summed over the action dimensions.
  void log_prob(const MatrixCRef<S>& actions, RowVector<S>& out) const {
    check_actions(actions, "DiagGaussian::log_prob");
    out.resize(batch_size());
    const Index d = action_dim();
    const S* a = actions.data();
    const Index lda = actions.outerStride();
    const S* mu = mean_.data();
    const S* sigma = std_.data();
    const S* log_sigma = log_std_.data();
    const S constant = S(0.5) * S(d) * log_two_pi();
    for (Index j = 0; j < batch_size(); ++j) {
      // -z²/2 - log σ summed over the column as Eigen sums an expression's column (aligned_start 0).
      const S sum = detail::eigen_order_sum<S>(d, 0, [&](Index i) {
        const S diff = a[i + j * lda] - mu[i + j * d];
        const S z = diff / sigma[i + j * d];
        const S square = z * z;
        const S scaled = S(-0.5) * square;
        return scaled - log_sigma[i + j * d];
      });
      out[j] = sum - constant;
    }
  }

  /// H per sample, summed over the action dimensions.
  void entropy(RowVector<S>& out) const {
    out.resize(batch_size());
    const Index d = action_dim();
    const S constant = S(0.5) * S(d) * (S(1) + log_two_pi());
    for (Index j = 0; j < batch_size(); ++j) {
      // Σ log σ in the order of a column that starts a packet, wherever it sits in memory.
      const S* log_sigma = log_std_.data() + j * d;
      const S sum = detail::eigen_order_sum<S>(d, 0, [log_sigma](Index i) { return log_sigma[i]; });
      out[j] = sum + constant;
    }
  }

  /// The Fisher metric of the distribution in its mean applied to a tangent of the mean, per
  /// sample: out = u / σ² elementwise (action_dim x batch). In log σ the metric is 2 on every
  /// dimension and the mean and log σ do not mix, so this and 2·(log σ tangent) make the whole
  /// product. It is the Hessian of KL(this || π) in (μ, log σ) at this distribution's own
  /// parameters (TRPO's Fisher-vector products).
  void fisher_product(const MatrixCRef<S>& mean_tangent, Matrix<S>& out) const {
    PGRAD_REQUIRE(mean_tangent.rows() == action_dim() && mean_tangent.cols() == batch_size(),
                  "DiagGaussian::fisher_product: tangent is ", mean_tangent.rows(), "x", mean_tangent.cols(),
                  ", the mean ", action_dim(), "x", batch_size());
    out.resize(action_dim(), batch_size());
    for (Index j = 0; j < batch_size(); ++j)
      for (Index i = 0; i < action_dim(); ++i) {
        const S sigma = std_(i, j);
        out(i, j) = mean_tangent(i, j) / (sigma * sigma);
      }
  }
  /// The metric of log σ (on every dimension and sample).
  static constexpr S log_std_fisher = S(2);

  /// KL(this || other) per sample.
  void kl(const DiagGaussian& other, RowVector<S>& out) const {
    PGRAD_REQUIRE(other.action_dim() == action_dim() && other.batch_size() == batch_size(),
                  "DiagGaussian::kl: other has ", other.action_dim(), "x", other.batch_size(),
                  " means, this has ", action_dim(), "x", batch_size());
    out.resize(batch_size());
    out.array() = (other.log_std_.array() - log_std_.array() +
                   (std_.array().square() + (mean_ - other.mean_).array().square()) /
                       (S(2) * other.std_.array().square()) -
                   S(0.5))
                      .colwise()
                      .sum();
  }

  /// dL/dmean and dL/dlog_std, both action_dim x batch (per sample), for
  /// L = sum_j log_prob_weight[j] log p(a_j) + sum_j entropy_weight[j] H_j.
  void loss_gradient(const MatrixCRef<S>& actions, const RowVectorCRef<S>& log_prob_weight,
                     const RowVectorCRef<S>& entropy_weight, Matrix<S>& grad_mean,
                     Matrix<S>& grad_log_std) const {
    check_actions(actions, "DiagGaussian::loss_gradient");
    check_weights(log_prob_weight, "log_prob_weight");
    check_weights(entropy_weight, "entropy_weight");
    grad_mean.resize(action_dim(), batch_size());
    grad_log_std.resize(action_dim(), batch_size());
    const Index d = action_dim();
    const S* a = actions.data();
    const Index lda = actions.outerStride();
    const S* mu = mean_.data();
    const S* sigma = std_.data();
    for (Index j = 0; j < batch_size(); ++j) {
      const S w = log_prob_weight[j], e = entropy_weight[j];
      for (Index i = 0; i < d; ++i) {
        const Index k = i + j * d;
        const S diff = a[i + j * lda] - mu[k];
        const S z = diff / sigma[k];  // z = (a - mu) / sigma
        const S square = z * z;
        const S shifted = square - S(1);
        const S weighted = shifted * w;
        grad_log_std.data()[k] = weighted + e;  // w (z² - 1) + e
        const S scaled = z / sigma[k];
        grad_mean.data()[k] = scaled * w;  // w z / sigma
      }
    }
  }

 private:
  static S log_two_pi() { return S(1.8378770664093454835606594728112); }

  template <class LogStd>
  static void check_inputs(const MatrixCRef<S>& mean, const LogStd& log_std, const char* where) {
    PGRAD_REQUIRE(mean.rows() > 0, where, ": the mean has no rows (need action_dim >= 1)");
    if constexpr (checks_enabled()) {
      check_finite(mean, "DiagGaussian: mean");
      check_finite(log_std, "DiagGaussian: log_std");
    }
  }

  void update_std(const char* where) {
    std_ = log_std_;
    detail::exp_in_place(std_);  // the same bits for a sample in any batch
    if constexpr (checks_enabled()) {
      // exp overflows to inf or underflows to 0 for extreme log_std (|log_std| > ~88 in float).
      PGRAD_REQUIRE(std_.size() == 0 || (std_.minCoeff() > S(0) && std_.maxCoeff() < std::numeric_limits<S>::infinity()),
                    where, ": log_std out of range (min ", log_std_.minCoeff(), ", max ", log_std_.maxCoeff(),
                    ") gives a standard deviation of 0 or inf");
    }
  }

  void check_actions(const MatrixCRef<S>& actions, const char* where) const {
    PGRAD_REQUIRE(actions.rows() == action_dim() && actions.cols() == batch_size(), where,
                  ": actions are ", actions.rows(), "x", actions.cols(), " but the distribution is ",
                  action_dim(), "x", batch_size(), " (action_dim x batch size)");
    if constexpr (checks_enabled()) check_finite(actions, "DiagGaussian: actions");
  }

  void check_weights(const RowVectorCRef<S>& weights, const char* name) const {
    PGRAD_REQUIRE(weights.size() == batch_size(), "DiagGaussian::loss_gradient: ", name, " has ",
                  weights.size(), " entries but the distribution has batch size ", batch_size());
    if constexpr (checks_enabled()) check_finite(weights, name);
  }

  Matrix<S> mean_, log_std_, std_;
  bool state_dependent_ = false;
};

}  // namespace pgrad::dist
