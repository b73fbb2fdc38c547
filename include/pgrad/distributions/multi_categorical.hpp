#pragma once
// pgrad::dist::MultiCategorical: a vector of independent categorical choices (Gymnasium's
// MultiDiscrete space), with per-component action masks and closed-form loss gradients.
#include <cmath>
#include <limits>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::dist {

/// A batch of K independent categorical distributions per sample, component k choosing among
/// nvec[k] actions (e.g. nvec = {3, 5, 2}). The logits are `(Σ nvec) x batch`, component k's
/// logits in rows [offset(k), offset(k) + nvec[k]) (the components stacked in order: the policy
/// network has Σ nvec outputs); actions are `K x batch` integers (Actions, Index entries as in
/// Categorical), entry (k, j) in [0, nvec[k]). Per sample, with p^k the softmax of component k:
///
///     log π(a)  = Σ_k log p^k_{a_k}          (log-softmax with the block maximum subtracted)
///     H         = Σ_k H_k,  H_k = −Σ_i p^k_i log p^k_i
///     KL(p||q)  = Σ_k Σ_i p^k_i (log p^k_i − log q^k_i)
///
/// (independent components: the joint probability is the product, so log-probabilities,
/// entropies and KL divergences add; as Stable-Baselines3's MultiCategoricalDistribution).
///
/// An optional mask (`true` = allowed, shape of the logits) gives forbidden actions probability 0
/// (log-probability −inf), as Categorical's: they are never sampled or chosen by mode(), asking
/// for their log_prob or loss_gradient throws, and their logits get zero gradient. Every component
/// of every sample must allow at least one action (sb3-contrib MaskablePPO's MultiDiscrete masks).
///
/// loss_gradient gives dL/dz for L = Σ_j w_j log π(a_j) + Σ_j e_j H_j, block by block:
///
///     dL/dz^k_ij = w_j (1[i = a_kj] − p^k_ij) − e_j p^k_ij (log p^k_ij + H_kj)
///
/// (H_kj the entropy of component k alone). fisher_product applies the Fisher metric in the
/// logits, block-diagonal with blocks diag(p^k) − p^k p^kᵀ: the Hessian of KL(this || π_z) in z
/// at this distribution's own logits.
///
/// Cost: O(Σ nvec x batch) per call. Buffers are members and outputs are resized only when their
/// size changes: a fixed batch size allocates nothing after the first call.
template <class Scalar = float>
class MultiCategorical {
 public:
  using S = Scalar;
  /// K x batch action indices, the integer type of Categorical's actions.
  using Actions = Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic>;
  using ActionsCRef = Eigen::Ref<const Actions>;

  MultiCategorical() = default;
  /// The component sizes (each ≥ 1, at least one component).
  explicit MultiCategorical(const std::vector<Index>& nvec) { set_nvec(nvec); }

  /// Changes the component sizes; the logits must be set again.
  void set_nvec(const std::vector<Index>& nvec) {
    PGRAD_REQUIRE(!nvec.empty(), "MultiCategorical: nvec is empty (need at least one component)");
    offsets_.assign(nvec.size() + 1, 0);
    for (std::size_t k = 0; k < nvec.size(); ++k) {
      PGRAD_REQUIRE(nvec[k] >= 1, "MultiCategorical: nvec[", k, "] = ", nvec[k], " (each component needs >= 1 action)");
      offsets_[k + 1] = offsets_[k] + nvec[k];
    }
    nvec_ = nvec;
    log_probs_.resize(0, 0);
    probs_.resize(0, 0);
    entropies_.resize(0, 0);
  }

  const std::vector<Index>& nvec() const { return nvec_; }
  Index num_components() const { return static_cast<Index>(nvec_.size()); }
  /// Σ nvec: the number of logit rows.
  Index total_actions() const { return offsets_.empty() ? 0 : offsets_.back(); }
  /// The first logit row of component k.
  Index offset(Index k) const { return offsets_[static_cast<std::size_t>(k)]; }
  Index batch_size() const { return log_probs_.cols(); }
  bool masked() const { return masked_; }

  /// Sets the logits ((Σ nvec) x batch) without a mask.
  void set_logits(const MatrixCRef<S>& logits) {
    check_logits(logits);
    masked_ = false;
    log_probs_ = logits;
    normalize();
  }

  /// Sets the logits with a mask of the same shape (true = allowed).
  void set_logits(const MatrixCRef<S>& logits, const Eigen::Ref<const BoolMatrix>& allowed) {
    check_logits(logits);
    check_shape(allowed, logits.rows(), logits.cols(), "MultiCategorical::set_logits: mask");
    const Index batch = logits.cols();
    for (Index j = 0; j < batch; ++j)
      for (Index k = 0; k < num_components(); ++k) {
        bool any = false;
        for (Index i = offset(k); i < offset(k + 1) && !any; ++i) any = allowed(i, j);
        PGRAD_REQUIRE(any, "MultiCategorical::set_logits: the mask forbids every action of component ", k,
                      " of sample ", j, " (", nvec_[static_cast<std::size_t>(k)], " actions)");
      }
    masked_ = true;
    allowed_ = allowed;
    log_probs_.resize(logits.rows(), batch);
    for (Index j = 0; j < batch; ++j)
      for (Index i = 0; i < logits.rows(); ++i)
        log_probs_(i, j) = allowed(i, j) ? logits(i, j) : -std::numeric_limits<S>::infinity();
    normalize();
  }

