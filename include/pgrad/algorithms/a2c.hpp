#pragma once
// pgrad::algo::A2c: synchronous advantage actor-critic (Mnih et al. 2016, as Stable-Baselines3's A2C).
#include <cmath>
#include <cstdint>
#include <optional>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/core/schedule.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// A2C hyperparameters; the defaults are Stable-Baselines3's A2C with the RL-Zoo CartPole
/// setting of 8 environments: 5-step rollouts, GAE λ = 1 (n-step returns), RMSprop(α 0.99,
/// ε 1e-5) at lr 7e-4, vf_coef 0.5, no entropy bonus, gradient norm clipped at 0.5.
struct A2cConfig {
  enum class Optimizer { rmsprop, adam };
  Index num_envs = 8;
  Index num_steps = 5;
  double learning_rate = 7e-4;
  bool anneal_learning_rate = false;
  double gamma = 0.99;
  double gae_lambda = 1.0;
  double ent_coef = 0.0;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  bool normalize_advantages = false;
  Optimizer optimizer = Optimizer::rmsprop;
  double rmsprop_alpha = 0.99;
  double optimizer_eps = 1e-5;
  int num_threads = 1;
  PolicyConfig policy{};
  /// Optional learning-rate schedule over training progress (overrides learning_rate and its annealing).
  std::optional<Schedule> learning_rate_schedule;

  Index batch_size() const { return num_envs * num_steps; }

  /// Calls f(name, value) for every hyperparameter a checkpoint records and checks on load.
  template <class F>
  void visit(F&& f) const {
    f("num_envs", static_cast<double>(num_envs));
    f("num_steps", static_cast<double>(num_steps));
    f("learning_rate", learning_rate);
    f("anneal_learning_rate", anneal_learning_rate ? 1.0 : 0.0);
    f("gamma", gamma);
    f("gae_lambda", gae_lambda);
    f("ent_coef", ent_coef);
    f("vf_coef", vf_coef);
    f("max_grad_norm", max_grad_norm);
    f("normalize_advantages", normalize_advantages ? 1.0 : 0.0);
    f("optimizer", optimizer == Optimizer::rmsprop ? 0.0 : 1.0);
    f("rmsprop_alpha", rmsprop_alpha);
    f("optimizer_eps", optimizer_eps);
    f("learning_rate_schedule", learning_rate_schedule);
    pgrad::detail::visit_policy_config(policy, f);
  }

  /// The learning rate at training progress p in [0, 1].
  double learning_rate_at(double p) const {
    if (learning_rate_schedule) return (*learning_rate_schedule)(p);
    return anneal_learning_rate ? (1.0 - p) * learning_rate : learning_rate;
  }

  void validate() const {
    PGRAD_REQUIRE(num_envs > 0, "A2c: num_envs must be positive, got ", num_envs);
    PGRAD_REQUIRE(num_steps > 0, "A2c: num_steps must be positive, got ", num_steps);
    PGRAD_REQUIRE(learning_rate > 0 && std::isfinite(learning_rate), "A2c: learning_rate must be positive, got ",
                  learning_rate);
    check_discount_factor(gamma, "A2c", "gamma");
    check_discount_factor(gae_lambda, "A2c", "gae_lambda");
    PGRAD_REQUIRE(ent_coef >= 0, "A2c: ent_coef must be >= 0, got ", ent_coef);
    PGRAD_REQUIRE(vf_coef >= 0, "A2c: vf_coef must be >= 0, got ", vf_coef);
    PGRAD_REQUIRE(max_grad_norm > 0, "A2c: max_grad_norm must be positive, got ", max_grad_norm);
    PGRAD_REQUIRE(rmsprop_alpha >= 0 && rmsprop_alpha <= 1, "A2c: rmsprop_alpha must be in [0, 1], got ",
                  rmsprop_alpha);
    PGRAD_REQUIRE(optimizer_eps >= 0, "A2c: optimizer_eps must be >= 0, got ", optimizer_eps);
    PGRAD_REQUIRE(num_threads > 0, "A2c: num_threads must be positive, got ", num_threads);
    PGRAD_REQUIRE(policy.with_critic, "A2c: the policy needs a critic (policy.with_critic)");
    if (learning_rate_schedule)
      for (const auto& [progress, value] : learning_rate_schedule->points())
        PGRAD_REQUIRE(value >= 0, "A2c: learning_rate_schedule has value ", value, " at progress ", progress,
                      " (must be >= 0)");
  }
};

/// The A2C loss on a batch and its gradient (accumulated into the policy's gradients), as SB3:
///   loss = -mean(A·log π(a|s)) - ent_coef·mean(H) + vf_coef·mean((R - V)²)
template <class Policy>
class A2cLoss {
 public:
  using S = typename Policy::Scalar;
  using Batch = Minibatch<S, typename Policy::Actions>;

