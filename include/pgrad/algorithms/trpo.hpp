#pragma once
// pgrad::algo::Trpo: trust region policy optimisation (Schulman et al. 2015) as sb3-contrib's TRPO:
// a natural-gradient step on the surrogate, inside a KL trust region, by conjugate gradient on
// exact Fisher-vector products and a backtracking line search; the critic trained separately.
#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/core/conjugate_gradient.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// TRPO hyperparameters. The defaults are sb3-contrib's TRPO (sb3_contrib/trpo/trpo.py): 2048
/// steps per rollout, γ 0.99, GAE λ 0.95, advantages normalised, target KL 0.01, conjugate
/// gradient of at most 15 steps with damping 0.1, a line search shrinking the step by 0.8 at most
/// 10 times, and the critic trained by Adam (ε 1e-5, as SB3's policies) at lr 1e-3 for 10 epochs
/// of 128-sample minibatches of the mean squared error. No entropy bonus, no gradient clipping:
/// ent_coef, vf_coef and max_grad_norm are not used.
struct TrpoConfig : OnPolicyConfig {
  double target_kl = 0.01;              ///< δ: the trust region, mean KL(π_old || π_new) <= δ
  Index cg_max_steps = 15;              ///< conjugate-gradient steps
  double cg_damping = 0.1;              ///< λ in (F + λI) x = g
  double line_search_shrink = 0.8;      ///< the step is multiplied by this after each refusal
  Index line_search_max_steps = 10;     ///< steps tried before giving up (the policy then stays)
  Index critic_epochs = 10;             ///< passes over the rollout to train V (n_critic_updates)
  Index critic_minibatch_size = 128;    ///< samples per critic step (SB3's batch_size)
  double adam_eps = 1e-5;               ///< the critic's Adam

  TrpoConfig() {
    num_envs = 1;
    num_steps = 2048;
    learning_rate = 1e-3;
    gae_lambda = 0.95;
    ent_coef = 0.0;
    vf_coef = 0.0;
    max_grad_norm = 0.0;
  }

  /// Calls f(name, value) for every hyperparameter (checkpoints record and check them).
  template <class F>
  void visit(F&& f) const {
    OnPolicyConfig::visit(f);
    f("target_kl", target_kl);
    f("cg_max_steps", static_cast<double>(cg_max_steps));
    f("cg_damping", cg_damping);
    f("line_search_shrink", line_search_shrink);
    f("line_search_max_steps", static_cast<double>(line_search_max_steps));
    f("critic_epochs", static_cast<double>(critic_epochs));
    f("critic_minibatch_size", static_cast<double>(critic_minibatch_size));
    f("adam_eps", adam_eps);
  }

  /// Throws pgrad::Error naming the first invalid field.
  void validate() const {
    OnPolicyConfig::validate("Trpo");
    PGRAD_REQUIRE(target_kl > 0 && std::isfinite(target_kl), "Trpo: target_kl must be positive, got ", target_kl);
    PGRAD_REQUIRE(cg_max_steps >= 1 && cg_max_steps <= 10000, "Trpo: cg_max_steps must be in [1, 1e4], got ",
                  cg_max_steps);
    PGRAD_REQUIRE(cg_damping >= 0 && std::isfinite(cg_damping), "Trpo: cg_damping must be >= 0, got ", cg_damping);
    PGRAD_REQUIRE(line_search_shrink > 0 && line_search_shrink < 1, "Trpo: line_search_shrink must be in (0, 1), got ",
                  line_search_shrink);
    PGRAD_REQUIRE(line_search_max_steps >= 1 && line_search_max_steps <= 1000,
                  "Trpo: line_search_max_steps must be in [1, 1000], got ", line_search_max_steps);
    PGRAD_REQUIRE(critic_epochs >= 1 && critic_epochs <= 100000, "Trpo: critic_epochs must be in [1, 1e5], got ",
                  critic_epochs);
    PGRAD_REQUIRE(critic_minibatch_size >= 1 && critic_minibatch_size <= batch_size(),
                  "Trpo: critic_minibatch_size must be in [1, num_envs * num_steps = ", batch_size(), "], got ",
                  critic_minibatch_size);
    PGRAD_REQUIRE(adam_eps >= 0 && std::isfinite(adam_eps), "Trpo: adam_eps must be >= 0, got ", adam_eps);
    PGRAD_REQUIRE(policy.with_critic, "Trpo: the policy needs a critic (policy.with_critic)");
  }
};

