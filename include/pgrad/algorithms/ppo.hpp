#pragma once
// pgrad::algo::Ppo: proximal policy optimisation with the clipped surrogate (Schulman et al. 2017).
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <vector>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/core/schedule.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// PPO hyperparameters. The defaults are CleanRL's ppo.py (discrete actions);
/// continuous_defaults() gives ppo_continuous_action.py's.
struct PpoConfig {
  Index num_envs = 4;
  Index num_steps = 128;             ///< steps per environment per rollout
  double learning_rate = 2.5e-4;
  bool anneal_learning_rate = true;  ///< linearly to 0 over the total steps
  double gamma = 0.99;
  double gae_lambda = 0.95;
  Index num_minibatches = 4;
  Index update_epochs = 4;
  bool normalize_advantages = true;  ///< per minibatch
  double clip_coef = 0.2;
  bool clip_value_loss = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  double target_kl = 0;              ///< stop the epochs early when approx_kl exceeds it; 0 = off
  double adam_eps = 1e-5;
  int num_threads = 1;               ///< VectorEnv worker threads
  PolicyConfig policy{};
  /// Optional schedules over training progress, overriding learning_rate (and its annealing),
  /// clip_coef and ent_coef.
  std::optional<Schedule> learning_rate_schedule, clip_coef_schedule, ent_coef_schedule;

  /// CleanRL ppo_continuous_action.py: 1 env x 2048 steps, 32 minibatches, 10 epochs, lr 3e-4,
  /// no entropy bonus.
  static PpoConfig continuous_defaults() {
    PpoConfig c;
    c.num_envs = 1;
    c.num_steps = 2048;
    c.learning_rate = 3e-4;
    c.num_minibatches = 32;
    c.update_epochs = 10;
    c.ent_coef = 0.0;
    return c;
  }

  Index batch_size() const { return num_envs * num_steps; }
  Index minibatch_size() const { return batch_size() / num_minibatches; }

  /// Calls f(name, value) for every hyperparameter a checkpoint records and checks on load.
  template <class F>
  void visit(F&& f) const {
    f("num_envs", static_cast<double>(num_envs));
    f("num_steps", static_cast<double>(num_steps));
    f("learning_rate", learning_rate);
    f("anneal_learning_rate", anneal_learning_rate ? 1.0 : 0.0);
    f("gamma", gamma);
    f("gae_lambda", gae_lambda);
    f("num_minibatches", static_cast<double>(num_minibatches));
    f("update_epochs", static_cast<double>(update_epochs));
    f("normalize_advantages", normalize_advantages ? 1.0 : 0.0);
    f("clip_coef", clip_coef);
    f("clip_value_loss", clip_value_loss ? 1.0 : 0.0);
    f("ent_coef", ent_coef);
    f("vf_coef", vf_coef);
    f("max_grad_norm", max_grad_norm);
    f("target_kl", target_kl);
    f("adam_eps", adam_eps);
    f("learning_rate_schedule", learning_rate_schedule);
    f("clip_coef_schedule", clip_coef_schedule);
    f("ent_coef_schedule", ent_coef_schedule);
    pgrad::detail::visit_policy_config(policy, f);
  }

