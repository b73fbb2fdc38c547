#pragma once
// The vanilla policy gradient of A2C and REINFORCE: its loss, and its update step on a whole rollout.
#include <pgrad/algorithms/config.hpp>
#include <pgrad/algorithms/data_parallel.hpp>
#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/algorithms/report.hpp>
#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// How a loss reduces its policy term over a batch: its mean, or its sum.
enum class Reduction { mean, sum };

/// The vanilla policy-gradient loss on a batch, and its gradient (accumulated into the policy's
/// gradients through ActorCritic::train_pass):
///   loss = -reduce(A·log π(a|s)) - ent_coef·mean(H) + vf_coef·mean((R - V)²)
/// with reduce = mean (A2C, as Stable-Baselines3) or the sum over the batch (REINFORCE over one
/// episode, as the PyTorch tutorial). A is the batch's advantages (REINFORCE: the returns Gₜ, or
/// Gₜ - V(sₜ) with a critic), R its returns; the value term is 0 without a critic.
template <class Policy>
class PolicyGradientLoss {
 public:
  using S = typename Policy::Scalar;
  using Batch = MinibatchFor<Policy>;

  /// With replay_dropout_masks the actor's dropout (if any) uses the masks the batch carries
  /// from the acting pass; otherwise it draws new ones.
  explicit PolicyGradientLoss(Reduction reduction = Reduction::mean, bool replay_dropout_masks = false)
      : reduction_(reduction), replay_dropout_masks_(replay_dropout_masks) {}

  LossStats compute(Policy& policy, const Batch& batch, const Coefficients& c, ThreadPool* workers = nullptr) {
    const Index size = batch.size();
    const double mean_over = static_cast<double>(batch.mean_over());  // the samples the loss averages over
    const S inv_b = S(1) / static_cast<S>(batch.mean_over());
    const S policy_scale = reduction_ == Reduction::mean ? inv_b : S(1);
    LossStats stats;
    batch.train_pass(
        policy,
        [&](const PolicyTerms<S>& p) {
          double policy_loss = 0;
          p.log_prob_weight.resize(size);
          for (Index j = 0; j < size; ++j) {
            p.log_prob_weight[j] = -batch.advantages[j] * policy_scale;
            policy_loss += static_cast<double>(p.log_prob_weight[j] * p.log_probs[j]);
          }
          p.entropy_weight.setConstant(size, -static_cast<S>(c.ent_coef) * inv_b);
          stats.policy_loss = policy_loss;
          stats.entropy = sum_of(p.entropy) / mean_over;
        },
        [&](const ValueTerms<S>& v) {
          v.value_weight.setZero(size);
          if (!policy.has_critic()) return;
          const S value_scale = S(2) * static_cast<S>(c.vf_coef) * inv_b;
          double squares = 0;
          for (Index j = 0; j < size; ++j) {
            const S error = v.values[j] - batch.returns[j];
            v.value_weight[j] = error * value_scale;
            squares += static_cast<double>(error * error);
          }
          stats.value_loss = squares / mean_over;
        },
        workers, replay_dropout_masks_ && batch.dropout_masks.size() > 0 ? &batch.dropout_masks : nullptr);
    stats.combine(c.ent_coef, c.vf_coef);
    return stats;
  }

 private:
  Reduction reduction_;
  bool replay_dropout_masks_;
};

/// One update of the vanilla policy gradient on a whole rollout (A2C's and REINFORCE's): all
/// samples in one batch, the advantages normalised when the config asks (normalize_in_place
/// with the given eps), one gradient step of PolicyGradientLoss with the caller's optimiser at
/// the update's learning rate.
template <class Policy>
class PolicyGradientStep {
 public:
  using S = typename Policy::Scalar;

  /// The rollout is split into the layout's shards (A2C over MPI).
  PolicyGradientStep(const ShardLayout& layout, Communicator& comm, Reduction reduction,
                     bool replay_dropout_masks = false, double normalize_eps = 1e-8)
      : batch_(layout, comm), loss_(reduction, replay_dropout_masks), normalize_eps_(static_cast<S>(normalize_eps)) {}

  template <class Optimizer>
  UpdateReport run(const OnPolicyConfig& config, const Coefficients& c, Policy& policy,
                   const RolloutBuffer<S, typename Policy::Actions>& rollout, Optimizer& optimizer,
                   ThreadPool& workers) {
    optimizer.set_learning_rate(static_cast<S>(c.learning_rate));
    batch_.gather_all(rollout);
    if (config.normalize_advantages) batch_.normalize_advantages(normalize_eps_);
    UpdateReport report;
    report.set_losses(batch_.gradient_step(policy, loss_, c, config.max_grad_norm, optimizer, workers, report.grad_norm));
    report.learning_rate = c.learning_rate;
    return report;
  }

 private:
  ShardedMinibatch<Policy> batch_;
  PolicyGradientLoss<Policy> loss_;
  S normalize_eps_;
};

}  // namespace pgrad::algo
