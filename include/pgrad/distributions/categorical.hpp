#pragma once
// pgrad::dist::Categorical: a batch of categorical distributions over logits, with optional
// action masks and the closed-form gradient of a policy-gradient loss w.r.t. the logits.
#include <limits>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/distributions/column_redux.hpp>
#include <pgrad/distributions/elementwise.hpp>

namespace pgrad::dist {

/// A batch of categorical distributions, one per column of an `n_actions x batch` logit matrix z:
///
///     log p_k = z_k - m - log sum_{i allowed} exp(z_i - m),   m = max_{i allowed} z_i
///     H       = -sum_k p_k log p_k
///     KL(p||q) = sum_k p_k (log p_k - log q_k)
///
/// (log-sum-exp with the column maximum subtracted, so logits of +-1e4 give finite results).
///
/// An optional mask (`true` = allowed, same shape as the logits) gives forbidden actions
/// probability 0 (log-probability -inf): they are never sampled or chosen by mode(), asking for
/// their log_prob throws, and their logits get zero gradient. A sample must allow at least one
/// action.
///
/// loss_gradient gives dL/dz for L = sum_j w_j log p(a_j) + sum_j e_j H_j in closed form:
///
///     dL/dz_kj = w_j (1[k = a_j] - p_kj) - e_j p_kj (log p_kj + H_j)
///
/// set_logits costs O(n x batch); every other call O(n x batch) or less. Buffers are members,
/// and outputs are resized only when their size changes, so a fixed batch size allocates nothing
/// after the first call. Not thread-safe for concurrent set_logits on one object.
template <class Scalar = float>
class Categorical {
 public:
  using S = Scalar;

  Categorical() = default;

  /// Sets the logits (n_actions x batch) without a mask.
  void set_logits(const MatrixCRef<S>& logits) {
    check_logits(logits);
    masked_ = false;
    copy_matrix(logits, log_probs_);
    normalize();
  }

  /// Sets the logits with a mask of the same shape (true = allowed).
  void set_logits(const MatrixCRef<S>& logits, const Eigen::Ref<const BoolMatrix>& allowed) {
    check_logits(logits);
    check_shape(allowed, logits.rows(), logits.cols(), "Categorical::set_logits: mask");
    const Index n = logits.rows(), batch = logits.cols();
    for (Index j = 0; j < batch; ++j) {
      bool any = false;
      for (Index k = 0; k < n && !any; ++k) any = allowed(k, j);
      PGRAD_REQUIRE(any, "Categorical::set_logits: the mask forbids every action of sample ", j, " (", n, " actions)");
    }
    masked_ = true;
    allowed_.resize(n, batch);
    log_probs_.resize(n, batch);
    for (Index j = 0; j < batch; ++j)
      for (Index k = 0; k < n; ++k) {
        const bool allow = allowed(k, j);
        allowed_(k, j) = allow;
        log_probs_(k, j) = allow ? logits(k, j) : -std::numeric_limits<S>::infinity();
      }
    normalize();
  }

  Index num_actions() const { return log_probs_.rows(); }
  Index batch_size() const { return log_probs_.cols(); }
  bool masked() const { return masked_; }

  /// log-softmax of the logits, n_actions x batch (masked entries are -inf).
  const Matrix<S>& log_probabilities() const { return log_probs_; }
  /// softmax of the logits, n_actions x batch (masked entries are exactly 0).
  const Matrix<S>& probabilities() const { return probs_; }
  void probabilities(Matrix<S>& out) const { out = probs_; }

  /// Draws what sample() draws for `samples` samples (one uniform each) and discards it.
  static void discard_samples(Rng& rng, Index samples, Index /*rows of an action: 1*/) {
    for (Index j = 0; j < samples; ++j) static_cast<void>(rng.uniform<S>());
  }

  /// One action per sample by inverse CDF: the first k with u < p_0 + ... + p_k, where
  /// u = rng.uniform<S>() is drawn once per sample in column order.
  void sample(Rng& rng, IndexRowVector& actions) const {
    const Index n = num_actions();
    actions.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      const S u = rng.uniform<S>();
      S cumulative = 0;
      Index chosen = -1;
      for (Index k = 0; k < n; ++k) {
        cumulative += probs_(k, j);
        if (u < cumulative) {
          chosen = k;
          break;
        }
      }
      if (chosen < 0) {  // rounding left the total just below u: take the last possible action
        chosen = n - 1;
        while (probs_(chosen, j) <= 0 && chosen > 0) --chosen;
      }
      actions[j] = chosen;
    }
  }

