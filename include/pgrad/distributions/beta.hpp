#pragma once
// pgrad::dist::Beta: a batch of independent Beta distributions per action dimension for bounded
// continuous actions (Chou, Maturana & Scherer 2017), and pgrad::dist::sample_gamma.
#include <cmath>
#include <limits>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/special_functions.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::dist {

/// A Gamma(shape, 1) draw by Marsaglia & Tsang's method ("A simple method for generating gamma
/// variables", ACM TOMS 26(3), 2000), in double with pgrad's Rng (the same numbers with every
/// compiler): for shape ≥ 1, with d = shape − 1/3 and c = 1/√(9d), repeat
///
///     x = rng.normal(), v = (1 + c x)³ (again if 1 + c x ≤ 0), u = rng.uniform()
///     accept d·v if u < 1 − 0.0331 x⁴ or log u < x²/2 + d (1 − v + log v);
///
/// for 0 < shape < 1, Gamma(shape + 1) · u^(1/shape) with one more uniform u. About 1.05
/// normal draws per value for shape ≥ 1. Throws pgrad::Error unless shape > 0 and finite.
inline double sample_gamma(Rng& rng, double shape) {
  PGRAD_REQUIRE(shape > 0 && shape < std::numeric_limits<double>::infinity(), "sample_gamma: shape ", shape,
                " is not positive and finite");
  if (shape < 1) {
    const double g = sample_gamma(rng, shape + 1);
    return g * std::pow(rng.uniform<double>(), 1 / shape);
  }
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    const double x = rng.normal<double>();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = rng.uniform<double>();
    const double x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d * (1 - v + std::log(v))) return d * v;
  }
}

/// A batch of independent Beta distributions on (0, 1), one per action dimension and sample,
/// parameterised by a policy head of 2·d rows per sample (d = action_dim): rows [0, d) are
/// x_α and rows [d, 2d) are x_β, and (Chou et al. 2017, "Improving Stochastic Policy Gradients in
/// Continuous Control with Deep Reinforcement Learning using the Beta Distribution", ICML)
///
///     α = 1 + softplus(x_α),   β = 1 + softplus(x_β)      (α, β > 1: unimodal, density 0 at the ends)
///
/// Per sample, summed over the dimensions, with B the Beta function, ψ digamma and ψ' trigamma:
///
///     log p(x)  = Σ [ (α−1) log x + (β−1) log(1−x) − log B(α, β) ]
///     H         = Σ [ log B(α, β) − (α−1) ψ(α) − (β−1) ψ(β) + (α+β−2) ψ(α+β) ]
///     KL(p||q)  = Σ [ log B(α_q, β_q) − log B(α_p, β_p) + (α_p−α_q) ψ(α_p) + (β_p−β_q) ψ(β_p)
///                     + (α_q−α_p+β_q−β_p) ψ(α_p+β_p) ]
///
/// Actions are the Beta variates x in (0, 1), action_dim x batch; the environment's action is
/// the affine image low + (high − low) ⊙ x (to_action_space; from_action_space inverts it). The
/// log-density of the environment's action differs from log_prob by the constant
/// −Σ log(high − low), which cancels in probability ratios and gradients.
///
/// loss_gradient gives dL/dheads (2d x batch) for L = Σ_j w_j log p(x_j) + Σ_j e_j H_j:
///
///     dL/dα = w (log x − ψ(α) + ψ(α+β)) + e (−(α−1) ψ'(α) + (α+β−2) ψ'(α+β))
///     dL/dβ = w (log(1−x) − ψ(β) + ψ(α+β)) + e (−(β−1) ψ'(β) + (α+β−2) ψ'(α+β))
///     dL/dx_α = sigmoid(x_α) dL/dα,   dL/dx_β = sigmoid(x_β) dL/dβ.
///
/// fisher_product applies the Fisher metric in the heads, per dimension J I J with
/// J = diag(sigmoid(x_α), sigmoid(x_β)) and the Beta's Fisher information in (α, β)
///
///     I = [ ψ'(α) − ψ'(α+β)    −ψ'(α+β)        ]
///         [ −ψ'(α+β)           ψ'(β) − ψ'(α+β) ]
///
/// (the Hessian of KL(this || p) in the heads at this distribution's own heads).
///
/// sample() draws x = G_α / (G_α + G_β) with G from sample_gamma (G_α then G_β per entry, entries
/// in column-major order), clamped into the open interval (the smallest positive S and the
/// largest S below 1) so that log_prob is always finite. mode() returns the mean α / (α + β) (the
/// usual deterministic action for Beta policies; the mode (α−1)/(α+β−2) is 0/0 at α = β = 1).
///
/// Special functions are evaluated in double (log_gamma, digamma, trigamma from
/// special_functions.hpp). Cost per entry: 3 digamma and 3 log_gamma in set_heads, 3 trigamma in
/// loss_gradient and fisher_product. Buffers are members and outputs are resized only when their
/// size changes: a fixed batch size allocates nothing after the first call.
template <class Scalar = float>
class Beta {
 public:
  using S = Scalar;