/// What a line search found: whether a step was accepted, after how many shrinks (of the last
/// one tried when none was), and the surrogate and KL there.
struct LineSearchResult {
  bool accepted = false;
  Index shrinks = 0;
  double surrogate = 0, kl = 0;
};

/// TRPO's backtracking line search: tries θ = start + shrinkᵏ·step·direction for k = 0, 1, ...,
/// max_steps - 1, with evaluate(θ) returning {surrogate, mean KL(π_old || π_θ)}, and stops at the
/// first θ with KL <= max_kl and a surrogate above old_surrogate. θ is written to `candidate`;
/// the caller keeps it when accepted and restores start otherwise.
template <class S, class Evaluate>
LineSearchResult backtracking_line_search(const Evaluate& evaluate, const Vector<S>& start, const Vector<S>& direction,
                                          double step, double old_surrogate, double max_kl, double shrink,
                                          Index max_steps, Vector<S>& candidate) {
  LineSearchResult result;
  double scale = step;
  for (Index k = 0; k < max_steps && step > 0; ++k, scale *= shrink) {
    result.shrinks = k;
    candidate = start + static_cast<S>(scale) * direction;
    const auto [surrogate, kl] = evaluate(candidate);
    result.surrogate = surrogate;
    result.kl = kl;
    if (kl <= max_kl && surrogate > old_surrogate) {
      result.accepted = true;
      return result;
    }
  }
  return result;
}

/// The TRPO update on the whole rollout (advantages A normalised, r(θ) = π_θ(a|s) / π_old(a|s)):
///   1. g = ∇ mean(A·r(θ)) at θ_old, over the policy's parameters (trunk, actor, log-std);
///   2. x ≈ (F + λI)⁻¹ g by conjugate gradient on exact Fisher-vector products
///      (ActorCritic::fisher_vector_product), and the largest step on the KL ellipsoid,
///      β = √(2δ / xᵀ(F + λI)x);
///   3. a backtracking line search θ = θ_old + shrinkᵏ·β·x, k = 0, 1, ...: the first θ with
///      mean KL(π_old || π_θ) <= δ and a surrogate above its value at θ_old is kept; when none
///      is, θ stays θ_old and the report says so;
///   4. the critic (only) trained by Adam on mean((V - R)²) in shuffled minibatches.
/// A recurrent policy (RecurrentActorCritic) is trained the same way on whole sequences: the
/// batch is every environment copy's sequence from its stored initial state (SequenceMinibatch),
/// the Fisher-vector products go forward and back through time, and the critic's minibatches
/// are critic_minibatch_size / num_steps whole sequences.
template <class PolicyType>
class TrpoUpdate {
 public:
  using Policy = PolicyType;
  using Config = TrpoConfig;
  using S = typename Policy::Scalar;
  using Distribution = std::decay_t<decltype(std::declval<const Policy&>().evaluated_distribution())>;
  static constexpr const char* name = "Trpo";
  static constexpr bool one_episode = false;

  /// The rollout (and the critic's minibatches) split into the layout's shards (TRPO over MPI):
  /// the policy gradient, every Fisher-vector product and the line search's surrogate and KL are
  /// sums over the shards (ShardedMinibatch). A recurrent policy needs critic_minibatch_size to
  /// be a whole number of sequences, a multiple of num_steps (pgrad::Error otherwise).
  TrpoUpdate(const TrpoConfig& config, const Policy& policy, RandomStreams& streams, const ShardLayout& layout,
             Communicator& comm)
      : optimizer_(config, config.adam_eps, streams, policy.block_sizes(ParameterGroup::critic),
                   minibatch_units<Policy>(config.num_envs, config.batch_size())),
        batch_(layout, comm),
        critic_batch_(layout, comm),
        old_distributions_(static_cast<std::size_t>(layout.local_shards)) {
    PGRAD_REQUIRE(!is_recurrent_v<Policy> || config.critic_minibatch_size % config.num_steps == 0,
                  "Trpo: critic_minibatch_size = ", config.critic_minibatch_size, " is not a whole number of ",
                  "num_steps = ", config.num_steps, " sequences (a recurrent policy's critic minibatches are whole "
                  "environment sequences)");
  }

