#pragma once
// pgrad::envs::VectorEnv: N environment copies stepped together into one obs_dim x N batch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>


namespace pgrad::envs {

/// How a VectorEnv uses its pool: `automatic` (the default) times the first steps on the calling
/// thread and spreads the copies over the workers from then on if one step of all of them took
/// at least VectorEnv::parallel_threshold; `always` and `never` decide without timing (tests,
/// benchmarks). Results are the same bits either way. The copies are stepped on the calling
/// thread while a background task holds the pool.
enum class ParallelStepping { automatic, always, never };

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
/// Copy i draws its resets from its own stream, stream_rng(seed, Stream::environment, i).
/// The copies are stepped on the calling thread, or split statically over the workers of a
/// ThreadPool (its own, or one lent by an algorithm) when stepping them takes long enough to
/// pay for the hand-off (see ParallelStepping); the batches are bit-identical for a given seed
/// whatever the number of threads. Buffers are sized once: stepping allocates nothing (for
/// fixed-size Observation and Action types).
///
/// An exception thrown by a copy (on any thread) reaches the caller of step() or reset() as the
/// same object (the lowest copy's, when several throw); the copies are then in an unspecified
/// state and step() refuses to run until reset(). NaN/Inf rewards or observations, and action
/// batches of the wrong size, throw pgrad::Error naming the copy.
template <class Env>
class VectorEnv {
  static_assert(require_env<Env>());

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;
  static constexpr bool discrete_actions = has_discrete_actions_v<Env>;
  static constexpr bool multi_discrete_actions = has_multi_discrete_actions_v<Env>;
  /// One action per copy: a 1 x N row of indices (Discrete), a K x N matrix of indices
  /// (MultiDiscrete) or an act_dim x N matrix (Box).
  using Actions = std::conditional_t<discrete_actions, IndexRowVector,
                                     std::conditional_t<multi_discrete_actions, Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic>,
                                                        Matrix<Scalar>>>;

  /// The given copies, stepped by a pool of `num_threads` threads of its own.
  VectorEnv(std::vector<Env> copies, std::uint64_t seed, int num_threads = 1) : envs_(std::move(copies)) {
    PGRAD_REQUIRE(!envs_.empty(), "VectorEnv: no environment copies given");
    PGRAD_REQUIRE(num_threads >= 1, "VectorEnv: num_threads must be >= 1, got ", num_threads);
    own_pool_ = std::make_unique<ThreadPool>(static_cast<int>(std::min<Index>(num_threads, num_copies())));
    pool_ = own_pool_.get();
    initialise(seed);
  }
  /// `num_envs` copies of `prototype`, stepped by a pool of `num_threads` threads of its own.
  VectorEnv(Index num_envs, const Env& prototype, std::uint64_t seed, int num_threads = 1)
      : VectorEnv(make_copies(num_envs, prototype), seed, num_threads) {}
  /// `num_envs` copies of `prototype` taking their streams (Stream::environment, first_copy + i)
  /// from a training run's `streams` and stepped by the run's `workers` (which must outlive this
  /// object). first_copy numbers the copies across processes (MPI ranks).
  VectorEnv(Index num_envs, const Env& prototype, RandomStreams& streams, ThreadPool& workers,
            Index first_copy = 0)
      : envs_(make_copies(num_envs, prototype)), pool_(&workers), first_copy_(first_copy) {
    PGRAD_REQUIRE(first_copy >= 0, "VectorEnv: first_copy must be >= 0, got ", first_copy);
    initialise(streams.seed());
    for (Index i = 0; i < num_copies(); ++i) rngs_[static_cast<std::size_t>(i)] = streams.take(Stream::environment, stream_index(i));
  }

  Index num_envs() const { return num_copies(); }
  Index observation_size() const { return obs_dim_; }
  /// Box actions: the action dimension; Discrete: 1.
  Index action_size() const { return act_dim_; }
  /// The threads step() may use.
  int num_threads() const { return pool_->size(); }
  std::uint64_t seed() const { return seed_; }

