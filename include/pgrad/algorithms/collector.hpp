#pragma once
// pgrad::algo::RolloutCollector: the collect loop shared by every on-policy algorithm.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <pgrad/algorithms/report.hpp>
#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>

namespace pgrad::algo {

/// Returns and lengths of the most recent finished episodes (a ring of `capacity`).
class EpisodeLog {
 public:
  explicit EpisodeLog(std::size_t capacity = 100) : returns_(capacity, 0.0), lengths_(capacity, 0) {
    PGRAD_REQUIRE(capacity > 0, "EpisodeLog: capacity must be positive");
  }

  void add(double episode_return, Index length) {
    returns_[next_] = episode_return;
    lengths_[next_] = length;
    next_ = (next_ + 1) % returns_.size();
    ++count_;
  }
  long long count() const { return count_; }
  std::size_t capacity() const { return returns_.size(); }
  /// The mean return of the last min(window, count()) episodes (0 before any); window in
  /// [1, capacity()], the whole log by default.
  double mean_return() const { return mean_return(returns_.size()); }
  double mean_return(std::size_t window) const {
    PGRAD_REQUIRE(window >= 1 && window <= returns_.size(), "EpisodeLog::mean_return: window ", window,
                  " must be in [1, ", returns_.size(), "]");
    const std::size_t n = std::min<std::size_t>(window, static_cast<std::size_t>(count_));
    double sum = 0;
    for (std::size_t k = 1; k <= n; ++k) sum += returns_[(next_ + returns_.size() - k) % returns_.size()];
    return n > 0 ? sum / static_cast<double>(n) : 0.0;
  }
  double mean_length() const { return mean(lengths_); }

  /// Checkpoints: the ring, its position and the count.
  void save_state(Writer& w) const {
    w.section("EpisodeLog");
    w.u64(returns_.size());
    for (std::size_t k = 0; k < returns_.size(); ++k) {
      w.f64(returns_[k]);
      w.i64(lengths_[k]);
    }
    w.u64(next_);
    w.i64(count_);
  }
  /// Restores what save_state wrote: the capacity must match; returns finite, lengths, the
  /// count and the ring position in range and consistent (position = count mod capacity).
  void load_state(Reader& r) {
    r.section("EpisodeLog");
    const auto capacity = r.u64();
    PGRAD_REQUIRE(capacity == returns_.size(), r.source(), ": EpisodeLog capacity differs: file has ", capacity,
                  ", log has ", returns_.size());
    std::vector<double> returns(returns_.size());
    std::vector<Index> lengths(lengths_.size());
    for (std::size_t k = 0; k < returns.size(); ++k) {
      returns[k] = r.finite<double>("EpisodeLog episode return");
      lengths[k] = static_cast<Index>(r.i64_in("EpisodeLog episode length", 0, max_saved_counter));
    }
    const auto next = r.u64();
    const long long count = r.i64_in("EpisodeLog episode count", 0, max_saved_counter);
    PGRAD_REQUIRE(next == static_cast<std::uint64_t>(count) % capacity, r.source(),
                  ": corrupt EpisodeLog ring position ", next, " after ", count, " episodes (capacity ", capacity,
                  ")");
    returns_ = std::move(returns);
    lengths_ = std::move(lengths);
    next_ = static_cast<std::size_t>(next);
    count_ = count;
  }

 private:
  template <class T>
  double mean(const std::vector<T>& values) const {
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(count_), values.size());
    if (n == 0) return 0.0;
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) sum += static_cast<double>(values[k]);
    return sum / static_cast<double>(n);
  }
  std::vector<double> returns_;
  std::vector<Index> lengths_;
  std::size_t next_ = 0;
  long long count_ = 0;
};

/// Where a process's environment copies sit in a data-parallel run (ShardLayout): copies
/// [first_copy, first_copy + its num_envs) of num_envs in all. The action-sampling stream is the
/// run's one stream: before and after drawing for its own copies, each step, a process discards
/// what the copies before and after its own would draw, so every copy gets the numbers it gets in
/// a single process. With `gather_episodes` the finished episodes wait in pending_episodes()
/// for the training loop to merge with the other processes' (add_episodes).
struct CopyShare {
  Index first_copy = 0, num_envs = 0;  // num_envs = 0: this process holds every copy
  bool gather_episodes = false;
};

/// An episode that ended during the current rollout: at step `step`, in copy `copy` (numbered
/// across processes).
struct FinishedEpisode {
  Index step = 0, copy = 0;
  double episode_return = 0;
  Index length = 0;
};

