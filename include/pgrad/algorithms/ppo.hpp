#pragma once
// pgrad::algo::Ppo: proximal policy optimisation (Schulman et al. 2017) with the implementation
// details of CleanRL's ppo.py / ppo_continuous_action.py.
#include <algorithm>
#include <cmath>
#include <vector>

#include <pgrad/algorithms/data_parallel.hpp>
#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// PPO hyperparameters. The defaults are CleanRL's ppo.py: 4 envs x 128 steps, 4 epochs of 4
/// minibatches, Adam (ε 1e-5) at lr 2.5e-4 annealed linearly to 0, γ 0.99, λ 0.95, clip 0.2 on
/// the ratio and on the value, entropy 0.01, value 0.5, gradient norm clipped at 0.5.
struct PpoConfig : OnPolicyConfig {
  Index num_minibatches = 4;
  Index update_epochs = 4;
  Schedule clip_coef = 0.2;     ///< ε of the clipped ratio (and of the clipped value)
  bool clip_value_loss = true;
  double target_kl = 0;         ///< stop the epochs early when approx_kl exceeds it; 0 = off
  double adam_eps = 1e-5;

  /// CleanRL ppo_continuous_action.py: 1 env x 2048 steps, 32 minibatches, 10 epochs, lr 3e-4
  /// annealed, no entropy bonus.
  static PpoConfig continuous_defaults() {
    PpoConfig c;
    c.num_envs = 1;
    c.num_steps = 2048;
    c.learning_rate = Schedule::linear(3e-4, 0.0);
    c.num_minibatches = 32;
    c.update_epochs = 10;
    c.ent_coef = 0.0;
    return c;
  }

  Index minibatch_size() const { return batch_size() / num_minibatches; }

  /// The coefficients of one update: the shared ones and the clip range, at progress p.
  struct At : Coefficients {
    double clip_coef = 0;
    bool clip_value_loss = true;
  };
  At at(double progress) const {
    At c;
    static_cast<Coefficients&>(c) = OnPolicyConfig::at(progress);
    c.clip_coef = clip_coef(progress);
    c.clip_value_loss = clip_value_loss;
    return c;
  }

  /// Calls f(name, value) for every hyperparameter (checkpoints record and check them).
  template <class F>
  void visit(F&& f) const {
    OnPolicyConfig::visit(f);
    f("num_minibatches", static_cast<double>(num_minibatches));
    f("update_epochs", static_cast<double>(update_epochs));
    f("clip_coef", clip_coef);
    f("clip_value_loss", clip_value_loss ? 1.0 : 0.0);
    f("target_kl", target_kl);
    f("adam_eps", adam_eps);
  }

  /// Throws pgrad::Error naming the first invalid field.
  void validate() const {
    OnPolicyConfig::validate("Ppo");
    PGRAD_REQUIRE(num_minibatches > 0, "Ppo: num_minibatches must be positive, got ", num_minibatches);
    PGRAD_REQUIRE(batch_size() % num_minibatches == 0, "Ppo: batch size num_envs*num_steps = ", batch_size(),
                  " is not divisible into num_minibatches = ", num_minibatches);
    PGRAD_REQUIRE(update_epochs > 0 && update_epochs <= 100000, "Ppo: update_epochs must be in [1, 1e5], got ",
                  update_epochs);
    // Positive while training runs (p < 1); RL-Zoo's linear annealing to 0 reaches 0 only at p = 1.
    for (const auto& [progress, value] : clip_coef.points())
      PGRAD_REQUIRE(progress < 1.0 ? value > 0 : value >= 0, "Ppo: clip_coef must stay positive before the end of "
                    "training, got ", value, " at progress ", progress);
    PGRAD_REQUIRE(target_kl >= 0 && std::isfinite(target_kl), "Ppo: target_kl must be >= 0 (0 = off), got ",
                  target_kl);
    PGRAD_REQUIRE(adam_eps >= 0 && std::isfinite(adam_eps), "Ppo: adam_eps must be >= 0, got ", adam_eps);
  }
};

/// The PPO loss on a minibatch and its gradient (accumulated into the policy's gradients):
///   r = exp(log π(a|s) - log π_old(a|s)),  A the minibatch's advantages
///   policy_loss = mean(max(-A·r, -A·clip(r, 1-ε, 1+ε)))
///   value_loss  = ½·mean(max((V - R)², (V_old + clip(V - V_old, -ε, ε) - R)²))   (or ½·mean((V - R)²))
///   loss        = policy_loss - ent_coef·mean(H) + vf_coef·value_loss
/// The gradient goes through the distribution's closed form and the networks' backward, in one
/// ActorCritic::train_pass (the policy terms on the actor's side, the value term on the critic's).
template <class Policy>
class PpoLoss {
 public:
  using S = typename Policy::Scalar;
  using Batch = MinibatchFor<Policy>;