  /// How step() and reset() use the pool (see ParallelStepping).
  void set_parallel_stepping(ParallelStepping mode) {
    mode_ = mode;
    parallel_ = mode == ParallelStepping::always && pool_->size() > 1;
    timed_steps_ = 0;
    fastest_step_ = 1e30;
  }
  /// Whether step() may be called: after reset() and after every step() that threw nothing.
  bool ready() const { return ready_; }
  /// Whether the next step() spreads the copies over the workers.
  bool steps_in_parallel() const { return parallel_; }
  /// Below this time for one step of all copies, `automatic` keeps stepping on the calling thread
  /// (a hand-off to the workers and back costs about a microsecond; cheap environments such as
  /// CartPole leave the second thread to the policy instead).
  static constexpr double parallel_threshold = 20e-6;

  auto observation_space() const { return envs_[0].observation_space(); }
  auto action_space() const { return envs_[0].action_space(); }

  /// Resets every copy (copy i continues its stream); returns the obs_dim x N first observations.
  const Matrix<Scalar>& reset() {
    ready_ = false;
    for_each_copy([this](Index i) { reset_copy(i); });
    rewards_.setZero();
    terminated_.setConstant(false);
    truncated_.setConstant(false);
    final_obs_ = obs_;
    finished_.clear();
    ready_ = true;
    return obs_;
  }
  /// Restarts copy i's stream as stream_rng(seed, Stream::environment, i), then reset().
  const Matrix<Scalar>& reset(std::uint64_t seed) {
    seed_ = seed;
    for (Index i = 0; i < num_copies(); ++i)
      rngs_[static_cast<std::size_t>(i)] = stream_rng(seed, Stream::environment, stream_index(i));
    return reset();
  }

