#pragma once
// pgrad::algo::OnPolicy: the one training loop of every on-policy algorithm.
#include <cstdint>
#include <utility>

#include <pgrad/algorithms/collector.hpp>
#include <pgrad/algorithms/config.hpp>
#include <pgrad/algorithms/report.hpp>
#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/algorithms/sequence_minibatch.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/returns/gae.hpp>

namespace pgrad::algo {

/// An on-policy algorithm on environment Env: everything every one of them has, plus one Update
/// (its config, loss and update step) that makes it PPO, A2C or REINFORCE. The policy is an
/// ActorCritic or, for PPO and A2C, a RecurrentActorCritic (PolicyConfig::recurrent_size > 0),
/// whose states the collector carries and whose updates replay whole sequences.
///
/// OnPolicy owns the run's random streams (weight initialisation, action sampling, each
/// environment copy, and the update's own: see RandomStreams), its threads (a ThreadPool of
/// config.num_threads, lent to the environment copies and to the policy's passes), the policy,
/// the collector with its VectorEnv, the rollout buffer, the update and the counters, and runs
///
///   learn(total_steps): until the run has taken total_steps environment steps,
///     p = steps taken in the run / steps planned          (the schedules' training progress)
///     collect a rollout                                    (num_envs x num_steps, or one episode)
///     advantages and returns by GAE(γ, λ)                  (with the time-limit bootstrap)
///     update the policy                                    (the Update, at progress p)
///     report to the callback, which may stop the run
///
/// An Update provides:
///   using Policy; using Config;                     Config derives from OnPolicyConfig
///   static constexpr const char* name;              "Ppo": the checkpoint section and messages
///   static constexpr bool one_episode;              true: each rollout is one whole episode
///   Update(const Config&, const Policy&, RandomStreams&);                  takes its own streams
///   UpdateReport update(const Config&, Policy&, const RolloutBuffer&, double progress, ThreadPool&);
///   void save_state(Writer&) const;  void load_state(Reader&);             its optimiser, streams
template <class Env, class Update>
class OnPolicy {
 public:
  using Policy = typename Update::Policy;
  using Config = typename Update::Config;
  using S = typename Policy::Scalar;
  using Actions = typename Policy::Actions;
  using Collector = RolloutCollector<Env, Policy>;
  using Rollout = RolloutBuffer<S, Actions>;

  /// Builds the policy for `prototype`'s spaces and config.num_envs copies of it; every random
  /// number of the run comes from `seed`. The configuration is checked first, completely
  /// (config.validate(), then config.check_memory for the environment's sizes), before anything
  /// is allocated.
  OnPolicy(const Env& prototype, Config config, std::uint64_t seed)
      : config_(validated(std::move(config), prototype)),
        streams_(seed),
        workers_(config_.num_threads),
        policy_(initial_policy(prototype)),
        collector_(envs::VectorEnv<Env>(config_.num_envs, prototype, streams_, workers_),
                   streams_.take(Stream::action_sampling), hidden_rows_of(policy_)),
        update_(config_, policy_, streams_) {
    rollout_.resize(config_.num_steps, config_.num_envs, policy_.observation_size(),
                    Policy::discrete ? 1 : policy_.action_size(), policy_.dropout_mask_rows(),
                    hidden_rows_of(policy_));
  }

  Policy& policy() { return policy_; }
  const Policy& policy() const { return policy_; }
  Collector& collector() { return collector_; }
  const Collector& collector() const { return collector_; }
  const Config& config() const { return config_; }
  const Update& update() const { return update_; }
  /// The run's random streams (what each consumer took).
  const RandomStreams& streams() const { return streams_; }
  /// The last rollout (advantages and returns included).
  const Rollout& rollout() const { return rollout_; }
  /// Updates done in the current run (restored by a checkpoint).
  long long iteration() const { return iteration_; }
  /// Environment steps taken in the current run.
  long long run_steps() const { return run_steps_; }
  /// The number of updates learn(total_steps) runs in all with fixed-size rollouts:
  /// total_steps / batch size, rounded up.
  long long iterations_for(long long total_steps) const { return planned_steps(total_steps) / config_.batch_size(); }

  /// Trains until the run has taken total_steps environment steps (rounded up to whole
  /// rollouts), calling on_update after every update; stops early when it returns false. A run
  /// that was stopped early (or loaded from a checkpoint) continues from its next update, at the
  /// same schedule position, when learn is called with the same total; a finished run starts a
  /// new one.
  void learn(long long total_steps, const UpdateCallback& on_update = {}) {
    PGRAD_REQUIRE(total_steps > 0 && total_steps <= max_saved_counter, Update::name,
                  "::learn: total_steps must be in [1, 2^62], got ", total_steps);
    const long long planned = planned_steps(total_steps);
    if (run_steps_ >= planned) iteration_ = run_steps_ = 0;
    const Stopwatch clock;
    while (run_steps_ < planned) {
      const double progress = static_cast<double>(run_steps_) / static_cast<double>(planned);
      collector_.collect(policy_, rollout_, Update::one_episode, &workers_);
      compute_advantages();
      UpdateReport report = update_.update(config_, policy_, rollout_, progress, workers_);
      run_steps_ += rollout_.size();
      ++iteration_;

      report.iteration = iteration_;
      report.explained_variance = explained_variance<S>(rollout_.returns, rollout_.values.leftCols(rollout_.length));
      collector_.fill_report(report, clock);
      if (on_update && !on_update(report)) break;
    }
  }

