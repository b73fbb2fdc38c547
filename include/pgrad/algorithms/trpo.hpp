#pragma once
// pgrad::algo::Trpo: trust region policy optimisation (Schulman et al. 2015) as sb3-contrib's TRPO:
// a natural-gradient step on the surrogate, inside a KL trust region, by conjugate gradient on
// exact Fisher-vector products and a backtracking line search; the critic trained separately.
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
template <class PolicyType>
class TrpoUpdate {
  static_assert(!is_recurrent_v<PolicyType>, "pgrad: TRPO does not train recurrent policies yet (use Ppo or A2c)");

 public:
  using Policy = PolicyType;
  using Config = TrpoConfig;
  using S = typename Policy::Scalar;
  using Distribution = std::decay_t<decltype(std::declval<const Policy&>().evaluated_distribution())>;
  static constexpr const char* name = "Trpo";
  static constexpr bool one_episode = false;

  TrpoUpdate(const TrpoConfig& config, const Policy& policy, RandomStreams& streams)
      : optimizer_(config, config.adam_eps, streams, policy.block_sizes(ParameterGroup::critic)) {}

  UpdateReport update(const TrpoConfig& config, Policy& policy, const RolloutBuffer<S, typename Policy::Actions>& rollout,
                      double progress, ThreadPool& /*workers: TRPO's passes are whole-batch, on this thread*/) {
    const Coefficients c = config.at(progress);
    UpdateReport report;
    batch_.gather_all(rollout);
    if (config.normalize_advantages) normalize_in_place(batch_.advantages);
    policy_step(config, policy, report);
    report.value_loss = train_critic(config, policy, rollout, c.learning_rate);
    report.learning_rate = c.learning_rate;
    return report;
  }

  /// Checkpoints: the critic's Adam state and the shuffling stream.
  void save_state(Writer& w) const { optimizer_.save_state(w); }
  void load_state(Reader& r) { optimizer_.load_state(r); }

 private:
  // Steps 1-3: the natural-gradient step on the policy's parameters, inside the trust region.
  void policy_step(const TrpoConfig& config, Policy& policy, UpdateReport& report) {
    const S inv_b = S(1) / static_cast<S>(batch_.size());
    // π_old on the batch, and the surrogate there (r = 1: its value is mean(A)).
    const double old_objective = surrogate(policy);
    old_distribution_ = policy.evaluated_distribution();
    report.entropy = mean_of(entropy_);

    // 1. g = ∇ mean(A r) = mean(A ∇log π) at θ_old (the point the Fisher products use too).
    policy.zero_grad(nullptr, ParameterGroup::policy);
    policy.policy_pass(batch_.observations, batch_.actions, [&](const PolicyTerms<S>& p) {
      p.log_prob_weight = batch_.advantages * inv_b;
      p.entropy_weight.setZero(batch_.size());
    });
    policy.flat_gradients(gradient_, ParameterGroup::policy);
    report.grad_norm = static_cast<double>(gradient_.norm());
    PGRAD_REQUIRE(std::isfinite(report.grad_norm), "Trpo: the policy gradient's norm is ", report.grad_norm,
                  " (NaN or Inf in a gradient)");

    // 2. The natural-gradient direction and the largest step on the trust region's boundary.
    const auto damped_fisher = [&](const Vector<S>& v, Vector<S>& out) {
      policy.fisher_vector_product(v, out);
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
    const auto evaluate = [&](const Vector<S>& theta) {
      policy.set_flat_parameters(theta, ParameterGroup::policy);
      const double objective = surrogate(policy);
      old_distribution_.kl(policy.evaluated_distribution(), kl_);
      return std::pair<double, double>(objective, mean_of(kl_));
    };
    const LineSearchResult search =
        backtracking_line_search<S>(evaluate, old_parameters_, direction_, step_size, old_objective, config.target_kl,
                                    config.line_search_shrink, config.line_search_max_steps, candidate_);
    report.policy_step_accepted = search.accepted;
    report.line_search_steps = static_cast<int>(search.shrinks);
    if (search.accepted) {
      report.policy_loss = -search.surrogate;
      report.approx_kl = search.kl;
      report.entropy = mean_of(entropy_);
    } else {
      report.policy_loss = -old_objective;
      policy.set_flat_parameters(old_parameters_, ParameterGroup::policy);
    }
  }

  // mean(A r(θ)) at the policy's current parameters; leaves π_θ as policy.evaluated_distribution()
  // and its entropy in entropy_.
  double surrogate(Policy& policy) {
    policy.evaluate_actions(batch_.observations, batch_.actions, log_probs_, entropy_);
    double sum = 0;
    for (Index j = 0; j < batch_.size(); ++j)
      sum += static_cast<double>(batch_.advantages[j] * std::exp(log_probs_[j] - batch_.old_log_probs[j]));
    return sum / static_cast<double>(batch_.size());
  }

  // Step 4: critic_epochs passes of shuffled minibatches, one Adam step each on mean((V - R)²);
  // returns the last minibatch's loss.
  double train_critic(const TrpoConfig& config, Policy& policy, const RolloutBuffer<S, typename Policy::Actions>& rollout,
                      double learning_rate) {
    optimizer_.adam.set_learning_rate(static_cast<S>(learning_rate));
    optimizer_.order.restart();
    double loss = 0;
    for (Index epoch = 0; epoch < config.critic_epochs; ++epoch) {
      optimizer_.order.shuffle();
      for (Index start = 0; start < rollout.size(); start += config.critic_minibatch_size) {
        const Index size = std::min(config.critic_minibatch_size, rollout.size() - start);
        critic_batch_.gather(rollout, optimizer_.order.indices(), start, size);
        policy.zero_grad(nullptr, ParameterGroup::critic);
        policy.value_pass(critic_batch_.observations, [&](const ValueTerms<S>& v) {
          const S scale = S(2) / static_cast<S>(size);
          double squares = 0;
          v.value_weight.resize(size);
          for (Index j = 0; j < size; ++j) {
            const S error = v.values[j] - critic_batch_.returns[j];
            v.value_weight[j] = scale * error;
            squares += static_cast<double>(error * error);
          }
          loss = squares / static_cast<double>(size);
        });
        policy.clip_gradients(S(0), nullptr, ParameterGroup::critic);  // no clipping; throws on NaN or Inf
        policy.apply(optimizer_.adam, nullptr, ParameterGroup::critic);
      }
    }
    return loss;
  }

  MinibatchAdam<S> optimizer_;  // the critic's
  Minibatch<S, typename Policy::Actions> batch_, critic_batch_;
  Distribution old_distribution_;
  RowVector<S> log_probs_, entropy_, kl_;
  Vector<S> gradient_, direction_, fisher_direction_, old_parameters_, candidate_;
  Vector<S> cg_scratch_[3];
};

/// TRPO on environment Env: OnPolicy's loop with the TRPO update.
template <class Env, class Policy = PolicyFor<Env>>
using Trpo = OnPolicy<Env, TrpoUpdate<Policy>>;

}  // namespace pgrad::algo
