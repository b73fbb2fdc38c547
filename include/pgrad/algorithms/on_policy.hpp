#pragma once
// pgrad::algo::OnPolicy: the one training loop of every on-policy algorithm.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pgrad/algorithms/collector.hpp>
#include <pgrad/algorithms/config.hpp>
#include <pgrad/algorithms/data_parallel.hpp>
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
/// ActorCritic or, for PPO, A2C and TRPO, a RecurrentActorCritic (PolicyConfig::recurrent_size > 0),
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
///
/// Data-parallel (config.data_shards > 1, over the processes of a Communicator such as
/// pgrad::distributed::MpiCommunicator): every process builds the same OnPolicy with the same
/// configuration and seed and calls the same learn(); each steps only its own shards' copies
/// (their streams numbered across processes), the minibatches' gradients are summed over the
/// shards (ShardedMinibatch) so every process holds the same parameters, and the episodes are
/// merged into the same log on every process. Callbacks run on every process (rank 0 alone
/// should log: is_root()); rank 0's answer decides whether training goes on. An exception on any
/// process ends learn() on every process with the same pgrad::Error. Checkpoints are collective:
/// every process calls save_checkpoint and load_checkpoint; rank 0 reads and writes the file.
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
  ///
  /// `communicator`: the processes of a data-parallel run (null: this process alone); it must
  /// outlive the algorithm.
  OnPolicy(const Env& prototype, Config config, std::uint64_t seed, Communicator* communicator = nullptr)
      : config_(validated(std::move(config), prototype)),
        comm_(communicator != nullptr ? communicator : &single_process_),
        layout_(ShardLayout::of(config_.num_envs, config_.data_shards, *comm_)),
        streams_(seed),
        workers_(config_.num_threads),
        policy_(initial_policy(prototype)),
        collector_(envs::VectorEnv<Env>(layout_.local_copies(), prototype, streams_, workers_, layout_.first_copy()),
                   streams_.take(Stream::action_sampling), hidden_rows_of(policy_),
                   CopyShare{layout_.first_copy(), config_.num_envs, comm_->size() > 1}),
        update_(config_, policy_, streams_, layout_, *comm_) {
    PGRAD_REQUIRE(!layout_.sharded() || config_.policy.dropout == 0, Update::name,
                  ": data_shards > 1 does not train policies with dropout");
    rollout_.resize(config_.num_steps, layout_.local_copies(), policy_.observation_size(),
                    action_rows_of(policy_), policy_.dropout_mask_rows(),
                    hidden_rows_of(policy_), envs::has_action_mask_v<Env> ? policy_.action_size() : 0);
  }

  Policy& policy() { return policy_; }
  const Policy& policy() const { return policy_; }
  Collector& collector() { return collector_; }
  const Collector& collector() const { return collector_; }
  const Config& config() const { return config_; }
  const Update& update() const { return update_; }
  /// The processes of the run, and how its copies and minibatches are split between them.
  Communicator& communicator() const { return *comm_; }
  const ShardLayout& shard_layout() const { return layout_; }
  /// True on the process that writes files and logs (rank 0; the only one of a single process).
  bool is_root() const { return comm_->is_root(); }
  /// The run's random streams (what each consumer took).
  const RandomStreams& streams() const { return streams_; }
  /// The last rollout (advantages and returns included): this process's copies.
  const Rollout& rollout() const { return rollout_; }
  /// Updates done in the current run (restored by a checkpoint).
  long long iteration() const { return iteration_; }
  /// Environment steps taken in the current run (by every process).
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
      comm_->run_guarded([&] {
        collector_.collect(policy_, rollout_, Update::one_episode, &workers_);
        compute_advantages();
      });
      if (comm_->size() > 1) merge_episodes();
      UpdateReport report = update_.update(config_, policy_, rollout_, progress, workers_);
      run_steps_ += rollout_.length * config_.num_envs;
      ++iteration_;

      report.iteration = iteration_;
      report.explained_variance = explained_variance<S>(rollout_.returns, rollout_.values.leftCols(rollout_.length));
      collector_.fill_report(report, clock, processes());
      bool keep_going = true;
      comm_->run_guarded([&] { keep_going = !on_update || on_update(report); });
      if (!comm_->root_decides(keep_going)) break;
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
    if (comm_->size() == 1) {
      collector_.save_state(w);
    } else {  // every process's collector, in rank order
      Writer mine;
      collector_.save_state(mine);
      const std::vector<std::string> all = comm_->all_gather_bytes(mine.bytes());
      w.section("DataParallel");
      w.i64(comm_->size());
      for (const std::string& bytes : all) w.string(bytes);
    }
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
    load_collector(r);
    PGRAD_REQUIRE(collector_.steps() * processes() >= run_steps, r.source(),
                  ": corrupt OnPolicy counters: the run took ", run_steps, " steps, the collector only ",
                  collector_.steps() * processes());
    update_.load_state(r);
    iteration_ = iteration;
    run_steps_ = run_steps;
  }

 private:
  long long processes() const { return comm_->size(); }

  // A single process's collector, or this process's among every process's (DataParallel).
  void load_collector(Reader& r) {
    if (comm_->size() == 1 && !saved_by_several_processes(r)) {
      collector_.load_state(r);
      return;
    }
    r.section("DataParallel");
    const long long saved = r.i64_in("DataParallel process count", 2, 1 << 20);
    PGRAD_REQUIRE(saved == comm_->size(), r.source(), ": the checkpoint was saved by a run of ", saved,
                  " processes; this run has ", comm_->size(), " (resume with the same number of MPI ranks)");
    for (int rank = 0; rank < comm_->size(); ++rank) {
      std::string bytes = r.string();
      if (rank != comm_->rank()) continue;
      Reader mine(std::move(bytes), r.source() + " (rank " + std::to_string(rank) + ")");
      collector_.load_state(mine);
      mine.finish();
    }
  }

  // Whether the next section is a data-parallel run's collectors (only possible with shards).
  bool saved_by_several_processes(const Reader& r) const {
    if (!layout_.sharded()) return false;
    Reader probe = r;
    try {
      probe.section("DataParallel");
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  // Every process's episodes of the last rollout, merged by step (then copy: the processes hold
  // the copies in rank order), into the same log on every process.
  void merge_episodes() {
    Writer mine;
    for (const FinishedEpisode& e : collector_.pending_episodes()) {
      mine.i64(e.step);
      mine.i64(e.copy);
      mine.f64(e.episode_return);
      mine.i64(e.length);
    }
    const std::vector<std::string> all = comm_->all_gather_bytes(mine.bytes());
    merged_.clear();
    for (const std::string& bytes : all) {
      Reader r(bytes, "DataParallel episodes");
      while (!r.at_end()) {
        FinishedEpisode e;
        e.step = static_cast<Index>(r.i64());
        e.copy = static_cast<Index>(r.i64());
        e.episode_return = r.f64();
        e.length = static_cast<Index>(r.i64());
        merged_.push_back(e);
      }
    }
    std::stable_sort(merged_.begin(), merged_.end(),
                     [](const FinishedEpisode& a, const FinishedEpisode& b) { return a.step < b.step; });
    collector_.add_episodes(merged_);
  }
  // The rows of one sample's stored action (1 for Categorical, K for MultiCategorical, the
  // dimension for Box).
  static Index action_rows_of(const Policy& policy) {
    if constexpr (is_recurrent_v<Policy>)
      return Policy::discrete ? 1 : policy.action_size();
    else
      return policy.action_rows();
  }
  static Config validated(Config config, const Env& prototype) {
    config.validate();
    Index action_size = 0, action_rows = 1;
    if constexpr (envs::has_multi_discrete_actions_v<Env>) {
      action_size = prototype.action_space().total();
      action_rows = prototype.action_space().size();
    } else if constexpr (Policy::discrete) {
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
  SingleProcess single_process_;
  Communicator* comm_;
  ShardLayout layout_;
  RandomStreams streams_;
  ThreadPool workers_;
  Policy policy_;
  Collector collector_;
  Update update_;
  Rollout rollout_;
  std::vector<FinishedEpisode> merged_;
  long long iteration_ = 0;
  long long run_steps_ = 0;
};

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
