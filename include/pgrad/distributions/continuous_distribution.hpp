#pragma once
// pgrad::dist::ContinuousDistribution: the action distribution of a Box-action policy, one of
// DiagGaussian, SquashedDiagGaussian and Beta, chosen at run time (PolicyConfig::box_distribution).
#include <cmath>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/distributions/beta.hpp>
#include <pgrad/distributions/diag_gaussian.hpp>
#include <pgrad/distributions/squashed_gaussian.hpp>
#include <pgrad/envs/transforms.hpp>

namespace pgrad {

/// Which distribution a policy for Box actions samples from, and how a sample becomes the
/// environment's action in [low, high]:
///   gaussian           N(μ, σ²), clipped to the box (CleanRL's and SB3's PPO; the default)
///   squashed_gaussian  u ~ N(μ, σ²), action low + (high − low)(tanh(u) + 1)/2 (SAC's bounded
///                      Gaussian; the rollout keeps u)
///   beta               x ~ Beta(1 + softplus, 1 + softplus), action low + (high − low) x (Chou et al. 2017)
/// The last two need finite bounds.
enum class BoxDistribution { gaussian, squashed_gaussian, beta };

/// "gaussian", "squashed_gaussian" or "beta".
inline const char* box_distribution_name(BoxDistribution kind) {
  switch (kind) {
    case BoxDistribution::gaussian: return "gaussian";
    case BoxDistribution::squashed_gaussian: return "squashed_gaussian";
    case BoxDistribution::beta: return "beta";
  }
  return "invalid";
}

/// Whether `kind` is one of BoxDistribution's enumerators.
inline bool valid_box_distribution(BoxDistribution kind) {
  return kind == BoxDistribution::gaussian || kind == BoxDistribution::squashed_gaussian ||
         kind == BoxDistribution::beta;
}

namespace dist {

/// The distribution of a Box-action ActorCritic: the kind set by set_kind() (BoxDistribution)
/// and one interface for the three, in the two layouts of the actor's outputs ("heads"):
///   - state-independent: the head is the mean (action_dim rows) and log σ is a learned vector
///     (set_state_independent, loss_gradient with a per-sample grad_log_std, fisher_product on
///     the mean and log_std_fisher on log σ): Gaussian and squashed Gaussian;
///   - two-part heads (2·action_dim rows, set_heads / heads_loss_gradient / heads_fisher_product):
///     the mean then log σ for a state-dependent Gaussian or squashed Gaussian, x_α then x_β for
///     Beta (always).
/// Every formula is the wrapped distribution's (see diag_gaussian.hpp, squashed_gaussian.hpp,
/// beta.hpp); this class only dispatches. Actions are what the distribution samples
/// (action_dim x batch): the Gaussian's a, the squashed Gaussian's pre-squash u, Beta's x in
/// (0, 1); to_env_actions() maps them onto the action box.
template <class Scalar = float>
class ContinuousDistribution {
 public:
  using S = Scalar;

  void set_kind(BoxDistribution kind) {
    PGRAD_REQUIRE(valid_box_distribution(kind), "ContinuousDistribution: invalid kind ", static_cast<int>(kind));
    kind_ = kind;
  }
  BoxDistribution kind() const { return kind_; }
  /// Whether the actor's outputs are two parts of action_dim rows each (see the class comment).
  static bool two_part_heads(BoxDistribution kind, bool state_dependent_std) {
    return kind == BoxDistribution::beta || state_dependent_std;
  }

  /// mean: action_dim x batch; log_std: action_dim, shared by every sample (not for Beta).
  void set_state_independent(const MatrixCRef<S>& mean, const VectorCRef<S>& log_std) {
    switch (kind_) {
      case BoxDistribution::gaussian: gaussian_.set_state_independent(mean, log_std); return;
      case BoxDistribution::squashed_gaussian: squashed_.set_state_independent(mean, log_std); return;
      case BoxDistribution::beta: break;
    }
    throw Error("ContinuousDistribution::set_state_independent: a Beta policy has two-part heads");
  }
  /// heads: 2·action_dim x batch (mean then log σ; for Beta x_α then x_β).
  void set_heads(const MatrixCRef<S>& heads) {
    PGRAD_REQUIRE(heads.rows() % 2 == 0, "ContinuousDistribution::set_heads: ", heads.rows(),
                  " rows, need 2 x action_dim");
    const Index d = heads.rows() / 2;
    switch (kind_) {
      case BoxDistribution::gaussian: gaussian_.set_state_dependent(heads.topRows(d), heads.bottomRows(d)); return;
      case BoxDistribution::squashed_gaussian:
        squashed_.set_state_dependent(heads.topRows(d), heads.bottomRows(d));
        return;
      case BoxDistribution::beta: beta_.set_heads(heads); return;
    }
  }