  LossStats compute(Policy& policy, const Batch& batch, const PpoConfig::At& c, ThreadPool* workers = nullptr) {
    const Index size = batch.size();
    const double mean_over = static_cast<double>(batch.mean_over());  // the samples the loss averages over
    const S inv_b = S(1) / static_cast<S>(batch.mean_over());
    const S clip = static_cast<S>(c.clip_coef);
    LossStats stats;
    batch.train_pass(
        policy,
        [&](const PolicyTerms<S>& p) {
          double policy_loss = 0, approx_kl = 0, clipped = 0;
          p.log_prob_weight.resize(size);
          for (Index j = 0; j < size; ++j) {
            const S advantage = batch.advantages[j];
            const S log_ratio = p.log_probs[j] - batch.old_log_probs[j];
            const S ratio = std::exp(log_ratio);
            const S unclipped_loss = -advantage * ratio;
            const S clipped_loss = -advantage * std::clamp(ratio, S(1) - clip, S(1) + clip);
            // Through max(l1, l2) the gradient follows the larger term; the clipped one is constant in r.
            p.log_prob_weight[j] = unclipped_loss >= clipped_loss ? unclipped_loss * inv_b : S(0);
            policy_loss += static_cast<double>(std::max(unclipped_loss, clipped_loss));
            approx_kl += static_cast<double>((ratio - S(1)) - log_ratio);
            clipped += std::abs(ratio - S(1)) > clip ? 1.0 : 0.0;
          }
          p.entropy_weight.setConstant(size, -static_cast<S>(c.ent_coef) * inv_b);
          stats.policy_loss = policy_loss / mean_over;
          stats.approx_kl = approx_kl / mean_over;
          stats.clip_fraction = clipped / mean_over;
          stats.entropy = sum_of(p.entropy) / mean_over;
        },
        [&](const ValueTerms<S>& v) {
          const S value_scale = static_cast<S>(c.vf_coef) * inv_b;
          double squares = 0;
          v.value_weight.resize(size);
          for (Index j = 0; j < size; ++j) {
            const S error = v.values[j] - batch.returns[j];
            S weight = error;
            S square = error * error;
            if (c.clip_value_loss) {
              // V_old + clip(V - V_old, -ε, ε) - R; the loss takes the larger square, and the
              // clipped term has zero gradient where the clip is active.
              const S change = v.values[j] - batch.old_values[j];
              const S clipped_error = batch.old_values[j] + std::clamp(change, -clip, clip) - batch.returns[j];
              const S clipped_square = clipped_error * clipped_error;
              if (clipped_square > square) weight = std::abs(change) < clip ? clipped_error : S(0);
              square = std::max(square, clipped_square);
            }
            v.value_weight[j] = weight * value_scale;
            squares += static_cast<double>(square);
          }
          stats.value_loss = 0.5 * squares / mean_over;
        },
        workers);
    stats.combine(c.ent_coef, c.vf_coef);
    return stats;
  }
};

/// The PPO update: update_epochs passes over the rollout in shuffled minibatches of the
/// clipped surrogate (of whole environment sequences for a recurrent policy, SequenceMinibatch), each a gradient step with Adam, stopping the epochs early when approx_kl
/// exceeds target_kl.
template <class PolicyType>
class PpoUpdate {
 public:
  using Policy = PolicyType;
  using Config = PpoConfig;
  using S = typename Policy::Scalar;
  static constexpr const char* name = "Ppo";
  static constexpr bool one_episode = false;

  /// A recurrent policy trains on whole environment sequences: num_envs must divide into
  /// num_minibatches (pgrad::Error otherwise). Minibatches are split into the layout's shards.
  PpoUpdate(const PpoConfig& config, const Policy& policy, RandomStreams& streams, const ShardLayout& layout,
            Communicator& comm)
      : optimizer_(config, config.adam_eps, streams, policy.block_sizes(), units(config)), batch_(layout, comm) {
    PGRAD_REQUIRE(units(config) % config.num_minibatches == 0, "Ppo: num_envs = ", config.num_envs,
                  " is not divisible into num_minibatches = ", config.num_minibatches,
                  " (a recurrent policy's minibatches are whole environment sequences)");
  }

  UpdateReport update(const PpoConfig& config, Policy& policy, const RolloutBuffer<S, typename Policy::Actions>& rollout,
                      double progress, ThreadPool& workers) {
    const PpoConfig::At c = config.at(progress);
    optimizer_.adam.set_learning_rate(static_cast<S>(c.learning_rate));
    UpdateReport report;
    LossStats stats;
    double clip_fraction_sum = 0;
    long long minibatches = 0;
    optimizer_.order.restart();
    for (Index epoch = 0; epoch < config.update_epochs; ++epoch) {
      optimizer_.order.shuffle();
      const Index per_minibatch = units(config) / config.num_minibatches;
      for (Index start = 0; start < units(config); start += per_minibatch) {
        batch_.gather(rollout, optimizer_.order.indices(), start, per_minibatch);
        if (config.normalize_advantages) batch_.normalize_advantages(S(1e-8));
        stats = batch_.gradient_step(policy, loss_, c, config.max_grad_norm, optimizer_.adam, workers, report.grad_norm);
        clip_fraction_sum += stats.clip_fraction;
        ++minibatches;
      }
      if (config.target_kl > 0 && stats.approx_kl > config.target_kl) break;
    }
    report.set_losses(stats);
    report.clip_fraction = clip_fraction_sum / static_cast<double>(minibatches);
    report.learning_rate = c.learning_rate;
    return report;
  }

  /// Checkpoints: Adam's state and the shuffling stream.
  void save_state(Writer& w) const { optimizer_.save_state(w); }
  void load_state(Reader& r) { optimizer_.load_state(r); }

 private:
  static Index units(const PpoConfig& config) {
    return minibatch_units<Policy>(config.num_envs, config.batch_size());
  }

  MinibatchAdam<S> optimizer_;
  ShardedMinibatch<Policy> batch_;
  PpoLoss<Policy> loss_;
};

/// PPO on environment Env: OnPolicy's loop with the PPO update.
template <class Env, class Policy = PolicyFor<Env>>
using Ppo = OnPolicy<Env, PpoUpdate<Policy>>;

}  // namespace pgrad::algo