  Beta() = default;

  /// heads: 2·action_dim x batch, x_α in the top half and x_β in the bottom half.
  void set_heads(const MatrixCRef<S>& heads) {
    PGRAD_REQUIRE(heads.rows() > 0 && heads.rows() % 2 == 0, "Beta::set_heads: heads have ", heads.rows(),
                  " rows; need 2 x action_dim (x_alpha rows then x_beta rows)");
    if constexpr (checks_enabled()) check_finite(heads, "Beta::set_heads: heads");
    const Index d = heads.rows() / 2, batch = heads.cols();
    heads_ = heads;
    alpha_.resize(d, batch);
    beta_.resize(d, batch);
    psi_alpha_.resize(d, batch);
    psi_beta_.resize(d, batch);
    psi_sum_.resize(d, batch);
    log_beta_fn_.resize(d, batch);
    for (Index j = 0; j < batch; ++j)
      for (Index i = 0; i < d; ++i) {
        // α and β rounded to S first: every cached function below is then exactly that of alpha().
        alpha_(i, j) = S(1 + softplus(double(heads(i, j))));
        beta_(i, j) = S(1 + softplus(double(heads(d + i, j))));
        const double a = alpha_(i, j), b = beta_(i, j);
        psi_alpha_(i, j) = digamma(a);
        psi_beta_(i, j) = digamma(b);
        psi_sum_(i, j) = digamma(a + b);
        log_beta_fn_(i, j) = log_gamma(a) + log_gamma(b) - log_gamma(a + b);
      }
  }

  Index action_dim() const { return alpha_.rows(); }
  Index batch_size() const { return alpha_.cols(); }
  /// α and β, action_dim x batch.
  const Matrix<S>& alpha() const { return alpha_; }
  const Matrix<S>& beta() const { return beta_; }

  /// x = G_α / (G_α + G_β) in (0, 1), action_dim x batch.
  void sample(Rng& rng, Matrix<S>& actions) const {
    actions.resize(action_dim(), batch_size());
    const S lowest = std::numeric_limits<S>::denorm_min(), highest = S(1) - std::numeric_limits<S>::epsilon() / 2;
    for (Index j = 0; j < batch_size(); ++j)
      for (Index i = 0; i < action_dim(); ++i) {
        const double ga = sample_gamma(rng, double(alpha_(i, j)));
        const double gb = sample_gamma(rng, double(beta_(i, j)));
        const S x = S(ga / (ga + gb));
        actions(i, j) = x < lowest ? lowest : (x > highest ? highest : x);
      }
  }

  /// The mean α / (α + β) (see the class comment).
  void mode(Matrix<S>& actions) const {
    actions.resize(action_dim(), batch_size());
    actions.array() = alpha_.array() / (alpha_.array() + beta_.array());
  }