  Index action_dim() const { return dispatch([](const auto& d) { return d.action_dim(); }); }
  Index batch_size() const { return dispatch([](const auto& d) { return d.batch_size(); }); }
  /// The wrapped distributions (only the one of kind() is set).
  const DiagGaussian<S>& gaussian() const { return gaussian_; }
  const SquashedDiagGaussian<S>& squashed_gaussian() const { return squashed_; }
  const Beta<S>& beta() const { return beta_; }

  /// Draws the random numbers sample() would for `samples` samples, and discards them (the
  /// Gaussians'; Beta's Gamma draws take a number of tries that depends on the parameters, so a
  /// Beta policy cannot skip another process's draws: it throws).
  static void discard_samples(Rng& rng, Index samples, Index action_dim, BoxDistribution kind) {
    PGRAD_REQUIRE(kind != BoxDistribution::beta,
                  "a Beta policy does not train across processes (its Gamma draws take a variable number of "
                  "random numbers, so a process cannot skip the others')");
    DiagGaussian<S>::discard_samples(rng, samples, action_dim);
  }
  void sample(Rng& rng, Matrix<S>& actions) const {
    dispatch([&](const auto& d) { d.sample(rng, actions); });
  }
  /// The deterministic action: the mean μ (Gaussian), u = μ (squashed: tanh(μ) in the box), α/(α+β) (Beta).
  void mode(Matrix<S>& actions) const {
    dispatch([&](const auto& d) { d.mode(actions); });
  }
  void log_prob(const MatrixCRef<S>& actions, RowVector<S>& out) const {
    dispatch([&](const auto& d) { d.log_prob(actions, out); });
  }
  void entropy(RowVector<S>& out) const {
    dispatch([&](const auto& d) { d.entropy(out); });
  }
  /// KL(this || other) per sample; both of the same kind.
  void kl(const ContinuousDistribution& other, RowVector<S>& out) const {
    PGRAD_REQUIRE(other.kind_ == kind_, "ContinuousDistribution::kl: ", box_distribution_name(kind_), " against ",
                  box_distribution_name(other.kind_));
    switch (kind_) {
      case BoxDistribution::gaussian: gaussian_.kl(other.gaussian_, out); return;
      case BoxDistribution::squashed_gaussian: squashed_.kl(other.squashed_, out); return;
      case BoxDistribution::beta: beta_.kl(other.beta_, out); return;
    }
  }

  /// State-independent layout: dL/dmean and the per-sample dL/dlog σ (both action_dim x batch)
  /// for L = Σ_j w_j log π(a_j) + Σ_j e_j H_j.
  void loss_gradient(const MatrixCRef<S>& actions, const RowVectorCRef<S>& log_prob_weight,
                     const RowVectorCRef<S>& entropy_weight, Matrix<S>& grad_mean, Matrix<S>& grad_log_std) const {
    if (kind_ == BoxDistribution::gaussian)
      gaussian_.loss_gradient(actions, log_prob_weight, entropy_weight, grad_mean, grad_log_std);
    else if (kind_ == BoxDistribution::squashed_gaussian)
      squashed_.loss_gradient(actions, log_prob_weight, entropy_weight, grad_mean, grad_log_std);
    else
      throw Error("ContinuousDistribution::loss_gradient: a Beta policy has two-part heads");
  }
  /// Two-part layout: dL/dheads (2·action_dim x batch, the layout of set_heads).
  void heads_loss_gradient(const MatrixCRef<S>& actions, const RowVectorCRef<S>& log_prob_weight,
                           const RowVectorCRef<S>& entropy_weight, Matrix<S>& grad_heads) const {
    if (kind_ == BoxDistribution::beta) {
      beta_.loss_gradient(actions, log_prob_weight, entropy_weight, grad_heads);
      return;
    }
    loss_gradient(actions, log_prob_weight, entropy_weight, grad_mean_, grad_log_std_);
    const Index d = grad_mean_.rows();
    grad_heads.resize(2 * d, grad_mean_.cols());
    grad_heads.topRows(d) = grad_mean_;
    grad_heads.bottomRows(d) = grad_log_std_;
  }