  /// Steps every copy with its column of `actions`; auto-resets the copies whose episode ended.
  void step(const Actions& actions) {
    PGRAD_REQUIRE(ready_, "VectorEnv::step: call reset() first (or again after an exception)");
    validate(actions);
    actions_ = &actions;
    ready_ = false;  // until every copy has stepped without an exception
    const bool timed = mode_ == ParallelStepping::automatic && timed_steps_ < timed_step_count;
    const auto start = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    for_each_copy([this](Index i) { step_copy(i); });
    if (timed) record_step_time(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    ready_ = true;
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
  /// The copies' action masks for their current observations (num_actions x N, true = allowed)
  /// when Env has action_mask() (envs::has_action_mask_v); empty otherwise. Each copy's mask is
  /// read after its reset and its step (after the auto-reset), and checked: n flags, at least
  /// one allowed (pgrad::Error naming the copy).
  const BoolMatrix& action_masks() const { return masks_; }
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
    PGRAD_REQUIRE(n == num_envs(), r.source(), ": VectorEnv number of environments differs: file has ", n,
                  ", vector environment has ", num_envs());
    seed_ = r.u64();
    for (std::size_t i = 0; i < envs_.size(); ++i) {
      r.rng(rngs_[i], "VectorEnv copy");
      load_state_of(r, envs_[i]);
      returns_[i] = r.finite<double>("VectorEnv episode return");
      lengths_[i] = static_cast<Index>(r.i64_in("VectorEnv episode length", 0, max_saved_counter));
      recorder_counts_[i] = r.u64();
      // The episodes the copy's recorder had finished when the copy last reset: never more than now.
      std::uint64_t recorded = 0;
      if constexpr (has_episode_recorder<Env>()) recorded = episode_recorder(envs_[i]).episode_count();
      PGRAD_REQUIRE(recorder_counts_[i] <= recorded, r.source(), ": corrupt VectorEnv episode count of copy ", i,
                    ": ", recorder_counts_[i], ", its recorder has only ", recorded);
    }
    r.matrix(obs_, "VectorEnv observations", obs_dim_, num_envs());
    r.matrix(final_obs_, "VectorEnv final observations", obs_dim_, num_envs());
    r.matrix(rewards_, "VectorEnv rewards", 1, num_envs());
    r.matrix(terminated_, "VectorEnv terminated", 1, num_envs());
    r.matrix(truncated_, "VectorEnv truncated", 1, num_envs());
    ready_ = r.boolean();
    // Between steps every copy's episode is under way: one that ended was reset in its step.
    for (Index i = 0; ready_ && i < num_envs(); ++i)
      PGRAD_REQUIRE(episode_running_of(envs_[static_cast<std::size_t>(i)]), r.source(),
                    ": corrupt VectorEnv: the episode of copy ", i, " has ended but the copy was not reset");
    finished_.clear();
    std::fill(ended_.begin(), ended_.end(), 0);
    if constexpr (has_masks)  // a mask is a function of the copy's state
      for (Index i = 0; i < num_envs(); ++i) read_mask(i, "load_state");
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

  Index num_copies() const { return static_cast<Index>(envs_.size()); }
  static constexpr bool has_masks = has_action_mask_v<Env>;

  // Copy i's action mask into column i of masks_, checked.
  void read_mask(Index i, const char* where) {
    if constexpr (has_masks) {
      const auto& mask = envs_[static_cast<std::size_t>(i)].action_mask();
      PGRAD_REQUIRE(static_cast<Index>(mask.size()) == num_actions_, "VectorEnv::", where, ": copy ", i,
                    " returned an action mask of ", static_cast<Index>(mask.size()), " flags for ", num_actions_,
                    " actions");
      for (Index k = 0; k < num_actions_; ++k) masks_(k, i) = static_cast<bool>(mask[k]);
      if constexpr (multi_discrete_actions) {
        Index offset = 0;
        for (std::size_t c = 0; c < nvec_.size(); ++c) {
          PGRAD_REQUIRE(masks_.col(i).segment(offset, nvec_[c]).any(), "VectorEnv::", where, ": copy ", i,
                        "'s action mask forbids every action of component ", c);
          offset += nvec_[c];
        }
      } else {
        PGRAD_REQUIRE(masks_.col(i).any(), "VectorEnv::", where, ": copy ", i, "'s action mask forbids every action");
      }
    }
  }
  std::uint64_t stream_index(Index i) const { return static_cast<std::uint64_t>(first_copy_ + i); }

  void initialise(std::uint64_t seed) {
    const Index n = num_copies();
    seed_ = seed;
    obs_dim_ = envs_[0].observation_space().size();
    act_dim_ = space_size(envs_[0].action_space());
    if constexpr (discrete_actions) num_actions_ = envs_[0].action_space().n;
    if constexpr (multi_discrete_actions) {
      nvec_ = envs_[0].action_space().nvec;
      num_actions_ = envs_[0].action_space().total();
    }
    for (Index i = 1; i < n; ++i) {
      const Env& e = envs_[static_cast<std::size_t>(i)];
      PGRAD_REQUIRE(e.observation_space().size() == obs_dim_, "VectorEnv: copy ", i,
                    " has observation size ", e.observation_space().size(), ", copy 0 has ", obs_dim_);
      PGRAD_REQUIRE(space_size(e.action_space()) == act_dim_, "VectorEnv: copy ", i,
                    " has action size ", space_size(e.action_space()), ", copy 0 has ", act_dim_);
      if constexpr (discrete_actions)
        PGRAD_REQUIRE(e.action_space().n == num_actions_, "VectorEnv: copy ", i, " has ",
                      e.action_space().n, " actions, copy 0 has ", num_actions_);
      if constexpr (multi_discrete_actions)
        PGRAD_REQUIRE(e.action_space().nvec == nvec_, "VectorEnv: copy ", i,
                      "'s MultiDiscrete space differs from copy 0's");
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
    for (Index i = 0; i < n; ++i) rngs_.push_back(stream_rng(seed, Stream::environment, stream_index(i)));
    obs_ = Matrix<Scalar>::Zero(obs_dim_, n);
    final_obs_ = obs_;
    if constexpr (has_masks) {
      static_assert(discrete_actions || multi_discrete_actions,
                    "VectorEnv: action_mask() is for Discrete and MultiDiscrete action spaces");
      masks_.setConstant(num_actions_, n, true);
    }
    rewards_ = RowVector<Scalar>::Zero(n);
    terminated_ = BoolRowVector::Constant(n, false);
    truncated_ = BoolRowVector::Constant(n, false);
    returns_.assign(count, 0.0);
    lengths_.assign(count, 0);
    ended_.assign(count, 0);
    episodes_.assign(count, Episode<Scalar>{});
    recorder_counts_.assign(count, 0);
    finished_.reserve(count);
    set_parallel_stepping(ParallelStepping::automatic);
  }

  // Calls body(i) for every copy: on the calling thread in copy order, or on the pool's threads,
  // thread t taking the copies [n t / T, n (t + 1) / T). An exception stops the thread that met
  // it; the lowest copy's reaches the caller, as in the sequential order.
  template <class Body>
  void for_each_copy(const Body& body) {
    const Index n = num_copies();
    if (!parallel_ || pool_->busy()) {
      for (Index i = 0; i < n; ++i) body(i);
      return;
    }
    const Index threads = pool_->size();
    auto task = [&](int t) {
      for (Index i = n * t / threads, end = n * (t + 1) / threads; i < end; ++i) body(i);
    };
    pool_->run(task);
  }

  // `automatic` stepping: the fastest of the first timed steps decides.
  static constexpr int timed_step_count = 8;
  void record_step_time(double seconds) {
    fastest_step_ = std::min(fastest_step_, seconds);
    if (++timed_steps_ == timed_step_count)
      parallel_ = pool_->size() > 1 && num_copies() > 1 && fastest_step_ >= parallel_threshold;
  }

  void validate(const Actions& actions) {
    const Index n = num_envs();
    if constexpr (discrete_actions) {
      PGRAD_REQUIRE(actions.cols() == n, "VectorEnv::step: expected 1x", n, " actions, got ",
                    actions.rows(), "x", actions.cols());
      for (Index i = 0; i < n; ++i) {
        PGRAD_REQUIRE(actions[i] >= 0 && actions[i] < num_actions_, "VectorEnv::step: action ",
                      actions[i], " for copy ", i, " is outside Discrete(", num_actions_, ")");
        if constexpr (has_masks)
          PGRAD_REQUIRE(masks_(actions[i], i), "VectorEnv::step: action ", actions[i], " for copy ", i,
                        " is forbidden by its action mask");
      }
    } else if constexpr (multi_discrete_actions) {
      PGRAD_REQUIRE(actions.rows() == act_dim_ && actions.cols() == n, "VectorEnv::step: expected ",
                    act_dim_, "x", n, " actions, got ", actions.rows(), "x", actions.cols());
      for (Index i = 0; i < n; ++i) {
        Index offset = 0;
        for (Index k = 0; k < act_dim_; ++k) {
          const Index choices = nvec_[static_cast<std::size_t>(k)], a = actions(k, i);
          PGRAD_REQUIRE(a >= 0 && a < choices, "VectorEnv::step: action ", a, " of component ", k, " for copy ", i,
                        " is outside {0, ..., ", choices - 1, "}");
          if constexpr (has_masks)
            PGRAD_REQUIRE(masks_(offset + a, i), "VectorEnv::step: action ", a, " of component ", k, " for copy ",
                          i, " is forbidden by its action mask");
          offset += choices;
        }
      }
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
    read_mask(i, "reset");
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
      read_mask(i, "step");
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
    read_mask(i, "step (auto-reset)");
    returns_[k] = 0.0;
    lengths_[k] = 0;
    if constexpr (has_episode_recorder<Env>()) recorder_counts_[k] = episode_recorder(env).episode_count();
  }

  std::vector<Env> envs_;
  std::uint64_t seed_ = 0;
  std::vector<Rng> rngs_;
  Index obs_dim_ = 0, act_dim_ = 0, num_actions_ = 0;
  std::vector<Action> action_buffers_;
  const Actions* actions_ = nullptr;
  Matrix<Scalar> obs_, final_obs_;
  BoolMatrix masks_;  // num_actions x N with action masks, else empty
  std::vector<Index> nvec_;  // MultiDiscrete: the component sizes
  RowVector<Scalar> rewards_;
  BoolRowVector terminated_, truncated_;
  std::vector<double> returns_;
  std::vector<Index> lengths_;
  std::vector<unsigned char> ended_;  // not vector<bool>: copies write it from different threads
  std::vector<Episode<Scalar>> episodes_, finished_;
  std::vector<std::uint64_t> recorder_counts_;
  std::unique_ptr<ThreadPool> own_pool_;  // when not lent one
  ThreadPool* pool_ = nullptr;
  Index first_copy_ = 0;
  ParallelStepping mode_ = ParallelStepping::automatic;
  bool parallel_ = false;
  int timed_steps_ = 0;
  double fastest_step_ = 1e30;
  bool ready_ = false;
};

}  // namespace pgrad::envs