  /// log p(x) per sample, summed over the dimensions. Throws unless every x is in (0, 1).
  void log_prob(const MatrixCRef<S>& actions, RowVector<S>& out) const {
    check_actions(actions, "Beta::log_prob");
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      double sum = 0;
      for (Index i = 0; i < action_dim(); ++i) {
        const double x = actions(i, j);
        sum += (double(alpha_(i, j)) - 1) * std::log(x) + (double(beta_(i, j)) - 1) * std::log1p(-x) -
               log_beta_fn_(i, j);
      }
      out[j] = S(sum);
    }
  }

  /// H per sample, summed over the dimensions.
  void entropy(RowVector<S>& out) const {
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      double sum = 0;
      for (Index i = 0; i < action_dim(); ++i) {
        const double a = alpha_(i, j), b = beta_(i, j);
        sum += log_beta_fn_(i, j) - (a - 1) * psi_alpha_(i, j) - (b - 1) * psi_beta_(i, j) +
               (a + b - 2) * psi_sum_(i, j);
      }
      out[j] = S(sum);
    }
  }

  /// KL(this || other) per sample, summed over the dimensions.
  void kl(const Beta& other, RowVector<S>& out) const {
    PGRAD_REQUIRE(other.action_dim() == action_dim() && other.batch_size() == batch_size(), "Beta::kl: other is ",
                  other.action_dim(), "x", other.batch_size(), ", this is ", action_dim(), "x", batch_size(),
                  " (action_dim x batch size)");
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      double sum = 0;
      for (Index i = 0; i < action_dim(); ++i) {
        const double a = alpha_(i, j), b = beta_(i, j), qa = other.alpha_(i, j), qb = other.beta_(i, j);
        sum += other.log_beta_fn_(i, j) - log_beta_fn_(i, j) + (a - qa) * psi_alpha_(i, j) +
               (b - qb) * psi_beta_(i, j) + (qa - a + qb - b) * psi_sum_(i, j);
      }
      out[j] = S(sum);
    }
  }

  /// dL/dheads (2·action_dim x batch, the layout of set_heads) for
  /// L = Σ_j log_prob_weight[j] log p(x_j) + Σ_j entropy_weight[j] H_j.
  void loss_gradient(const MatrixCRef<S>& actions, const RowVectorCRef<S>& log_prob_weight,
                     const RowVectorCRef<S>& entropy_weight, Matrix<S>& grad_heads) const {
    check_actions(actions, "Beta::loss_gradient");
    check_weights(log_prob_weight, "log_prob_weight");
    check_weights(entropy_weight, "entropy_weight");
    const Index d = action_dim();
    grad_heads.resize(2 * d, batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      const double w = log_prob_weight[j], e = entropy_weight[j];
      for (Index i = 0; i < d; ++i) {
        const double a = alpha_(i, j), b = beta_(i, j), x = actions(i, j);
        const double tri_a = trigamma(a), tri_b = trigamma(b), tri_sum = trigamma(a + b);
        const double d_alpha = w * (std::log(x) - psi_alpha_(i, j) + psi_sum_(i, j)) +
                               e * (-(a - 1) * tri_a + (a + b - 2) * tri_sum);
        const double d_beta = w * (std::log1p(-x) - psi_beta_(i, j) + psi_sum_(i, j)) +
                              e * (-(b - 1) * tri_b + (a + b - 2) * tri_sum);
        grad_heads(i, j) = S(sigmoid(double(heads_(i, j))) * d_alpha);
        grad_heads(d + i, j) = S(sigmoid(double(heads_(d + i, j))) * d_beta);
      }
    }
  }

  /// The Fisher metric in the heads applied to a tangent of the heads (2·action_dim x batch in
  /// and out): per dimension J I J u (see the class comment).
  void fisher_product(const MatrixCRef<S>& tangent, Matrix<S>& out) const {
    const Index d = action_dim();
    PGRAD_REQUIRE(tangent.rows() == 2 * d && tangent.cols() == batch_size(), "Beta::fisher_product: tangent is ",
                  tangent.rows(), "x", tangent.cols(), ", the heads ", 2 * d, "x", batch_size());
    out.resize(2 * d, batch_size());
    for (Index j = 0; j < batch_size(); ++j)
      for (Index i = 0; i < d; ++i) {
        const double a = alpha_(i, j), b = beta_(i, j);
        const double tri_sum = trigamma(a + b);
        const double ja = sigmoid(double(heads_(i, j))), jb = sigmoid(double(heads_(d + i, j)));
        const double ua = ja * double(tangent(i, j)), ub = jb * double(tangent(d + i, j));
        out(i, j) = S(ja * ((trigamma(a) - tri_sum) * ua - tri_sum * ub));
        out(d + i, j) = S(jb * (-tri_sum * ua + (trigamma(b) - tri_sum) * ub));
      }
  }

  /// The environment's action low + (high − low) ⊙ x for Beta variates x (action_dim x batch);
  /// low and high are the action box's bounds (action_dim each, finite, low < high).
  static void to_action_space(const MatrixCRef<S>& x, const VectorCRef<S>& low, const VectorCRef<S>& high,
                              Matrix<S>& out) {
    check_box(x, low, high, "Beta::to_action_space");
    out.resize(x.rows(), x.cols());
    for (Index j = 0; j < x.cols(); ++j)
      for (Index i = 0; i < x.rows(); ++i) out(i, j) = low[i] + (high[i] - low[i]) * x(i, j);
  }

  /// The Beta variate (a − low) / (high − low) of an environment action a (the inverse of
  /// to_action_space; log_prob needs it strictly inside the box).
  static void from_action_space(const MatrixCRef<S>& a, const VectorCRef<S>& low, const VectorCRef<S>& high,
                                Matrix<S>& out) {
    check_box(a, low, high, "Beta::from_action_space");
    out.resize(a.rows(), a.cols());
    for (Index j = 0; j < a.cols(); ++j)
      for (Index i = 0; i < a.rows(); ++i) out(i, j) = (a(i, j) - low[i]) / (high[i] - low[i]);
  }

 private:
  static void check_box(const MatrixCRef<S>& values, const VectorCRef<S>& low, const VectorCRef<S>& high,
                        const char* where) {
    PGRAD_REQUIRE(low.size() == values.rows() && high.size() == values.rows(), where, ": low has ", low.size(),
                  " and high ", high.size(), " entries for ", values.rows(), " action dimensions");
    for (Index i = 0; i < low.size(); ++i)
      PGRAD_REQUIRE(std::isfinite(low[i]) && std::isfinite(high[i]) && low[i] < high[i], where, ": bounds [", low[i],
                    ", ", high[i], "] of dimension ", i, " are not finite with low < high");
  }

  void check_actions(const MatrixCRef<S>& actions, const char* where) const {
    PGRAD_REQUIRE(actions.rows() == action_dim() && actions.cols() == batch_size(), where, ": actions are ",
                  actions.rows(), "x", actions.cols(), " but the distribution is ", action_dim(), "x", batch_size(),
                  " (action_dim x batch size)");
    for (Index j = 0; j < batch_size(); ++j)
      for (Index i = 0; i < action_dim(); ++i) {
        const S x = actions(i, j);
        PGRAD_REQUIRE(x > S(0) && x < S(1), where, ": action ", x, " at row ", i, ", column ", j,
                      " is outside the open interval (0, 1) of the Beta variates");
      }
  }

  void check_weights(const RowVectorCRef<S>& weights, const char* name) const {
    PGRAD_REQUIRE(weights.size() == batch_size(), "Beta::loss_gradient: ", name, " has ", weights.size(),
                  " entries but the distribution has batch size ", batch_size());
    if constexpr (checks_enabled()) check_finite(weights, name);
  }

  Matrix<S> heads_, alpha_, beta_;
  Matrix<double> psi_alpha_, psi_beta_, psi_sum_, log_beta_fn_;
};

}  // namespace pgrad::dist
