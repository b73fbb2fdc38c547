#pragma once
// pgrad::envs::VectorEnv: N environment copies stepped together into one obs_dim x N batch.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/detail/worker_pool.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>


namespace pgrad::envs {

/// N copies of an environment stepped together, with same-step auto-reset (Stable-Baselines3's
/// VecEnv convention):
///
/// - observations() is obs_dim x N: column i is copy i's next observation, which is the first
///   observation of a new episode where copy i's episode just ended;
/// - final_observations() column i is the observation the step produced before any reset (the
///   final observation of the finished episode, for the time-limit bootstrap V(s_T)); where no
///   episode ended it equals observations();
/// - rewards(), terminated(), truncated() are 1 x N, for the step just taken;
/// - finished_episodes() lists the episodes that ended in this step, in copy order.
///
/// Copy i draws its resets from its own stream Rng(seed, i), and copies are partitioned
/// statically across a persistent pool of `num_threads` threads (the caller's included), so the
/// batches are bit-identical for a given seed whatever the number of threads. Buffers are sized
/// once: stepping allocates nothing (for fixed-size Observation and Action types).
///
/// An exception thrown by a copy (on any thread) reaches the caller of step() or reset() as the
/// same object; the copies are then in an unspecified state and step() refuses to run until
/// reset(). NaN/Inf rewards or observations, and action batches of the wrong size, throw
/// pgrad::Error naming the copy.
template <class Env>
class VectorEnv {
  static_assert(require_env<Env>());

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;
  static constexpr bool discrete_actions = has_discrete_actions_v<Env>;
  /// One action per copy: a 1 x N row of indices (Discrete) or an act_dim x N matrix (Box).
  using Actions = std::conditional_t<discrete_actions, IndexRowVector, Matrix<Scalar>>;

  /// Steps the given copies; copy i resets from Rng(seed, i).
  VectorEnv(std::vector<Env> copies, std::uint64_t seed, int num_threads = 1)
      : envs_(std::move(copies)), seed_(seed) {
    initialise(num_threads);
  }
  /// `num_envs` copies of `prototype`.
  VectorEnv(Index num_envs, const Env& prototype, std::uint64_t seed, int num_threads = 1)
      : envs_(make_copies(num_envs, prototype)), seed_(seed) {
    initialise(num_threads);
  }

  Index num_envs() const { return static_cast<Index>(envs_.size()); }
  Index observation_size() const { return obs_dim_; }
  /// Box actions: the action dimension; Discrete: 1.
  Index action_size() const { return act_dim_; }
  int num_threads() const { return pool_->size(); }
  std::uint64_t seed() const { return seed_; }

  auto observation_space() const { return envs_[0].observation_space(); }
  auto action_space() const { return envs_[0].action_space(); }

  /// Resets every copy (copy i continues its stream, which starts as Rng(seed, i)); returns the
  /// obs_dim x N first observations.
  const Matrix<Scalar>& reset() {
    auto task = [this](int t) { guarded(t, [&](Index i) { reset_copy(i); }); };
    dispatch(task);
    rewards_.setZero();
    terminated_.setConstant(false);
    truncated_.setConstant(false);
    final_obs_ = obs_;
    finished_.clear();
    ready_ = true;
    return obs_;
  }
  /// Restarts every copy's stream as Rng(seed, i), then reset().
  const Matrix<Scalar>& reset(std::uint64_t seed) {
    seed_ = seed;
    for (Index i = 0; i < num_envs(); ++i) rngs_[static_cast<std::size_t>(i)].reseed(seed, static_cast<std::uint64_t>(i));
    return reset();
  }

  /// Steps every copy with its column of `actions`; auto-resets the copies whose episode ended.
  void step(const Actions& actions) {
    PGRAD_REQUIRE(ready_, "VectorEnv::step: call reset() first (or again after an exception)");
    validate(actions);
    actions_ = &actions;
    auto task = [this](int t) { guarded(t, [&](Index i) { step_copy(i); }); };
    dispatch(task);
    actions_ = nullptr;
    finished_.clear();
    for (std::size_t i = 0; i < envs_.size(); ++i)
      if (ended_[i]) finished_.push_back(episodes_[i]);
  }