/// The on-policy collect loop: steps a VectorEnv with the current policy and fills a
/// RolloutBuffer with observations, actions, log-probs, values, rewards, the two end flags and,
/// for each episode cut by a time limit, V(final observation) — the timeout bootstrap lives here
/// and in compute_gae, nowhere else. Box actions are sampled unbounded, stored as sampled, and
/// clipped to the action space only on their way to the environment (as SB3 and CleanRL).
///
/// Each step runs only the actor. The values V(s_t) of the stored observations are computed in
/// blocks of about 32 samples: on worker 1 of the lent ThreadPool while this thread goes on
/// stepping, or on this thread when the environment copies use the workers (or there are none);
/// the same bits either way.
///
/// An environment with action_mask() (envs::has_action_mask_v) has its masks applied to every
/// act and stored in the rollout (action_masks) for the update to apply again.
///
/// A recurrent policy (RecurrentActorCritic) gives V with each step instead, from the state the
/// collector carries for every copy: stored in the rollout before its first step
/// (initial_hidden), advanced by each act, zeroed for a copy whose episode ended, checkpointed.
template <class Env, class Policy>
class RolloutCollector {
 public:
  using S = typename Policy::Scalar;
  using Actions = typename Policy::Actions;
  using Buffer = RolloutBuffer<S, Actions>;

  static constexpr bool recurrent = is_recurrent_v<Policy>;
  static constexpr bool masked = envs::has_action_mask_v<Env>;  // the environment's action masks

  /// Collects from `vector_env`, sampling actions from `sampling_rng`; a recurrent policy's
  /// states (hidden_rows each, Policy::hidden_size()) start at zero. `share`: this process's
  /// copies in a data-parallel run.
  RolloutCollector(envs::VectorEnv<Env> vector_env, Rng sampling_rng, Index hidden_rows = 0, CopyShare share = {})
      : env_(std::move(vector_env)), rng_(sampling_rng), share_(share) {
    PGRAD_REQUIRE(recurrent == (hidden_rows > 0), "RolloutCollector: ", hidden_rows,
                  " state rows for a ", recurrent ? "recurrent" : "feed-forward", " policy");
    if (share_.num_envs == 0) share_.num_envs = env_.num_envs();
    PGRAD_REQUIRE(share_.first_copy >= 0 && share_.first_copy + env_.num_envs() <= share_.num_envs,
                  "RolloutCollector: copies [", share_.first_copy, ", ", share_.first_copy + env_.num_envs(),
                  ") are not among the run's ", share_.num_envs);
    PGRAD_REQUIRE(!recurrent || share_.num_envs == env_.num_envs(),
                  "RolloutCollector: recurrent policies do not train across processes yet");
    hidden_.setZero(hidden_rows, env_.num_envs());
    if constexpr (!Policy::discrete) {
      const auto space = env_.action_space();
      action_low_ = space.low.template cast<S>();
      action_high_ = space.high.template cast<S>();
    }
    observations_ = env_.reset();
    final_values_.setZero(env_.num_envs());  // sized now: the first time-limit cut allocates nothing
  }

  envs::VectorEnv<Env>& env() { return env_; }
  const envs::VectorEnv<Env>& env() const { return env_; }
  const EpisodeLog& episodes() const { return episodes_; }
  /// Environment steps taken so far, over all copies.
  long long steps() const { return steps_; }
  double env_seconds() const { return env_seconds_; }
  Index num_envs() const { return env_.num_envs(); }
  /// The generator actions are sampled from.
  Rng& rng() { return rng_; }
  /// Episodes that ended in the last rollout, held back for merging (CopyShare::gather_episodes).
  const std::vector<FinishedEpisode>& pending_episodes() const { return pending_; }
  /// Adds episodes to the log in the given order (every process's, merged by step then copy).
  void add_episodes(const std::vector<FinishedEpisode>& episodes) {
    for (const auto& episode : episodes) episodes_.add(episode.episode_return, episode.length);
  }
  /// A recurrent policy's state per copy (state rows x N; empty for a feed-forward policy).
  const Matrix<S>& hidden() const { return hidden_; }

  /// Fills the collection side of a report: steps, episodes, recent returns and timings; steps
  /// count every process's (`processes` collectors like this one).
  void fill_report(UpdateReport& report, const Stopwatch& clock, long long processes = 1) const {
    report.steps = steps_ * processes;
    report.episodes = episodes_.count();
    report.mean_return = episodes_.mean_return();
    report.episode_log = &episodes_;
    report.mean_length = episodes_.mean_length();
    report.seconds = clock.seconds();
    report.env_seconds = env_seconds_;
    report.steps_per_second = static_cast<double>(report.steps) / report.seconds;
  }