  /// Checkpoints: the algorithm's name, Scalar and hyperparameters (checked on load), the policy,
  /// the counters, the collector (sampling Rng, observations, episode log, every environment
  /// copy's Rng and state) and the update's state (optimiser, its streams).
  void save_state(Writer& w) const {
    write_algorithm_header<S>(w, Update::name, config_);
    policy_.save_state(w);
    w.i64(iteration_);
    w.i64(run_steps_);
    collector_.save_state(w);
    update_.save_state(w);
  }
  /// Restores what save_state wrote into an algorithm built with the same configuration. Every
  /// counter is range-checked: the run's steps in [0, 2^62] and consistent with its updates
  /// (iteration * batch size for fixed-size rollouts; between iteration and iteration *
  /// num_steps for whole episodes) and with the collector's total.
  void load_state(Reader& r) {
    check_algorithm_header<S>(r, Update::name, config_);
    policy_.load_state(r);
    const long long iteration = r.i64_in("OnPolicy iteration", 0, max_saved_counter);
    const long long run_steps = r.i64_in("OnPolicy run steps", 0, max_saved_counter);
    const long long batch = config_.batch_size(), longest = config_.num_steps;
    const bool consistent = Update::one_episode
                                ? iteration <= run_steps && (run_steps + longest - 1) / longest <= iteration
                                : run_steps % batch == 0 && run_steps / batch == iteration;
    PGRAD_REQUIRE(consistent, r.source(), ": corrupt OnPolicy counters: ", iteration, " updates cannot have taken ",
                  run_steps, " steps");
    collector_.load_state(r);
    PGRAD_REQUIRE(collector_.steps() >= run_steps, r.source(), ": corrupt OnPolicy counters: the run took ",
                  run_steps, " steps, the collector only ", collector_.steps());
    update_.load_state(r);
    iteration_ = iteration;
    run_steps_ = run_steps;
  }

 private:
  static Config validated(Config config, const Env& prototype) {
    config.validate();
    Index action_size = 0, action_rows = 1;
    if constexpr (Policy::discrete) {
      action_size = prototype.action_space().n;
    } else {
      action_size = prototype.action_space().size();
      action_rows = action_size;
    }
    config.check_memory(Update::name, prototype.observation_space().size(), action_size, action_rows, sizeof(S),
                        sizeof(Env));
    return config;
  }

  Policy initial_policy(const Env& prototype) {
    Rng rng = streams_.take(Stream::weight_init);
    Policy policy = make_policy<Policy>(prototype, config_.policy, rng);
    if (config_.policy.dropout > 0) policy.set_dropout_rng(streams_.take(Stream::dropout));
    return policy;
  }

  // Whole rollouts for fixed-size rollouts; exactly total_steps for whole episodes.
  long long planned_steps(long long total_steps) const {
    if (Update::one_episode) return total_steps;
    const long long batch = config_.batch_size();
    return (total_steps + batch - 1) / batch * batch;
  }

  void compute_advantages() {
    const Index t = rollout_.length;
    compute_gae<S>(rollout_.rewards.leftCols(t), rollout_.values.leftCols(t), rollout_.terminated.leftCols(t),
                   rollout_.truncated.leftCols(t), rollout_.final_values.leftCols(t), rollout_.last_values,
                   static_cast<S>(config_.gamma), static_cast<S>(config_.gae_lambda), rollout_.advantages,
                   rollout_.returns);
  }

  Config config_;
  RandomStreams streams_;
  ThreadPool workers_;
  Policy policy_;
  Collector collector_;
  Update update_;
  Rollout rollout_;
  long long iteration_ = 0;
  long long run_steps_ = 0;
};

/// One gradient step of an update: zero the gradients, the loss's forward and backward on
/// `batch`, global-norm clipping at max_grad_norm (0: none), one optimiser step. Returns the
/// loss statistics and sets `grad_norm` to the norm before clipping.
template <class Policy, class Loss, class Batch, class Coefficients, class Optimizer>
LossStats gradient_step(Policy& policy, Loss& loss, const Batch& batch, const Coefficients& coefficients,
                        double max_grad_norm, Optimizer& optimizer, ThreadPool& workers, double& grad_norm) {
  using S = typename Policy::Scalar;
  policy.zero_grad(&workers);
  const LossStats stats = loss.compute(policy, batch, coefficients, &workers);
  grad_norm = static_cast<double>(policy.clip_gradients(static_cast<S>(max_grad_norm), &workers));
  policy.apply(optimizer, &workers);
  return stats;
}

/// Adam and the sample order of its minibatches, saved together in checkpoints: what PPO's update
/// and TRPO's critic train with. Adam starts at the config's learning rate at progress 0, with
/// β = (0.9, 0.999) and the given ε, and serves parameter blocks of the given sizes (what its
/// checkpointed state is checked against).
template <class S>
struct MinibatchAdam {
  nn::Adam<S> adam;
  MinibatchOrder order;

  /// `units`: what the minibatches are made of (0: the rollout's samples; a recurrent policy's
  /// updates shuffle environment copies).
  MinibatchAdam(const OnPolicyConfig& config, double eps, RandomStreams& streams, std::vector<Index> block_sizes,
                Index units = 0)
      : adam({static_cast<S>(config.learning_rate(0.0)), S(0.9), S(0.999), static_cast<S>(eps)}),
        order(units > 0 ? units : config.batch_size(), streams) {
    adam.expect_blocks(std::move(block_sizes));
  }

  void save_state(Writer& w) const {
    adam.save_state(w);
    order.save_state(w);
  }
  void load_state(Reader& r) {
    adam.load_state(r);
    order.load_state(r);
  }
};

}  // namespace pgrad::algo