  const Matrix<Scalar>& observations() const { return obs_; }
  const RowVector<Scalar>& rewards() const { return rewards_; }
  const BoolRowVector& terminated() const { return terminated_; }
  const BoolRowVector& truncated() const { return truncated_; }
  const Matrix<Scalar>& final_observations() const { return final_obs_; }
  /// Episodes that ended in the last step: {copy index, return, length}. The return is the sum of
  /// the rewards the copy reported, or, when the copy's Env wraps a RecordEpisodeStatistics, that
  /// recorder's figures (raw rewards even under NormalizeReward).
  const std::vector<Episode<Scalar>>& finished_episodes() const { return finished_; }

  /// Copy i (to read a wrapper's statistics, or set a state between steps).
  Env& env(Index i) {
    PGRAD_REQUIRE(i >= 0 && i < num_envs(), "VectorEnv::env: index ", i, " is outside [0, ", num_envs(), ")");
    return envs_[static_cast<std::size_t>(i)];
  }
  const Env& env(Index i) const {
    PGRAD_REQUIRE(i >= 0 && i < num_envs(), "VectorEnv::env: index ", i, " is outside [0, ", num_envs(), ")");
    return envs_[static_cast<std::size_t>(i)];
  }

  /// Checkpoints: the seed, every copy's Rng and environment state (through the Env's
  /// save_state; pgrad::Error naming the type if it has none), the observation, reward and flag
  /// buffers and the per-copy episode counters, so stepping continues exactly.
  void save_state(Writer& w) const {
    w.section("VectorEnv");
    w.i64(num_envs());
    w.u64(seed_);
    for (std::size_t i = 0; i < envs_.size(); ++i) {
      w.rng(rngs_[i]);
      save_state_of(w, envs_[i]);
      w.f64(returns_[i]);
      w.i64(lengths_[i]);
      w.u64(recorder_counts_[i]);
    }
    w.matrix(obs_);
    w.matrix(final_obs_);
    w.matrix(rewards_);
    w.matrix(terminated_);
    w.matrix(truncated_);
    w.boolean(ready_);
  }
  void load_state(Reader& r) {
    r.section("VectorEnv");
    const auto n = r.i64();
    PGRAD_REQUIRE(n == num_envs(), "VectorEnv::load_state: number of environments differs: file has ", n,
                  ", vector environment has ", num_envs());
    seed_ = r.u64();
    for (std::size_t i = 0; i < envs_.size(); ++i) {
      r.rng(rngs_[i]);
      load_state_of(r, envs_[i]);
      returns_[i] = r.f64();
      lengths_[i] = static_cast<Index>(r.i64());
      recorder_counts_[i] = r.u64();
    }
    r.matrix(obs_, "VectorEnv observations", obs_dim_, num_envs());
    r.matrix(final_obs_, "VectorEnv final observations", obs_dim_, num_envs());
    r.matrix(rewards_, "VectorEnv rewards", 1, num_envs());
    r.matrix(terminated_, "VectorEnv terminated", 1, num_envs());
    r.matrix(truncated_, "VectorEnv truncated", 1, num_envs());
    ready_ = r.boolean();
    finished_.clear();
    std::fill(ended_.begin(), ended_.end(), 0);
  }

 private:
  static std::vector<Env> make_copies(Index num_envs, const Env& prototype) {
    PGRAD_REQUIRE(num_envs > 0, "VectorEnv: num_envs must be positive, got ", num_envs);
    return std::vector<Env>(static_cast<std::size_t>(num_envs), prototype);
  }

  template <class Space>
  static Index space_size(const Space& space) {
    if constexpr (std::is_same_v<std::decay_t<Space>, Discrete>)
      return 1;
    else
      return space.size();
  }

