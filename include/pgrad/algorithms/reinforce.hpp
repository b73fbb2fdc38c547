#pragma once
// pgrad::algo::Reinforce: Monte-Carlo policy gradient (Williams 1992), optionally with a learned baseline.
#include <cmath>
#include <cstdint>
#include <numeric>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// REINFORCE hyperparameters. The defaults reproduce the classic PyTorch tutorial: one episode
/// per update, a 128-unit ReLU hidden layer, Adam at lr 0.01, γ 0.99, returns normalised per
/// episode, no baseline, no entropy bonus (the tutorial's dropout is not reproduced).
struct ReinforceConfig {
  double learning_rate = 0.01;
  double gamma = 0.99;
  bool normalize_returns = true;   ///< (G - mean) / (std + 1e-8) over the episode
  bool baseline = false;           ///< learn V(s) and use G - V(s) as the weight
  double ent_coef = 0.0;
  double vf_coef = 0.5;
  double max_grad_norm = 0;        ///< 0 = no clipping
  Index max_episode_steps = 1000;  ///< rollout capacity; longer episodes are cut (and bootstrapped with the baseline)
  PolicyConfig policy = default_policy();

  static PolicyConfig default_policy() {
    PolicyConfig p;
    p.actor_hidden = {128};
    p.critic_hidden = {128};
    p.activation = nn::Activation::relu;
    p.with_critic = false;
    return p;
  }

  /// Calls f(name, value) for every hyperparameter a checkpoint records and checks on load.
  template <class F>
  void visit(F&& f) const {
    f("learning_rate", learning_rate);
    f("gamma", gamma);
    f("normalize_returns", normalize_returns ? 1.0 : 0.0);
    f("baseline", baseline ? 1.0 : 0.0);
    f("ent_coef", ent_coef);
    f("vf_coef", vf_coef);
    f("max_grad_norm", max_grad_norm);
    f("max_episode_steps", static_cast<double>(max_episode_steps));
    pgrad::detail::visit_policy_config(policy, f);
  }

  void validate() const {
    PGRAD_REQUIRE(learning_rate > 0 && std::isfinite(learning_rate), "Reinforce: learning_rate must be positive, got ",
                  learning_rate);
    check_discount_factor(gamma, "Reinforce", "gamma");
    PGRAD_REQUIRE(ent_coef >= 0, "Reinforce: ent_coef must be >= 0, got ", ent_coef);
    PGRAD_REQUIRE(vf_coef >= 0, "Reinforce: vf_coef must be >= 0, got ", vf_coef);
    PGRAD_REQUIRE(max_grad_norm >= 0, "Reinforce: max_grad_norm must be >= 0 (0 = off), got ", max_grad_norm);
    PGRAD_REQUIRE(max_episode_steps > 0, "Reinforce: max_episode_steps must be positive, got ", max_episode_steps);
    PGRAD_REQUIRE(policy.with_critic == baseline, "Reinforce: policy.with_critic (", policy.with_critic,
                  ") must equal baseline (", baseline, ")");
  }
};

/// The REINFORCE loss of one episode and its gradient (accumulated into the policy's gradients):
///   loss = -Σₜ wₜ·log π(aₜ|sₜ) - ent_coef·mean(H) + vf_coef·mean((G - V)²)
/// with wₜ = Gₜ (normalised when asked), or Gₜ - V(sₜ) with a baseline. The policy term is a sum
/// over the episode, as in the tutorial. The batch's `advantages` hold the weights wₜ and its
/// `returns` the returns Gₜ.
template <class Policy>
class ReinforceLoss {
 public:
  using S = typename Policy::Scalar;
  using Batch = Minibatch<S, typename Policy::Actions>;

  LossStats compute(Policy& policy, const Batch& batch, const ReinforceConfig& config) {
    const S inv_b = S(1) / static_cast<S>(batch.size());
    LossStats stats;
    policy.train_pass(
        batch.observations, batch.actions,
        [&](const RowVector<S>& log_probs, const RowVector<S>& entropy, RowVector<S>& log_prob_weight,
            RowVector<S>& entropy_weight) {
          const auto w = batch.advantages.array();
          log_prob_weight = -w;
          entropy_weight.setConstant(batch.size(), -static_cast<S>(config.ent_coef) * inv_b);
          stats.policy_loss = -static_cast<double>((w * log_probs.array()).sum());
          stats.entropy = static_cast<double>(entropy.mean());
        },
        [&](const RowVector<S>& values, RowVector<S>& value_weight) {
          if (!config.baseline) {
            value_weight.setZero(batch.size());
            return;
          }
          value_error_ = values.array() - batch.returns.array();
          value_weight = (S(2) * static_cast<S>(config.vf_coef) * inv_b) * value_error_.matrix();
          stats.value_loss = static_cast<double>(value_error_.square().mean());
        });
    stats.combine(config.ent_coef, config.vf_coef);
    return stats;
  }