  /// Per-component log-softmax, (Σ nvec) x batch (masked entries −inf).
  const Matrix<S>& log_probabilities() const { return log_probs_; }
  /// Per-component softmax, (Σ nvec) x batch (masked entries exactly 0; each block sums to 1).
  const Matrix<S>& probabilities() const { return probs_; }
  /// H_k per component and sample, K x batch (entropy() sums the rows).
  const Matrix<S>& component_entropies() const { return entropies_; }

  /// One action per component and sample by inverse CDF (the first i with u < p_0 + ... + p_i),
  /// one u = rng.uniform<S>() per component, drawn in column-major order (components 0..K−1 of
  /// sample 0, then sample 1, ...).
  void sample(Rng& rng, Actions& actions) const {
    actions.resize(num_components(), batch_size());
    for (Index j = 0; j < batch_size(); ++j)
      for (Index k = 0; k < num_components(); ++k) {
        const S u = rng.uniform<S>();
        const Index first = offset(k), n = offset(k + 1) - first;
        S cumulative = 0;
        Index chosen = -1;
        for (Index i = 0; i < n; ++i) {
          cumulative += probs_(first + i, j);
          if (u < cumulative) {
            chosen = i;
            break;
          }
        }
        if (chosen < 0) {  // rounding left the total just below u: the last possible action
          chosen = n - 1;
          while (chosen > 0 && probs_(first + chosen, j) <= S(0)) --chosen;
        }
        actions(k, j) = chosen;
      }
  }

  /// The most probable action of each component (the first one on ties; never a masked one).
  void mode(Actions& actions) const {
    actions.resize(num_components(), batch_size());
    for (Index j = 0; j < batch_size(); ++j)
      for (Index k = 0; k < num_components(); ++k) {
        const Index first = offset(k), n = offset(k + 1) - first;
        Index best = 0;
        for (Index i = 1; i < n; ++i)
          if (log_probs_(first + i, j) > log_probs_(first + best, j)) best = i;
        actions(k, j) = best;
      }
  }