  void initialise(int num_threads) {
    PGRAD_REQUIRE(!envs_.empty(), "VectorEnv: no environment copies given");
    PGRAD_REQUIRE(num_threads >= 1, "VectorEnv: num_threads must be >= 1, got ", num_threads);
    const Index n = num_envs();
    obs_dim_ = envs_[0].observation_space().size();
    act_dim_ = space_size(envs_[0].action_space());
    if constexpr (discrete_actions) num_actions_ = envs_[0].action_space().n;
    for (Index i = 1; i < n; ++i) {
      const Env& e = envs_[static_cast<std::size_t>(i)];
      PGRAD_REQUIRE(e.observation_space().size() == obs_dim_, "VectorEnv: copy ", i,
                    " has observation size ", e.observation_space().size(), ", copy 0 has ", obs_dim_);
      PGRAD_REQUIRE(space_size(e.action_space()) == act_dim_, "VectorEnv: copy ", i,
                    " has action size ", space_size(e.action_space()), ", copy 0 has ", act_dim_);
      if constexpr (discrete_actions)
        PGRAD_REQUIRE(e.action_space().n == num_actions_, "VectorEnv: copy ", i, " has ",
                      e.action_space().n, " actions, copy 0 has ", num_actions_);
    }
    if constexpr (!discrete_actions) {
      if constexpr (Action::RowsAtCompileTime != Eigen::Dynamic)
        PGRAD_REQUIRE(act_dim_ == static_cast<Index>(Action::RowsAtCompileTime),
                      "VectorEnv: the action space has ", act_dim_, " dimensions, Action holds ",
                      static_cast<Index>(Action::RowsAtCompileTime));
      action_buffers_.assign(envs_.size(), Action::Zero(act_dim_));
    }
    const auto count = envs_.size();
    rngs_.clear();
    rngs_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) rngs_.emplace_back(seed_, static_cast<std::uint64_t>(i));
    obs_ = Matrix<Scalar>::Zero(obs_dim_, n);
    final_obs_ = obs_;
    rewards_ = RowVector<Scalar>::Zero(n);
    terminated_ = BoolRowVector::Constant(n, false);
    truncated_ = BoolRowVector::Constant(n, false);
    returns_.assign(count, 0.0);
    lengths_.assign(count, 0);
    ended_.assign(count, 0);
    episodes_.assign(count, Episode<Scalar>{});
    recorder_counts_.assign(count, 0);
    finished_.reserve(count);
    const int threads = static_cast<int>(std::min<Index>(num_threads, n));
    pool_ = std::make_unique<pgrad::detail::WorkerPool>(threads);
    errors_.assign(static_cast<std::size_t>(threads), nullptr);
  }

  Index begin_of(int t) const { return num_envs() * t / pool_->size(); }

  // Runs body(i) for the copies of partition t, storing the first exception of the partition.
  template <class Body>
  void guarded(int t, const Body& body) noexcept {
    try {
      for (Index i = begin_of(t), end = begin_of(t + 1); i < end; ++i) body(i);
    } catch (...) {
      errors_[static_cast<std::size_t>(t)] = std::current_exception();
    }
  }

  // Runs the task on every partition and rethrows the first error (lowest copy index first, as
  // a single-threaded run would).
  template <class Task>
  void dispatch(Task& task) {
    pool_->run(task);
    for (auto& error : errors_) {
      if (!error) continue;
      std::exception_ptr first = error;
      for (auto& e : errors_) e = nullptr;
      ready_ = false;
      std::rethrow_exception(first);
    }
  }

  void validate(const Actions& actions) {
    const Index n = num_envs();
    if constexpr (discrete_actions) {
      PGRAD_REQUIRE(actions.cols() == n, "VectorEnv::step: expected 1x", n, " actions, got ",
                    actions.rows(), "x", actions.cols());
      for (Index i = 0; i < n; ++i)
        PGRAD_REQUIRE(actions[i] >= 0 && actions[i] < num_actions_, "VectorEnv::step: action ",
                      actions[i], " for copy ", i, " is outside Discrete(", num_actions_, ")");
    } else {
      PGRAD_REQUIRE(actions.rows() == act_dim_ && actions.cols() == n, "VectorEnv::step: expected ",
                    act_dim_, "x", n, " actions, got ", actions.rows(), "x", actions.cols());
      if constexpr (checks_enabled()) {
        if (!actions.allFinite())
          for (Index i = 0; i < n; ++i)
            PGRAD_REQUIRE(actions.col(i).allFinite(), "VectorEnv::step: non-finite action for copy ",
                          i, " (", actions.col(i).transpose(), ")");
      }
    }
  }