  /// Checkpoints: the sampling Rng, the current observations, step count, episode log, the
  /// vector environment's state (every copy's Rng and environment state) and a recurrent
  /// policy's states.
  void save_state(Writer& w) const {
    w.section("RolloutCollector");
    w.rng(rng_);
    w.matrix(observations_);
    w.i64(steps_);
    w.f64(env_seconds_);
    episodes_.save_state(w);
    env_.save_state(w);
    if constexpr (recurrent) w.matrix(hidden_);
  }
  /// Restores what save_state wrote: the step count must be in [0, 2^62] and a multiple of the
  /// number of copies, the environment time finite and >= 0, the current observations those
  /// of the vector environment, and a recurrent policy's states in [-1, 1].
  void load_state(Reader& r) {
    r.section("RolloutCollector");
    r.rng(rng_, "RolloutCollector action sampling");
    r.matrix(observations_, "RolloutCollector observations", observations_.rows(), observations_.cols());
    steps_ = r.i64_in("RolloutCollector step count", 0, max_saved_counter);
    PGRAD_REQUIRE(steps_ % env_.num_envs() == 0, r.source(), ": corrupt RolloutCollector step count ", steps_,
                  ": not a multiple of the ", env_.num_envs(), " environment copies");
    env_seconds_ = r.finite<double>("RolloutCollector environment time");
    PGRAD_REQUIRE(env_seconds_ >= 0, r.source(), ": corrupt RolloutCollector environment time ", env_seconds_);
    episodes_.load_state(r);
    env_.load_state(r);
    PGRAD_REQUIRE(env_.ready(), r.source(), ": corrupt RolloutCollector: its vector environment was saved "
                  "unable to step (before a reset or after an exception)");
    PGRAD_REQUIRE((observations_.array() == env_.observations().array()).all(), r.source(),
                  ": corrupt RolloutCollector observations: they differ from the vector environment's");
    if constexpr (recurrent) {
      r.matrix(hidden_, "RolloutCollector recurrent states", hidden_.rows(), hidden_.cols());  // finite
      // A GRU's state is a running convex combination of tanh values, starting at 0.
      PGRAD_REQUIRE((hidden_.array().abs() <= S(1)).all(), r.source(),
                    ": corrupt RolloutCollector recurrent states: outside [-1, 1], where a GRU's state stays");
    }
  }

  /// Steps every environment `buffer.num_steps` times, continuing from where the last call
  /// stopped, and stores the rollout in `buffer`. With one_episode (one environment only) it
  /// stops after the first episode that ends. Sets and returns buffer.length, the steps stored.
  Index collect(Policy& policy, Buffer& buffer, bool one_episode = false, ThreadPool* workers = nullptr) {
    const Index n = env_.num_envs();
    PGRAD_REQUIRE(buffer.num_envs == n, "RolloutCollector: buffer is for ", buffer.num_envs,
                  " environments, the vector environment has ", n);
    PGRAD_REQUIRE(!one_episode || n == 1, "RolloutCollector: one_episode needs one environment, got ", n);
    const Index steps_per_block = steps_per_value_block(buffer.num_steps, n);
    Index values_from = 0;  // steps [values_from, t) have no values yet
    const auto compute_values_until = [&](Index end) {
      join_values(workers);
      if constexpr (!recurrent) {  // a recurrent policy's act gives the values
        if (end == values_from) return;
        values_ = ValueJob{&policy, buffer.observations.data() + values_from * n * buffer.observations.rows(),
                           buffer.observations.rows(), (end - values_from) * n,
                           Buffer::flat(buffer.values).data() + values_from * n};
        if (workers != nullptr && workers->size() > 1 && !env_.steps_in_parallel())
          workers->start(values_);
        else
          values_();
        values_from = end;
      }
    };
    const JoinOnExit join_on_exit{*this, workers};
    if constexpr (recurrent) {
      PGRAD_REQUIRE(buffer.initial_hidden.rows() == hidden_.rows() && buffer.initial_hidden.cols() == n,
                    "RolloutCollector: buffer holds ", buffer.initial_hidden.rows(), "x", buffer.initial_hidden.cols(),
                    " states, the collector ", hidden_.rows(), "x", n);
      buffer.initial_hidden = hidden_;
    }
    pending_.clear();
    const Index copies_after = share_.num_envs - share_.first_copy - n;
    Index t = 0;
    for (; t < buffer.num_steps; ++t) {
      if constexpr (recurrent) {
        if constexpr (masked) {
          policy.act(observations_, hidden_, rng_, step_actions_, step_log_probs_, step_values_, &env_.action_masks());
          buffer.action_masks.middleCols(t * n, n) = env_.action_masks();
        } else {
          policy.act(observations_, hidden_, rng_, step_actions_, step_log_probs_, step_values_);
        }
        buffer.values.col(t) = step_values_.transpose();
      } else {
        if (share_.first_copy > 0) policy.discard_samples(rng_, share_.first_copy);
        if constexpr (masked) {  // the masks of the current observations, stored with them
          policy.act(observations_, rng_, step_actions_, step_log_probs_, &env_.action_masks());
          buffer.action_masks.middleCols(t * n, n) = env_.action_masks();
        } else {
          policy.act(observations_, rng_, step_actions_, step_log_probs_);
        }
        if (copies_after > 0) policy.discard_samples(rng_, copies_after);
      }
      buffer.observations.middleCols(t * n, n) = observations_;
      buffer.actions.middleCols(t * n, n) = step_actions_;
      buffer.log_probs.segment(t * n, n) = step_log_probs_;
      if (buffer.dropout_masks.size() > 0) buffer.dropout_masks.middleCols(t * n, n) = policy.acting_dropout_masks();
      if (t + 1 - values_from == steps_per_block) compute_values_until(t + 1);

      const Stopwatch env_clock;
      env_.step(to_env_actions(policy, step_actions_));
      env_seconds_ += env_clock.seconds();
      steps_ += n;
      buffer.rewards.col(t) = env_.rewards().transpose();
      buffer.terminated.col(t) = env_.terminated().transpose();
      buffer.truncated.col(t) = env_.truncated().transpose();
      const bool any_cut = (env_.truncated() && !env_.terminated()).any();
      if (any_cut && policy.has_critic()) {
        predict_values(policy, env_.final_observations(), final_values_);
        buffer.final_values.col(t) = final_values_.transpose();
      } else {
        buffer.final_values.col(t).setZero();
      }
      if constexpr (recurrent) policy.reset_state(hidden_, env_.terminated() || env_.truncated());
      for (const auto& episode : env_.finished_episodes()) {
        if (share_.gather_episodes)
          pending_.push_back({t, share_.first_copy + episode.env_index, static_cast<double>(episode.episode_return),
                              episode.length});
        else
          episodes_.add(static_cast<double>(episode.episode_return), episode.length);
      }
      observations_ = env_.observations();
      if (one_episode && (env_.terminated()[0] || env_.truncated()[0])) {
        ++t;
        break;
      }
    }
    compute_values_until(t);
    join_values(workers);
    predict_values(policy, observations_, step_values_);
    buffer.last_values = step_values_.transpose();
    buffer.length = t;
    return t;
  }