  /// State-independent layout: the Fisher metric on the mean (u / σ²); log σ's is log_std_fisher.
  void fisher_product(const MatrixCRef<S>& mean_tangent, Matrix<S>& out) const {
    PGRAD_REQUIRE(kind_ != BoxDistribution::beta,
                  "ContinuousDistribution::fisher_product: a Beta policy has two-part heads");
    gaussian_or_squashed().fisher_product(mean_tangent, out);
  }
  /// The Fisher metric of a Gaussian's log σ, on every dimension and sample.
  static constexpr S log_std_fisher = DiagGaussian<S>::log_std_fisher;
  /// Two-part layout: the Fisher metric on the heads (2·action_dim x batch in and out): the
  /// mean's u / σ² and log σ's 2 u (Gaussians; their Fisher metric has no cross terms), Beta's J I J.
  void heads_fisher_product(const MatrixCRef<S>& tangent, Matrix<S>& out) const {
    if (kind_ == BoxDistribution::beta) {
      beta_.fisher_product(tangent, out);
      return;
    }
    const Index d = tangent.rows() / 2;
    gaussian_or_squashed().fisher_product(tangent.topRows(d), mean_metric_);
    out.resize(2 * d, tangent.cols());
    out.topRows(d) = mean_metric_;
    out.bottomRows(d) = log_std_fisher * tangent.bottomRows(d);
  }

 private:
  template <class F>
  auto dispatch(F&& f) const {
    switch (kind_) {
      case BoxDistribution::squashed_gaussian: return f(squashed_);
      case BoxDistribution::beta: return f(beta_);
      case BoxDistribution::gaussian: break;
    }
    return f(gaussian_);
  }
  const DiagGaussian<S>& gaussian_or_squashed() const {
    return kind_ == BoxDistribution::squashed_gaussian ? squashed_.gaussian() : gaussian_;
  }

  BoxDistribution kind_ = BoxDistribution::gaussian;
  DiagGaussian<S> gaussian_;
  SquashedDiagGaussian<S> squashed_;
  Beta<S> beta_;
  mutable Matrix<S> grad_mean_, grad_log_std_, mean_metric_;  // scratch of the two-part layout
};

}  // namespace dist

/// The environment's actions for a Box policy's sampled actions (action_dim x N, or one
/// column), written to `out` (same shape, any scalar): clipped to [low, high] (gaussian), or
/// mapped onto it by RescaleAction's affine map from [−1, 1] after tanh (squashed_gaussian) or
/// from [0, 1] (beta). Element loops, no allocation when `out` has the shape.
template <class Actions, class Low, class High, class Out>
void box_env_actions(BoxDistribution kind, const Eigen::MatrixBase<Actions>& actions, const Eigen::MatrixBase<Low>& low,
                     const Eigen::MatrixBase<High>& high, const Eigen::MatrixBase<Out>& out) {
  using S = typename Actions::Scalar;
  switch (kind) {
    case BoxDistribution::gaussian: envs::clip_action(actions, low, high, out); return;
    case BoxDistribution::beta: envs::rescale_action(actions, S(0), S(1), low, high, out); return;
    case BoxDistribution::squashed_gaussian:
      envs::detail::map_actions(actions, low, high, out, "box_env_actions", [](S u, S lo, S hi) {
        const S mapped = lo + (hi - lo) * ((std::tanh(u) + S(1)) / S(2));
        return std::min(std::max(mapped, lo), hi);
      });
      return;
  }
}

}  // namespace pgrad