 private:
  Eigen::Array<S, 1, Eigen::Dynamic> value_error_;  // kept: no allocation once the batch size is fixed
};

/// REINFORCE on environment Env: play one episode with the stochastic policy, compute the
/// discounted returns Gₜ (bootstrapped from V only when the episode is cut by a time limit and a
/// baseline exists), weight each log-probability and take one Adam step.
template <class Env, class Policy = PolicyFor<Env>>
class Reinforce {
 public:
  using S = typename Policy::Scalar;
  using Actions = typename Policy::Actions;

  Reinforce(const Env& prototype, ReinforceConfig config, std::uint64_t seed)
      : config_((config.validate(), config)),
        init_rng_(seed, 1),
        policy_(make_policy<Policy>(prototype, config_.policy, init_rng_)),
        collector_(envs::VectorEnv<Env>(1, prototype, seed, 1), seed),
        optimizer_(typename nn::Adam<S>::Config{static_cast<S>(config_.learning_rate), S(0.9), S(0.999), S(1e-8)}) {
    rollout_.resize(config_.max_episode_steps, 1, policy_.observation_size(),
                    Policy::discrete ? 1 : policy_.action_size());
    order_.resize(static_cast<std::size_t>(config_.max_episode_steps));
    std::iota(order_.begin(), order_.end(), Index(0));
  }

  Policy& policy() { return policy_; }
  const Policy& policy() const { return policy_; }
  RolloutCollector<Env, Policy>& collector() { return collector_; }
  const RolloutCollector<Env, Policy>& collector() const { return collector_; }
  const ReinforceConfig& config() const { return config_; }
  /// Updates (episodes) done so far (restored by a checkpoint).
  long long iteration() const { return iteration_; }

  /// Trains until the collector has taken at least total_steps environment steps in all (a
  /// loaded checkpoint continues from its step count), one update per episode.
  void learn(long long total_steps, const UpdateCallback& on_update = {}) {
    const Stopwatch clock;
    for (long long iteration = iteration_ + 1; collector_.steps() < total_steps; ++iteration) {
      const Index length = collector_.collect(policy_, rollout_, /*stop_at_episode_end=*/true);

      compute_gae<S>(rollout_.rewards.leftCols(length), rollout_.values.leftCols(length),
                     rollout_.terminated.leftCols(length), rollout_.truncated.leftCols(length),
                     rollout_.final_values.leftCols(length), rollout_.last_values, static_cast<S>(config_.gamma),
                     S(1), advantages_, returns_);
      batch_.gather(rollout_, order_, 0, length);
      batch_.returns = returns_;
      batch_.advantages = config_.baseline ? (returns_ - rollout_.values.leftCols(length)).eval() : returns_;
      if (config_.normalize_returns) normalize_in_place(batch_.advantages);

      policy_.zero_grad();
      const LossStats stats = loss_.compute(policy_, batch_, config_);
      UpdateReport report;
      if (config_.max_grad_norm > 0)
        report.grad_norm = static_cast<double>(policy_.clip_gradients(static_cast<S>(config_.max_grad_norm)));
      policy_.apply(optimizer_);
      iteration_ = iteration;

      report.iteration = iteration;
      report.set_losses(stats);
      report.explained_variance = config_.baseline ? explained_variance(returns_, rollout_.values.leftCols(length)) : 0;
      collector_.fill_report(report, clock);
      report.learning_rate = config_.learning_rate;
      if (on_update && !on_update(report)) break;
    }
  }

  /// Checkpoints: Scalar, hyperparameters (checked on load), policy, Adam state, the init Rng,
  /// the update counter and the collector with the environment's state.
  void save_state(Writer& w) const {
    write_algorithm_header<S>(w, "Reinforce", config_);
    save_policy_state(w, policy_);
    optimizer_.save_state(w);
    w.rng(init_rng_);
    w.i64(iteration_);
    collector_.save_state(w);
  }
  void load_state(Reader& r) {
    check_algorithm_header<S>(r, "Reinforce", config_);
    load_policy_state(r, policy_);
    optimizer_.load_state(r);
    r.rng(init_rng_);
    iteration_ = r.i64();
    collector_.load_state(r);
  }

 private:
  ReinforceConfig config_;
  Rng init_rng_;
  Policy policy_;
  RolloutCollector<Env, Policy> collector_;
  nn::Adam<S> optimizer_;
  RolloutBuffer<S, Actions> rollout_;
  Minibatch<S, Actions> batch_;
  ReinforceLoss<Policy> loss_;
  Matrix<S> advantages_, returns_;
  std::vector<Index> order_;
  long long iteration_ = 0;
};

}  // namespace pgrad::algo