  /// The most probable action of each sample (the first one on ties).
  void mode(IndexRowVector& actions) const {
    actions.resize(batch_size());
    const Index n = num_actions();
    for (Index j = 0; j < batch_size(); ++j) {
      const S* column = log_probs_.data() + j * n;
      Index best = 0;
      for (Index k = 1; k < n; ++k)
        if (column[k] > column[best]) best = k;
      actions[j] = best;
    }
  }

  /// log p(a_j) per sample. Throws on an action outside [0, n) or a masked one.
  void log_prob(const IndexRowVector& actions, RowVector<S>& out) const {
    check_actions(actions, "Categorical::log_prob");
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) out[j] = log_probs_(actions[j], j);
  }

  /// H_j = -sum_k p_kj log p_kj per sample.
  void entropy(RowVector<S>& out) const { out = entropy_; }

  /// The Fisher metric of the distribution in its logits applied to a tangent of the logits,
  /// per sample: out_j = (diag(p_j) - p_j p_jᵀ) u_j, i.e. out_kj = p_kj (u_kj - Σ_i p_ij u_ij). It
  /// is the Hessian of KL(this || π_z) in the logits z at this distribution's own logits
  /// (TRPO's Fisher-vector products). n_actions x batch in and out.
  void fisher_product(const MatrixCRef<S>& tangent, Matrix<S>& out) const {
    PGRAD_REQUIRE(tangent.rows() == num_actions() && tangent.cols() == batch_size(), "Categorical::fisher_product: "
                  "tangent is ", tangent.rows(), "x", tangent.cols(), ", the logits ", num_actions(), "x", batch_size());
    out.resize(num_actions(), batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      S mean = 0;
      for (Index k = 0; k < num_actions(); ++k) mean += probs_(k, j) * tangent(k, j);
      for (Index k = 0; k < num_actions(); ++k) out(k, j) = probs_(k, j) * (tangent(k, j) - mean);
    }
  }

  /// KL(this || other) per sample. +inf where `other` masks an action this one allows.
  void kl(const Categorical& other, RowVector<S>& out) const {
    PGRAD_REQUIRE(other.num_actions() == num_actions() && other.batch_size() == batch_size(),
                  "Categorical::kl: other has ", other.num_actions(), "x", other.batch_size(),
                  " logits, this has ", num_actions(), "x", batch_size());
    out.resize(batch_size());
    out.array() = (probs_.array() > S(0))
                      .select(probs_.array() * (log_probs_.array() - other.log_probs_.array()), S(0))
                      .colwise()
                      .sum();
  }

  /// dL/dlogits (n_actions x batch) for L = sum_j log_prob_weight[j] log p(a_j) +
  /// sum_j entropy_weight[j] H_j. Masked logits get exactly 0.
  void loss_gradient(const IndexRowVector& actions, const RowVectorCRef<S>& log_prob_weight,
                     const RowVectorCRef<S>& entropy_weight, Matrix<S>& grad_logits) const {
    check_actions(actions, "Categorical::loss_gradient");
    check_weights(log_prob_weight, "log_prob_weight");
    check_weights(entropy_weight, "entropy_weight");
    const Index n = num_actions();
    grad_logits.resize(n, batch_size());
    // -p_kj (w_j + e_j (log p_kj + H_j)); p = 0 (masked or underflowed) gives 0, not 0 * -inf.
    for (Index j = 0; j < batch_size(); ++j) {
      const S w = log_prob_weight[j], e = entropy_weight[j], h = entropy_[j];
      const S* p = probs_.data() + j * n;
      const S* log_p = log_probs_.data() + j * n;
      S* g = grad_logits.data() + j * n;
      for (Index k = 0; k < n; ++k) {
        // The Select expression's shape: each operation a call of its own, the product only where
        // p > 0 (compilers then contract and vectorise it as they did the expression).
        using detail::add;
        using detail::multiply;
        g[k] = p[k] > S(0) ? multiply(-p[k], add(multiply(add(log_p[k], h), e), w)) : S(0);
      }
    }
    for (Index j = 0; j < batch_size(); ++j) grad_logits(actions[j], j) += log_prob_weight[j];
  }

 private:
  static void check_logits(const MatrixCRef<S>& logits) {
    PGRAD_REQUIRE(logits.rows() > 0, "Categorical::set_logits: logits have no rows (need at least one action)");
    if constexpr (checks_enabled()) check_finite(logits, "Categorical::set_logits: logits");
  }

  void check_actions(const IndexRowVector& actions, const char* where) const {
    PGRAD_REQUIRE(actions.size() == batch_size(), where, ": actions has ", actions.size(),
                  " samples but the distribution has batch size ", batch_size());
    for (Index j = 0; j < actions.size(); ++j) {
      const Index a = actions[j];
      PGRAD_REQUIRE(a >= 0 && a < num_actions(), where, ": action ", a, " of sample ", j,
                    " is outside [0, ", num_actions(), ")");
      PGRAD_REQUIRE(!masked_ || allowed_(a, j), where, ": action ", a, " of sample ", j,
                    " is masked (not allowed)");
    }
  }

  void check_weights(const RowVectorCRef<S>& weights, const char* name) const {
    PGRAD_REQUIRE(weights.size() == batch_size(), "Categorical::loss_gradient: ", name, " has ",
                  weights.size(), " entries but the distribution has batch size ", batch_size());
    if constexpr (checks_enabled()) check_finite(weights, name);
  }

  // On entry log_probs_ holds the logits (masked entries -inf); turns them into log-softmax and
  // fills probs_ and entropy_.
  void normalize() {
    // Plain loops with Eigen's reduction order for a column that starts a packet (aligned_start
    // 0, detail::eigen_order_redux) and one operation per statement or call, and exp and log by
    // Eigen's vectorised functions on every entry (detail::exp_in_place): a sample's numbers do
    // not depend on its batch, nor on where its column sits in memory (see test_categorical).
    const Index n = num_actions(), batch = batch_size();
    column_max_.resize(batch);
    column_sum_.resize(batch);
    for (Index j = 0; j < batch; ++j) {
      S* z = log_probs_.data() + j * n;
      column_max_[j] = detail::eigen_order_redux<S>(n, 0, Eigen::internal::scalar_max_op<S, S>(),
                                                    [z](Index k) { return z[k]; });
      for (Index k = 0; k < n; ++k) z[k] -= column_max_[j];
    }
    probs_ = log_probs_;
    detail::exp_in_place(probs_);
    // Eigen's vectorised exp clamps its argument, so exp(-inf) is not exactly 0: zero it here.
    if (masked_)
      for (Index k = 0; k < probs_.size(); ++k)
        if (!allowed_.data()[k]) probs_.data()[k] = S(0);
    for (Index j = 0; j < batch; ++j) {
      S* p = probs_.data() + j * n;
      const S sum = detail::eigen_order_sum<S>(n, 0, [p](Index k) { return p[k]; });
      column_sum_[j] = sum;
      for (Index k = 0; k < n; ++k) p[k] /= sum;
    }
    detail::log_in_place(column_sum_);
    for (Index j = 0; j < batch; ++j) {
      S* log_p = log_probs_.data() + j * n;
      for (Index k = 0; k < n; ++k) log_p[k] -= column_sum_[j];
    }
    entropy_.resize(batch);
    for (Index j = 0; j < batch; ++j) {
      // -Σ p log p: a column of a Select expression, which Eigen adds in order from the first entry
      // (the product computed only where p > 0, as the Select does).
      const S* p = probs_.data() + j * n;
      const S* log_p = log_probs_.data() + j * n;
      const auto term = [p, log_p](Index k) { return p[k] > S(0) ? detail::multiply(p[k], log_p[k]) : S(0); };
      S sum = term(0);
      for (Index k = 1; k < n; ++k) sum = detail::add(sum, term(k));
      entropy_[j] = -sum;
    }
  }

  Matrix<S> log_probs_, probs_;
  BoolMatrix allowed_;
  bool masked_ = false;
  RowVector<S> column_max_, column_sum_, entropy_;
};

}  // namespace pgrad::dist