  LossStats compute(Policy& policy, const Batch& batch, const A2cConfig& config) {
    const S inv_b = S(1) / static_cast<S>(batch.size());
    LossStats stats;
    policy.train_pass(
        batch.observations, batch.actions,
        [&](const RowVector<S>& log_probs, const RowVector<S>& entropy, RowVector<S>& log_prob_weight,
            RowVector<S>& entropy_weight) {
          const auto adv = batch.advantages.array();
          log_prob_weight = -adv * inv_b;
          entropy_weight.setConstant(batch.size(), -static_cast<S>(config.ent_coef) * inv_b);
          stats.policy_loss = -static_cast<double>((adv * log_probs.array()).mean());
          stats.entropy = static_cast<double>(entropy.mean());
        },
        [&](const RowVector<S>& values, RowVector<S>& value_weight) {
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

/// A2C on environment Env: collect num_envs x num_steps with the shared collector, n-step
/// returns / GAE(λ), one gradient step on the whole rollout.
template <class Env, class Policy = PolicyFor<Env>>
class A2c {
 public:
  using S = typename Policy::Scalar;
  using Actions = typename Policy::Actions;

  A2c(const Env& prototype, A2cConfig config, std::uint64_t seed)
      : config_((config.validate(), config)),
        init_rng_(seed, 1),
        policy_(make_policy<Policy>(prototype, config_.policy, init_rng_)),
        collector_(envs::VectorEnv<Env>(config_.num_envs, prototype, seed, config_.num_threads), seed),
        rmsprop_(typename nn::RMSprop<S>::Config{static_cast<S>(config_.learning_rate),
                                                  static_cast<S>(config_.rmsprop_alpha),
                                                  static_cast<S>(config_.optimizer_eps)}),
        adam_(typename nn::Adam<S>::Config{static_cast<S>(config_.learning_rate), S(0.9), S(0.999),
                                            static_cast<S>(config_.optimizer_eps)}) {
    rollout_.resize(config_.num_steps, config_.num_envs, policy_.observation_size(),
                    Policy::discrete ? 1 : policy_.action_size());
    all_samples_.resize(static_cast<std::size_t>(config_.batch_size()));
    for (std::size_t k = 0; k < all_samples_.size(); ++k) all_samples_[k] = static_cast<Index>(k);
  }

  Policy& policy() { return policy_; }
  const Policy& policy() const { return policy_; }
  RolloutCollector<Env, Policy>& collector() { return collector_; }
  const RolloutCollector<Env, Policy>& collector() const { return collector_; }
  const A2cConfig& config() const { return config_; }
  /// Updates done in the current run (restored by a checkpoint).
  long long iteration() const { return iteration_; }
  /// The number of updates learn(total_steps) runs in all: total_steps / batch size, rounded up.
  long long iterations_for(long long total_steps) const {
    return (total_steps + config_.batch_size() - 1) / config_.batch_size();
  }

  /// Trains for total_steps environment steps (whole rollouts); a run stopped early by the
  /// callback (or loaded from a checkpoint) continues from its next update when called with the
  /// same total; a finished run starts a new one.
  void learn(long long total_steps, const UpdateCallback& on_update = {}) {
    const long long iterations = iterations_for(total_steps);
    if (iteration_ >= iterations) iteration_ = 0;
    const Stopwatch clock;
    for (long long iteration = iteration_ + 1; iteration <= iterations; ++iteration) {
      const double lr = config_.learning_rate_at(static_cast<double>(iteration - 1) / static_cast<double>(iterations));
      rmsprop_.set_learning_rate(static_cast<S>(lr));
      adam_.set_learning_rate(static_cast<S>(lr));

      collector_.collect(policy_, rollout_);
      compute_gae<S>(rollout_.rewards, rollout_.values, rollout_.terminated, rollout_.truncated,
                     rollout_.final_values, rollout_.last_values, static_cast<S>(config_.gamma),
                     static_cast<S>(config_.gae_lambda), rollout_.advantages, rollout_.returns);

      batch_.gather(rollout_, all_samples_, 0, config_.batch_size());
      if (config_.normalize_advantages) normalize_in_place(batch_.advantages);
      policy_.zero_grad();
      const LossStats stats = loss_.compute(policy_, batch_, config_);
      UpdateReport report;
      report.grad_norm = static_cast<double>(policy_.clip_gradients(static_cast<S>(config_.max_grad_norm)));
      if (config_.optimizer == A2cConfig::Optimizer::rmsprop)
        policy_.apply(rmsprop_);
      else
        policy_.apply(adam_);
      iteration_ = iteration;

      report.iteration = iteration;
      report.set_losses(stats);
      report.explained_variance = explained_variance(rollout_.returns, rollout_.values);
      collector_.fill_report(report, clock);
      report.learning_rate = lr;
      if (on_update && !on_update(report)) break;
    }
  }

  /// Checkpoints: Scalar, hyperparameters (checked on load), policy, both optimisers' state,
  /// the init Rng, the update counter and the collector with the vector environment's state.
  void save_state(Writer& w) const {
    write_algorithm_header<S>(w, "A2c", config_);
    save_policy_state(w, policy_);
    rmsprop_.save_state(w);
    adam_.save_state(w);
    w.rng(init_rng_);
    w.i64(iteration_);
    collector_.save_state(w);
  }
  void load_state(Reader& r) {
    check_algorithm_header<S>(r, "A2c", config_);
    load_policy_state(r, policy_);
    rmsprop_.load_state(r);
    adam_.load_state(r);
    r.rng(init_rng_);
    iteration_ = r.i64();
    collector_.load_state(r);
  }

 private:
  A2cConfig config_;
  Rng init_rng_;
  Policy policy_;
  RolloutCollector<Env, Policy> collector_;
  nn::RMSprop<S> rmsprop_;
  nn::Adam<S> adam_;
  RolloutBuffer<S, Actions> rollout_;
  Minibatch<S, Actions> batch_;
  A2cLoss<Policy> loss_;
  std::vector<Index> all_samples_;
  long long iteration_ = 0;
};

}  // namespace pgrad::algo