  /// Throws pgrad::Error naming the first invalid field.
  void validate() const {
    PGRAD_REQUIRE(num_envs > 0, "Ppo: num_envs must be positive, got ", num_envs);
    PGRAD_REQUIRE(num_steps > 0, "Ppo: num_steps must be positive, got ", num_steps);
    PGRAD_REQUIRE(num_minibatches > 0, "Ppo: num_minibatches must be positive, got ", num_minibatches);
    PGRAD_REQUIRE(batch_size() % num_minibatches == 0, "Ppo: batch size num_envs*num_steps = ", batch_size(),
                  " is not divisible into num_minibatches = ", num_minibatches);
    PGRAD_REQUIRE(update_epochs > 0, "Ppo: update_epochs must be positive, got ", update_epochs);
    PGRAD_REQUIRE(learning_rate > 0 && std::isfinite(learning_rate), "Ppo: learning_rate must be positive, got ",
                  learning_rate);
    check_discount_factor(gamma, "Ppo", "gamma");
    check_discount_factor(gae_lambda, "Ppo", "gae_lambda");
    PGRAD_REQUIRE(clip_coef > 0, "Ppo: clip_coef must be positive, got ", clip_coef);
    PGRAD_REQUIRE(ent_coef >= 0, "Ppo: ent_coef must be >= 0, got ", ent_coef);
    PGRAD_REQUIRE(vf_coef >= 0, "Ppo: vf_coef must be >= 0, got ", vf_coef);
    PGRAD_REQUIRE(max_grad_norm > 0, "Ppo: max_grad_norm must be positive, got ", max_grad_norm);
    PGRAD_REQUIRE(target_kl >= 0, "Ppo: target_kl must be >= 0 (0 = off), got ", target_kl);
    PGRAD_REQUIRE(num_threads > 0, "Ppo: num_threads must be positive, got ", num_threads);
    check_schedule(learning_rate_schedule, "learning_rate_schedule", true);
    check_schedule(clip_coef_schedule, "clip_coef_schedule", false);
    check_schedule(ent_coef_schedule, "ent_coef_schedule", true);
  }

  /// This configuration with the learning rate, clip range and entropy coefficient at training
  /// progress p in [0, 1].
  PpoConfig at_progress(double p) const {
    PpoConfig current = *this;
    schedule_into(p, current);
    return current;
  }

  /// Writes the scheduled values at progress p into `current` (a copy of this configuration),
  /// leaving its other fields alone: the training loop's allocation-free form of at_progress.
  void schedule_into(double p, PpoConfig& current) const {
    current.learning_rate = learning_rate;
    if (learning_rate_schedule)
      current.learning_rate = (*learning_rate_schedule)(p);
    else if (anneal_learning_rate)
      current.learning_rate = (1.0 - p) * learning_rate;
    current.clip_coef = clip_coef_schedule ? (*clip_coef_schedule)(p) : clip_coef;
    current.ent_coef = ent_coef_schedule ? (*ent_coef_schedule)(p) : ent_coef;
  }

 private:
  static void check_schedule(const std::optional<Schedule>& schedule, const char* field, bool zero_allowed) {
    if (!schedule) return;
    for (const auto& [progress, value] : schedule->points())
      PGRAD_REQUIRE(zero_allowed ? value >= 0 : value > 0, "Ppo: ", field, " has value ", value, " at progress ",
                    progress, " (must be ", zero_allowed ? ">= 0" : "positive", ")");
  }
};

/// The PPO loss on a minibatch and its gradient (accumulated into the policy's gradients):
///   r = exp(log π(a|s) - log π_old(a|s)),  A the batch's advantages (already normalised)
///   policy_loss = mean(max(-A·r, -A·clip(r, 1-ε, 1+ε)))
///   value_loss  = ½·mean(max((V - R)², (V_old + clip(V - V_old, -ε, ε) - R)²))   (or ½·mean((V - R)²))
///   loss        = policy_loss - ent_coef·mean(H) + vf_coef·value_loss
/// The gradient goes through the distribution's closed form and the networks' backward, in one
/// ActorCritic::train_pass (the policy terms on the actor's side, the value term on the critic's).
template <class Policy>
class PpoLoss {
 public:
  using S = typename Policy::Scalar;
  using Batch = Minibatch<S, typename Policy::Actions>;