 private:
  // V(s) of a block of stored observations into its place in the rollout (compute_values has
  // buffers of its own, so it may run on a worker while this thread acts).
  struct ValueJob {
    const Policy* policy = nullptr;
    const S* observations = nullptr;
    Index rows = 0, cols = 0;
    S* values = nullptr;
    void operator()() const {
      policy->compute_values(Eigen::Map<const Matrix<S>>(observations, rows, cols),
                             Eigen::Map<RowVector<S>>(values, cols));
    }
  };
  // Waits for a background value block, also when the collect loop ends by an exception (which
  // then takes precedence over one from the values).
  struct JoinOnExit {
    RolloutCollector& collector;
    ThreadPool* workers;
    ~JoinOnExit() {
      try {
        collector.join_values(workers);
      } catch (...) {
      }
    }
  };
  void join_values(ThreadPool* workers) {
    if (workers != nullptr) workers->join();
  }

  // V(s) of the copies' next observations (from their current states, for a recurrent policy).
  void predict_values(const Policy& policy, const Matrix<S>& observations, RowVector<S>& values) const {
    if constexpr (recurrent)
      policy.predict_values(observations, hidden_, values);
    else
      policy.predict_values(observations, values);
  }

  const Actions& to_env_actions(const Policy& policy, const Actions& actions) {
    if constexpr (Policy::discrete) {
      return actions;
    } else {
      box_env_actions(policy.box_distribution(), actions, action_low_, action_high_, env_actions_);
      return env_actions_;
    }
  }

  /// Steps per value block: about 32 samples, large enough to be worth a hand-off and small
  /// enough that the last block, which the rollout waits for, is short; a divisor of the
  /// rollout length, so that every block has the same size and reuses its buffers.
  static Index steps_per_value_block(Index steps, Index envs) {
    Index block = std::clamp<Index>(32 / envs, 1, steps);
    while (steps % block != 0) --block;
    return block;
  }

  envs::VectorEnv<Env> env_;
  Rng rng_;
  Matrix<S> observations_, hidden_;
  Actions step_actions_, env_actions_;
  RowVector<S> step_log_probs_, step_values_, final_values_;
  Vector<S> action_low_, action_high_;
  ValueJob values_;
  CopyShare share_;
  std::vector<FinishedEpisode> pending_;
  EpisodeLog episodes_;
  long long steps_ = 0;
  double env_seconds_ = 0;
};

}  // namespace pgrad::algo