  UpdateReport update(const TrpoConfig& config, Policy& policy, const RolloutBuffer<S, typename Policy::Actions>& rollout,
                      double progress, ThreadPool& /*workers: TRPO's passes are whole-batch, on this thread*/) {
    const Coefficients c = config.at(progress);
    UpdateReport report;
    batch_.gather_all(rollout);
    if (config.normalize_advantages) batch_.normalize_advantages(S(1e-8));
    policy_step(config, policy, report);
    report.value_loss = train_critic(config, policy, rollout, c.learning_rate);
    report.learning_rate = c.learning_rate;
    return report;
  }

  /// Checkpoints: the critic's Adam state and the shuffling stream.
  void save_state(Writer& w) const { optimizer_.save_state(w); }
  void load_state(Reader& r) { optimizer_.load_state(r); }

 private:
  using Batch = MinibatchFor<Policy>;

  // Steps 1-3: the natural-gradient step on the policy's parameters, inside the trust region.
  void policy_step(const TrpoConfig& config, Policy& policy, UpdateReport& report) {
    const Index size = batch_.size();
    const double samples = static_cast<double>(size);
    const S inv_b = S(1) / static_cast<S>(size);
    // π_old on the batch, and the surrogate there (r = 1: its value is mean(A)).
    const auto [old_surrogate, no_kl, old_entropy] = measure(policy, true);
    static_cast<void>(no_kl);
    const double old_objective = old_surrogate / samples;
    report.entropy = old_entropy / samples;

    // 1. g = ∇ mean(A r) = mean(A ∇log π) at θ_old (the point the Fisher products use too).
    batch_.sum_vectors(
        policy.parameter_count(ParameterGroup::policy),
        [&](const Batch& share, Index, Vector<S>& out) { policy_gradient(policy, share, inv_b, out); }, gradient_);
    report.grad_norm = static_cast<double>(gradient_.norm());
    PGRAD_REQUIRE(std::isfinite(report.grad_norm), "Trpo: the policy gradient's norm is ", report.grad_norm,
                  " (NaN or Inf in a gradient)");

    // 2. The natural-gradient direction and the largest step on the trust region's boundary.
    const auto damped_fisher = [&](const Vector<S>& v, Vector<S>& out) {
      batch_.sum_vectors(
          v.size(),
          [&](const Batch& share, Index, Vector<S>& share_out) {
            // One process holding several shards: the passes of this one first.
            if (batch_.local_shards() > 1) policy_gradient(policy, share, S(0), share_out);
            policy.fisher_vector_product(v, share_out, size);
          },
          out);
      out += static_cast<S>(config.cg_damping) * v;
    };
    const ConjugateGradientResult solve =
        conjugate_gradient<S>(damped_fisher, gradient_, direction_, config.cg_max_steps, 1e-10, cg_scratch_);
    report.cg_residual = solve.residual;
    damped_fisher(direction_, fisher_direction_);
    const double curvature = static_cast<double>(direction_.dot(fisher_direction_));
    const double step_size = curvature > 0 ? std::sqrt(2.0 * config.target_kl / curvature) : 0.0;

    // 3. Backtracking line search.
    policy.flat_parameters(old_parameters_, ParameterGroup::policy);
    double entropy = 0;
    const auto evaluate = [&](const Vector<S>& theta) {
      policy.set_flat_parameters(theta, ParameterGroup::policy);
      const auto [surrogate, kl, candidate_entropy] = measure(policy, false);
      entropy = candidate_entropy / samples;
      return std::pair<double, double>(surrogate / samples, kl / samples);
    };
    const LineSearchResult search =
        backtracking_line_search<S>(evaluate, old_parameters_, direction_, step_size, old_objective, config.target_kl,
                                    config.line_search_shrink, config.line_search_max_steps, candidate_);
    report.policy_step_accepted = search.accepted;
    report.line_search_steps = static_cast<int>(search.shrinks);
    if (search.accepted) {
      report.policy_loss = -search.surrogate;
      report.approx_kl = search.kl;
      report.entropy = entropy;
    } else {
      report.policy_loss = -old_objective;
      policy.set_flat_parameters(old_parameters_, ParameterGroup::policy);
    }
  }