  LossStats compute(Policy& policy, const Batch& batch, const PpoConfig& config) {
    const S inv_b = S(1) / static_cast<S>(batch.size());
    const S clip = static_cast<S>(config.clip_coef);
    LossStats stats;
    policy.train_pass(
        batch.observations, batch.actions,
        [&](const RowVector<S>& log_probs, const RowVector<S>& entropy, RowVector<S>& log_prob_weight,
            RowVector<S>& entropy_weight) {
          const auto adv = batch.advantages.array();
          log_ratio_ = log_probs - batch.old_log_probs;
          ratio_ = log_ratio_.array().exp();
          const auto r = ratio_.array();
          unclipped_ = -adv * r;
          clipped_ = -adv * r.max(S(1) - clip).min(S(1) + clip);
          // Through max(l1, l2) the gradient follows the larger term; the clipped one is constant in r.
          log_prob_weight = ((unclipped_ >= clipped_).select(-adv * r, S(0)) * inv_b).matrix();
          entropy_weight.setConstant(batch.size(), -static_cast<S>(config.ent_coef) * inv_b);
          stats.policy_loss = static_cast<double>(unclipped_.max(clipped_).mean());
          stats.entropy = static_cast<double>(entropy.mean());
          stats.approx_kl = static_cast<double>(((r - S(1)) - log_ratio_.array()).mean());
          stats.clip_fraction = static_cast<double>(((r - S(1)).abs() > clip).template cast<S>().mean());
        },
        [&](const RowVector<S>& values, RowVector<S>& value_weight) {
          const auto ret = batch.returns.array();
          value_error_ = values.array() - ret;
          const S value_scale = static_cast<S>(config.vf_coef) * inv_b;
          if (config.clip_value_loss) {
            // V_old + clip(V - V_old, -ε, ε) - R; the loss takes the larger square, and the clipped
            // term has zero gradient where the clip is active.
            value_change_ = values.array() - batch.old_values.array();
            clipped_value_error_ = batch.old_values.array() + value_change_.max(-clip).min(clip) - ret;
            const auto squared = value_error_.square(), clipped_squared = clipped_value_error_.square();
            stats.value_loss = static_cast<double>(S(0.5) * squared.max(clipped_squared).mean());
            value_weight = ((squared >= clipped_squared)
                                .select(value_error_, (value_change_.abs() < clip).select(clipped_value_error_, S(0))) *
                            value_scale)
                               .matrix();
          } else {
            stats.value_loss = static_cast<double>(S(0.5) * value_error_.square().mean());
            value_weight = (value_error_ * value_scale).matrix();
          }
        });
    stats.combine(config.ent_coef, config.vf_coef);
    return stats;
  }

 private:
  // Per-sample buffers, kept so that an update allocates nothing once the minibatch size is fixed.
  RowVector<S> log_ratio_, ratio_;
  Eigen::Array<S, 1, Eigen::Dynamic> unclipped_, clipped_, value_error_, value_change_, clipped_value_error_;
};

/// PPO on environment Env (Schulman et al. 2017, with the implementation details of CleanRL's
/// ppo.py / ppo_continuous_action.py): collect num_envs x num_steps, GAE(γ, λ), then
/// update_epochs passes of shuffled minibatches of the clipped surrogate, global-norm clipping,
/// optional target-KL early stop and linear learning-rate annealing.
template <class Env, class Policy = PolicyFor<Env>>
class Ppo {
 public:
  using S = typename Policy::Scalar;
  using Actions = typename Policy::Actions;

  Ppo(const Env& prototype, PpoConfig config, std::uint64_t seed)
      : config_((config.validate(), config)),
        current_(config_),
        init_rng_(seed, 1),
        policy_(make_policy<Policy>(prototype, config_.policy, init_rng_)),
        collector_(envs::VectorEnv<Env>(config_.num_envs, prototype, seed, config_.num_threads), seed),
        optimizer_(typename nn::Adam<S>::Config{static_cast<S>(config_.learning_rate), S(0.9), S(0.999),
                                                 static_cast<S>(config_.adam_eps)}),
        shuffle_rng_(seed, 2) {
    rollout_.resize(config_.num_steps, config_.num_envs, policy_.observation_size(), action_rows());
    indices_.resize(static_cast<std::size_t>(config_.batch_size()));
  }

  Policy& policy() { return policy_; }
  const Policy& policy() const { return policy_; }
  RolloutCollector<Env, Policy>& collector() { return collector_; }
  const RolloutCollector<Env, Policy>& collector() const { return collector_; }
  const PpoConfig& config() const { return config_; }
  /// Updates done in the current run (restored by a checkpoint).
  long long iteration() const { return iteration_; }
  /// The number of updates learn(total_steps) runs in all: total_steps / batch size, rounded up.
  long long iterations_for(long long total_steps) const {
    return (total_steps + config_.batch_size() - 1) / config_.batch_size();
  }