  template <class Obs>
  void check_observation(const Obs& observation, Index i, const char* where) const {
    PGRAD_REQUIRE(observation.size() == obs_dim_, "VectorEnv::", where, ": copy ", i,
                  " returned an observation of size ", observation.size(), ", expected ", obs_dim_);
    if constexpr (checks_enabled())
      PGRAD_REQUIRE(observation.allFinite(), "VectorEnv::", where, ": copy ", i,
                    " returned a non-finite observation (", observation.transpose(), ")");
  }

  // Column i of `batch` = observation. A fixed-size Observation goes through a fixed-size block
  // (no dynamic loop over a small fixed object, which GCC 12 flags under AVX-512).
  template <class Obs>
  static void store(Matrix<Scalar>& batch, Index i, const Obs& observation) {
    constexpr int rows = Obs::RowsAtCompileTime;
    if constexpr (rows != Eigen::Dynamic)
      batch.col(i).template head<rows>() = observation.template cast<Scalar>();
    else
      batch.col(i) = observation.template cast<Scalar>();
  }

  PGRAD_NOINLINE void reset_copy(Index i) {
    const auto k = static_cast<std::size_t>(i);
    const auto observation = envs_[k].reset(rngs_[k]);
    check_observation(observation, i, "reset");
    store(obs_, i, observation);
    returns_[k] = 0.0;
    lengths_[k] = 0;
    ended_[k] = 0;
    if constexpr (has_episode_recorder<Env>()) recorder_counts_[k] = episode_recorder(envs_[k]).episode_count();
  }

  PGRAD_NOINLINE void step_copy(Index i) {
    const auto k = static_cast<std::size_t>(i);
    Env& env = envs_[k];
    auto result = [&] {
      if constexpr (discrete_actions) {
        return env.step(static_cast<Action>((*actions_)[i]));
      } else {
        action_buffers_[k] = actions_->col(i);
        return env.step(action_buffers_[k]);
      }
    }();
    check_observation(result.observation, i, "step");
    const auto reward = static_cast<Scalar>(result.reward);
    if constexpr (checks_enabled())
      PGRAD_REQUIRE(std::isfinite(reward), "VectorEnv::step: copy ", i, " returned a non-finite reward ",
                    reward);
    rewards_[i] = reward;
    terminated_[i] = result.terminated;
    truncated_[i] = result.truncated;
    store(final_obs_, i, result.observation);
    returns_[k] += static_cast<double>(reward);
    ++lengths_[k];
    ended_[k] = result.terminated || result.truncated;
    if (!ended_[k]) {
      obs_.col(i) = final_obs_.col(i);
      return;
    }
    Episode<Scalar>& episode = episodes_[k];
    episode.env_index = i;
    episode.episode_return = static_cast<Scalar>(returns_[k]);
    episode.length = lengths_[k];
    if constexpr (has_episode_recorder<Env>()) {
      const auto& recorder = episode_recorder(env);
      if (recorder.episode_count() != recorder_counts_[k]) {
        episode.episode_return = static_cast<Scalar>(recorder.last_episode().episode_return);
        episode.length = recorder.last_episode().length;
      }
    }
    const auto observation = env.reset(rngs_[k]);
    check_observation(observation, i, "step (auto-reset)");
    store(obs_, i, observation);
    returns_[k] = 0.0;
    lengths_[k] = 0;
    if constexpr (has_episode_recorder<Env>()) recorder_counts_[k] = episode_recorder(env).episode_count();
  }

  std::vector<Env> envs_;
  std::uint64_t seed_;
  std::vector<Rng> rngs_;
  Index obs_dim_ = 0, act_dim_ = 0, num_actions_ = 0;
  std::vector<Action> action_buffers_;
  const Actions* actions_ = nullptr;
  Matrix<Scalar> obs_, final_obs_;
  RowVector<Scalar> rewards_;
  BoolRowVector terminated_, truncated_;
  std::vector<double> returns_;
  std::vector<Index> lengths_;
  std::vector<unsigned char> ended_;  // not vector<bool>: copies write it from different threads
  std::vector<Episode<Scalar>> episodes_, finished_;
  std::vector<std::uint64_t> recorder_counts_;
  std::unique_ptr<pgrad::detail::WorkerPool> pool_;
  std::vector<std::exception_ptr> errors_;
  bool ready_ = false;
};

}  // namespace pgrad::envs