  /// log π(a_j) = Σ_k log p^k(a_kj) per sample. Throws on an action out of range or masked.
  void log_prob(const ActionsCRef& actions, RowVector<S>& out) const {
    check_actions(actions, "MultiCategorical::log_prob");
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      S sum = 0;
      for (Index k = 0; k < num_components(); ++k) sum += log_probs_(offset(k) + actions(k, j), j);
      out[j] = sum;
    }
  }

  /// H_j = Σ_k H_kj per sample.
  void entropy(RowVector<S>& out) const {
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      S sum = 0;
      for (Index k = 0; k < num_components(); ++k) sum += entropies_(k, j);
      out[j] = sum;
    }
  }

  /// KL(this || other) per sample, summed over the components; +inf where `other` masks an
  /// action this one allows.
  void kl(const MultiCategorical& other, RowVector<S>& out) const {
    PGRAD_REQUIRE(other.nvec_ == nvec_, "MultiCategorical::kl: other has different component sizes (nvec)");
    PGRAD_REQUIRE(other.batch_size() == batch_size(), "MultiCategorical::kl: other has batch size ",
                  other.batch_size(), ", this has ", batch_size());
    out.resize(batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      S sum = 0;
      for (Index i = 0; i < total_actions(); ++i) {
        const S p = probs_(i, j);
        if (p > S(0)) sum += p * (log_probs_(i, j) - other.log_probs_(i, j));
      }
      out[j] = sum;
    }
  }

  /// The Fisher metric in the logits applied to a tangent of the logits ((Σ nvec) x batch in and
  /// out), block by block: out^k = p^k ⊙ (u^k − Σ_i p^k_i u^k_i). The Hessian of KL(this || π_z) in
  /// z at this distribution's own logits (TRPO's Fisher-vector products).
  void fisher_product(const MatrixCRef<S>& tangent, Matrix<S>& out) const {
    PGRAD_REQUIRE(tangent.rows() == total_actions() && tangent.cols() == batch_size(),
                  "MultiCategorical::fisher_product: tangent is ", tangent.rows(), "x", tangent.cols(), ", the logits ",
                  total_actions(), "x", batch_size());
    out.resize(total_actions(), batch_size());
    for (Index j = 0; j < batch_size(); ++j)
      for (Index k = 0; k < num_components(); ++k) {
        S mean = 0;
        for (Index i = offset(k); i < offset(k + 1); ++i) mean += probs_(i, j) * tangent(i, j);
        for (Index i = offset(k); i < offset(k + 1); ++i) out(i, j) = probs_(i, j) * (tangent(i, j) - mean);
      }
  }

  /// dL/dlogits ((Σ nvec) x batch) for L = Σ_j log_prob_weight[j] log π(a_j) +
  /// Σ_j entropy_weight[j] H_j. Masked logits get exactly 0.
  void loss_gradient(const ActionsCRef& actions, const RowVectorCRef<S>& log_prob_weight,
                     const RowVectorCRef<S>& entropy_weight, Matrix<S>& grad_logits) const {
    check_actions(actions, "MultiCategorical::loss_gradient");
    check_weights(log_prob_weight, "log_prob_weight");
    check_weights(entropy_weight, "entropy_weight");
    grad_logits.resize(total_actions(), batch_size());
    for (Index j = 0; j < batch_size(); ++j) {
      const S w = log_prob_weight[j], e = entropy_weight[j];
      for (Index k = 0; k < num_components(); ++k) {
        const S h = entropies_(k, j);
        for (Index i = offset(k); i < offset(k + 1); ++i) {
          const S p = probs_(i, j);
          // p = 0 (masked or underflowed) gives 0, not 0 * -inf.
          grad_logits(i, j) = p > S(0) ? -p * (w + e * (log_probs_(i, j) + h)) : S(0);
        }
        grad_logits(offset(k) + actions(k, j), j) += w;
      }
    }
  }

 private:
  void check_logits(const MatrixCRef<S>& logits) const {
    PGRAD_REQUIRE(!nvec_.empty(), "MultiCategorical::set_logits: no component sizes (construct with nvec or call set_nvec)");
    PGRAD_REQUIRE(logits.rows() == total_actions(), "MultiCategorical::set_logits: logits have ", logits.rows(),
                  " rows but nvec sums to ", total_actions());
    if constexpr (checks_enabled()) check_finite(logits, "MultiCategorical::set_logits: logits");
  }

  void check_actions(const ActionsCRef& actions, const char* where) const {
    PGRAD_REQUIRE(actions.rows() == num_components() && actions.cols() == batch_size(), where, ": actions are ",
                  actions.rows(), "x", actions.cols(), " but the distribution has ", num_components(),
                  " components x batch size ", batch_size());
    for (Index j = 0; j < batch_size(); ++j)
      for (Index k = 0; k < num_components(); ++k) {
        const Index a = actions(k, j), n = offset(k + 1) - offset(k);
        PGRAD_REQUIRE(a >= 0 && a < n, where, ": action ", a, " of component ", k, " of sample ", j,
                      " is outside [0, ", n, ")");
        PGRAD_REQUIRE(!masked_ || allowed_(offset(k) + a, j), where, ": action ", a, " of component ", k,
                      " of sample ", j, " is masked (not allowed)");
      }
  }

  void check_weights(const RowVectorCRef<S>& weights, const char* name) const {
    PGRAD_REQUIRE(weights.size() == batch_size(), "MultiCategorical::loss_gradient: ", name, " has ", weights.size(),
                  " entries but the distribution has batch size ", batch_size());
    if constexpr (checks_enabled()) check_finite(weights, name);
  }

  // On entry log_probs_ holds the logits (masked entries −inf); turns each block into its
  // log-softmax (block maximum subtracted first) and fills probs_ and entropies_.
  void normalize() {
    using std::exp;
    using std::log;
    const Index batch = log_probs_.cols();
    probs_.resize(log_probs_.rows(), batch);
    entropies_.resize(num_components(), batch);
    for (Index j = 0; j < batch; ++j)
      for (Index k = 0; k < num_components(); ++k) {
        const Index first = offset(k), last = offset(k + 1);
        S max = -std::numeric_limits<S>::infinity();
        for (Index i = first; i < last; ++i) max = log_probs_(i, j) > max ? log_probs_(i, j) : max;
        S sum = 0;
        for (Index i = first; i < last; ++i) {
          log_probs_(i, j) -= max;
          const bool allowed = !masked_ || allowed_(i, j);
          probs_(i, j) = allowed ? exp(log_probs_(i, j)) : S(0);
          sum += probs_(i, j);
        }
        const S log_sum = log(sum);
        S h = 0;
        for (Index i = first; i < last; ++i) {
          log_probs_(i, j) -= log_sum;
          probs_(i, j) /= sum;
          if (probs_(i, j) > S(0)) h -= probs_(i, j) * log_probs_(i, j);
        }
        entropies_(k, j) = h;
      }
  }

  std::vector<Index> nvec_, offsets_;
  Matrix<S> log_probs_, probs_, entropies_;
  BoolMatrix allowed_;
  bool masked_ = false;
};

}  // namespace pgrad::dist