  /// Trains for total_steps environment steps (rounded up to whole rollouts), calling on_update
  /// after every update; stops early when it returns false. A run that was stopped early (or
  /// loaded from a checkpoint) continues from its next update with the same schedule position
  /// when learn is called with the same total; a finished run starts a new one.
  void learn(long long total_steps, const UpdateCallback& on_update = {}) {
    const long long iterations = iterations_for(total_steps);
    if (iteration_ >= iterations) iteration_ = 0;
    const Stopwatch clock;
    for (long long iteration = iteration_ + 1; iteration <= iterations; ++iteration) {
      // Schedules: CleanRL anneals with frac = 1 - (iteration - 1) / iterations.
      config_.schedule_into(static_cast<double>(iteration - 1) / static_cast<double>(iterations), current_);
      optimizer_.set_learning_rate(static_cast<S>(current_.learning_rate));

      collector_.collect(policy_, rollout_);
      compute_gae<S>(rollout_.rewards, rollout_.values, rollout_.terminated, rollout_.truncated,
                     rollout_.final_values, rollout_.last_values, static_cast<S>(config_.gamma),
                     static_cast<S>(config_.gae_lambda), rollout_.advantages, rollout_.returns);

      UpdateReport report = update();
      iteration_ = iteration;

      report.iteration = iteration;
      collector_.fill_report(report, clock);
      report.learning_rate = static_cast<double>(optimizer_.learning_rate());
      if (on_update && !on_update(report)) break;
    }
  }

  /// Checkpoints: Scalar, hyperparameters (checked on load), policy sizes and parameters, Adam
  /// state, every Rng, the update counter and the collector (observations, counters, episode
  /// log, vector environment with every copy's state).
  void save_state(Writer& w) const {
    write_algorithm_header<S>(w, "Ppo", config_);
    save_policy_state(w, policy_);
    optimizer_.save_state(w);
    w.rng(init_rng_);
    w.rng(shuffle_rng_);
    w.i64(iteration_);
    collector_.save_state(w);
  }
  /// Restores what save_state wrote into an algorithm built with the same configuration.
  void load_state(Reader& r) {
    check_algorithm_header<S>(r, "Ppo", config_);
    load_policy_state(r, policy_);
    optimizer_.load_state(r);
    r.rng(init_rng_);
    r.rng(shuffle_rng_);
    iteration_ = r.i64();
    collector_.load_state(r);
  }

 private:
  Index action_rows() const { return Policy::discrete ? 1 : policy_.action_size(); }

  /// update_epochs passes over the rollout in shuffled minibatches.
  UpdateReport update() {
    UpdateReport report;
    report.explained_variance = explained_variance(rollout_.returns, rollout_.values);
    std::iota(indices_.begin(), indices_.end(), Index(0));
    const Index minibatch = config_.minibatch_size();
    LossStats stats;
    double clip_sum = 0;
    long long count = 0;
    for (Index epoch = 0; epoch < config_.update_epochs; ++epoch) {
      pgrad::shuffle(indices_.begin(), indices_.end(), shuffle_rng_);
      for (Index start = 0; start < config_.batch_size(); start += minibatch) {
        batch_.gather(rollout_, indices_, start, minibatch);
        if (config_.normalize_advantages) normalize_in_place(batch_.advantages);
        policy_.zero_grad();
        stats = loss_.compute(policy_, batch_, current_);
        report.grad_norm = static_cast<double>(policy_.clip_gradients(static_cast<S>(config_.max_grad_norm)));
        policy_.apply(optimizer_);
        clip_sum += stats.clip_fraction;
        ++count;
      }
      if (config_.target_kl > 0 && stats.approx_kl > config_.target_kl) break;
    }
    report.set_losses(stats);
    report.approx_kl = stats.approx_kl;
    report.clip_fraction = clip_sum / static_cast<double>(count);
    return report;
  }

  PpoConfig config_;
  PpoConfig current_;  // config_ with the scheduled values of this iteration
  Rng init_rng_;
  Policy policy_;
  RolloutCollector<Env, Policy> collector_;
  nn::Adam<S> optimizer_;
  Rng shuffle_rng_;
  RolloutBuffer<S, Actions> rollout_;
  Minibatch<S, Actions> batch_;
  PpoLoss<Policy> loss_;
  std::vector<Index> indices_;
  long long iteration_ = 0;
};

}  // namespace pgrad::algo