  // The gradient of Σ weight·A·log π over a share into `out` (policy group); its passes also
  // prepare fisher_vector_product on that share.
  void policy_gradient(Policy& policy, const Batch& share, S weight, Vector<S>& out) {
    policy.zero_grad(nullptr, ParameterGroup::policy);
    share.policy_pass(policy, [&](const PolicyTerms<S>& p) {
      p.log_prob_weight = share.advantages * weight;
      p.entropy_weight.setZero(share.size());
    });
    policy.flat_gradients(out, ParameterGroup::policy);
  }

  // Σ A·r(θ), Σ KL(π_old || π_θ) and Σ H(π_θ) over the batch at the policy's current parameters.
  // With set_old, π_θ becomes π_old (share by share) and the KL is not computed.
  std::array<double, 3> measure(Policy& policy, bool set_old) {
    return batch_.template sum<3>([&](const Batch& share, Index s) {
      share.evaluate(policy, log_probs_, entropy_);
      Distribution& old = old_distributions_[static_cast<std::size_t>(s)];
      if (set_old) old = policy.evaluated_distribution();
      double surrogate = 0, kl = 0;
      for (Index j = 0; j < share.size(); ++j)
        surrogate += static_cast<double>(share.advantages[j] * std::exp(log_probs_[j] - share.old_log_probs[j]));
      if (!set_old) {
        old.kl(policy.evaluated_distribution(), kl_);
        kl = sum_of(kl_);
      }
      return std::array<double, 3>{surrogate, kl, sum_of(entropy_)};
    });
  }

  // Step 4: critic_epochs passes of shuffled minibatches (of samples, or of whole sequences for a
  // recurrent policy), one Adam step each on mean((V - R)²); returns the last minibatch's loss.
  double train_critic(const TrpoConfig& config, Policy& policy, const RolloutBuffer<S, typename Policy::Actions>& rollout,
                      double learning_rate) {
    optimizer_.adam.set_learning_rate(static_cast<S>(learning_rate));
    optimizer_.order.restart();
    const Index units = minibatch_units<Policy>(config.num_envs, batch_.size());
    const Index per_minibatch =
        is_recurrent_v<Policy> ? config.critic_minibatch_size / config.num_steps : config.critic_minibatch_size;
    double loss = 0, grad_norm = 0;
    for (Index epoch = 0; epoch < config.critic_epochs; ++epoch) {
      optimizer_.order.shuffle();
      for (Index start = 0; start < units; start += per_minibatch) {
        critic_batch_.gather(rollout, optimizer_.order.indices(), start, std::min(per_minibatch, units - start));
        const auto value_loss = [&](const Batch& share) {
          const Index size = share.size();
          const S scale = S(2) / static_cast<S>(share.mean_over());
          LossStats stats;
          share.value_pass(policy, [&](const ValueTerms<S>& v) {
            double squares = 0;
            v.value_weight.resize(size);
            for (Index j = 0; j < size; ++j) {
              const S error = v.values[j] - share.returns[j];
              v.value_weight[j] = scale * error;
              squares += static_cast<double>(error * error);
            }
            stats.value_loss = squares / static_cast<double>(share.mean_over());
          });
          return stats;
        };
        // No clipping (max_grad_norm 0), but a NaN or Inf gradient throws.
        loss = critic_batch_.step(policy, ParameterGroup::critic, value_loss, 0.0, optimizer_.adam, nullptr, grad_norm)
                   .value_loss;
      }
    }
    return loss;
  }

  MinibatchAdam<S> optimizer_;  // the critic's
  ShardedMinibatch<Policy> batch_, critic_batch_;
  std::vector<Distribution> old_distributions_;  // π_old on each of this process's shards
  RowVector<S> log_probs_, entropy_, kl_;
  Vector<S> gradient_, direction_, fisher_direction_, old_parameters_, candidate_;
  Vector<S> cg_scratch_[3];
};

/// TRPO on environment Env: OnPolicy's loop with the TRPO update.
template <class Env, class Policy = PolicyFor<Env>>
using Trpo = OnPolicy<Env, TrpoUpdate<Policy>>;

}  // namespace pgrad::algo
