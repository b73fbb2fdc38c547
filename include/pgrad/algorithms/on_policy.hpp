#pragma once
// The collect loop shared by REINFORCE, A2C and PPO, and what they report after each update.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/schedule.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/returns/gae.hpp>

namespace pgrad::algo {

/// Statistics of one loss evaluation (minibatch or whole batch).
struct LossStats {
  double loss = 0, policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;

  /// Sets `loss` = policy_loss - ent_coef·entropy + vf_coef·value_loss, the form all three share.
  void combine(double ent_coef, double vf_coef) { loss = policy_loss - ent_coef * entropy + vf_coef * value_loss; }
};

/// What an algorithm reports after each update (CleanRL's metric names in brackets).
struct UpdateReport {
  long long iteration = 0;
  long long steps = 0;               ///< environment steps so far (all copies)
  long long episodes = 0;            ///< episodes finished so far
  double mean_return = 0;            ///< mean return of the last 100 finished episodes [charts/episodic_return]
  double mean_length = 0;            ///< their mean length [charts/episodic_length]
  double steps_per_second = 0;       ///< [charts/SPS]
  double seconds = 0;                ///< wall time since learn() started
  double env_seconds = 0;            ///< of which stepping the environments (VectorEnv::step)
  double learning_rate = 0;          ///< [charts/learning_rate]
  double policy_loss = 0;            ///< [losses/policy_loss]
  double value_loss = 0;             ///< [losses/value_loss]
  double entropy = 0;                ///< [losses/entropy]
  double approx_kl = 0;              ///< PPO: mean((r - 1) - log r) [losses/approx_kl]
  double clip_fraction = 0;          ///< PPO: fraction with |r - 1| > clip [losses/clipfrac]
  double explained_variance = 0;     ///< 1 - Var(R - V) / Var(R) over the rollout [losses/explained_variance]
  double grad_norm = 0;              ///< global gradient norm before clipping (last minibatch)

  /// Copies the loss terms of the last loss evaluation.
  void set_losses(const LossStats& stats) {
    policy_loss = stats.policy_loss;
    value_loss = stats.value_loss;
    entropy = stats.entropy;
  }
};

/// Called after every update; return false to stop training (e.g. a reward threshold reached).
using UpdateCallback = std::function<bool(const UpdateReport&)>;

/// Returns and lengths of the most recent finished episodes (a ring of `capacity`).
class EpisodeLog {
 public:
  explicit EpisodeLog(std::size_t capacity = 100) : returns_(capacity, 0.0), lengths_(capacity, 0) {}

  void add(double episode_return, Index length) {
    returns_[next_] = episode_return;
    lengths_[next_] = length;
    next_ = (next_ + 1) % returns_.size();
    ++count_;
  }
  long long count() const { return count_; }
  double mean_return() const { return mean(returns_); }
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
  void load_state(Reader& r) {
    r.section("EpisodeLog");
    const auto capacity = r.u64();
    PGRAD_REQUIRE(capacity == returns_.size(), "EpisodeLog::load_state: capacity differs: file has ", capacity,
                  ", log has ", returns_.size());
    for (std::size_t k = 0; k < returns_.size(); ++k) {
      returns_[k] = r.f64();
      lengths_[k] = static_cast<Index>(r.i64());
    }
    next_ = static_cast<std::size_t>(r.u64());
    PGRAD_REQUIRE(next_ < returns_.size(), "EpisodeLog::load_state: corrupt ring position ", next_);
    count_ = r.i64();
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

/// Wall-clock timing for steps-per-second reports.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Waits for a policy's background values when a collect loop ends, also by an exception (which
/// then takes precedence over one from the values).
template <class Policy>
struct JoinValuesOnExit {
  Policy& policy;
  ~JoinValuesOnExit() {
    try {
      policy.wait_values();
    } catch (...) {
    }
  }
};

/// The on-policy collect loop: steps a VectorEnv with the current policy and fills a
/// RolloutBuffer with observations, actions, log-probs, values, rewards, the two end flags and,
/// for each episode cut by a time limit, V(final observation) — the timeout bootstrap lives here
/// and in compute_gae, nowhere else. Box actions are sampled unbounded, stored as sampled, and
/// clipped to the action space only on their way to the environment (as SB3 and CleanRL).
template <class Env, class Policy>
class RolloutCollector {
 public:
  using S = typename Policy::Scalar;
  using Actions = typename Policy::Actions;
  using Buffer = RolloutBuffer<S, Actions>;

  RolloutCollector(envs::VectorEnv<Env> vector_env, std::uint64_t seed)
      : env_(std::move(vector_env)), rng_(seed, 0xC011EC7ull) {
    if constexpr (!Policy::discrete) {
      const auto space = env_.action_space();
      action_low_ = space.low.template cast<S>();
      action_high_ = space.high.template cast<S>();
    }
    observations_ = env_.reset();
    final_values_.setZero(env_.num_envs());  // sized now: the first time-limit cut allocates nothing
  }

  envs::VectorEnv<Env>& env() { return env_; }
  const EpisodeLog& episodes() const { return episodes_; }
  long long steps() const { return steps_; }
  double env_seconds() const { return env_seconds_; }
  Index num_envs() const { return env_.num_envs(); }

  /// Fills the collection side of a report: steps, episodes, recent returns and timings.
  void fill_report(UpdateReport& report, const Stopwatch& clock) const {
    report.steps = steps_;
    report.episodes = episodes_.count();
    report.mean_return = episodes_.mean_return();
    report.mean_length = episodes_.mean_length();
    report.seconds = clock.seconds();
    report.env_seconds = env_seconds_;
    report.steps_per_second = static_cast<double>(steps_) / report.seconds;
  }
  Rng& rng() { return rng_; }
  const envs::VectorEnv<Env>& env() const { return env_; }

  /// Checkpoints: the sampling Rng, the current observations, step count, episode log and the
  /// vector environment's state (every copy's Rng and environment state).
  void save_state(Writer& w) const {
    w.section("RolloutCollector");
    w.rng(rng_);
    w.matrix(observations_);
    w.i64(steps_);
    w.f64(env_seconds_);
    episodes_.save_state(w);
    env_.save_state(w);
  }
  void load_state(Reader& r) {
    r.section("RolloutCollector");
    r.rng(rng_);
    r.matrix(observations_, "collector observations", observations_.rows(), observations_.cols());
    steps_ = r.i64();
    env_seconds_ = r.f64();
    episodes_.load_state(r);
    env_.load_state(r);
  }

  /// Steps every environment `buffer.num_steps` times, continuing from where the last call
  /// stopped, then computes advantages and returns with GAE(γ, λ). With stop_at_episode_end (one
  /// environment only) it stops early after the first finished episode; it returns the number of
  /// steps stored (the rollout is then the first that many columns of the per-step arrays).
  Index collect(Policy& policy, Buffer& buffer, bool stop_at_episode_end = false) {
    const Index n = env_.num_envs();
    PGRAD_REQUIRE(buffer.num_envs == n, "RolloutCollector: buffer is for ", buffer.num_envs,
                  " environments, the vector environment has ", n);
    PGRAD_REQUIRE(!stop_at_episode_end || n == 1, "RolloutCollector: stop_at_episode_end needs one environment, got ", n);
    // The values V(s_t) are computed in blocks of steps on the policy's second thread while this
    // one goes on stepping (steps [values_from, t) have none yet); on this thread when the
    // environments have worker threads of their own, which need the other cores.
    const Index steps_per_block = steps_per_value_block(buffer.num_steps, n);
    const bool in_background = env_.num_threads() == 1;
    Index values_from = 0;
    const auto start_values_until = [&](Index end) {
      policy.wait_values();
      if (end == values_from) return;
      const auto observations = buffer.observations.middleCols(values_from * n, (end - values_from) * n);
      const auto values = Buffer::flat(buffer.values).segment(values_from * n, (end - values_from) * n);
      if (in_background)
        policy.start_values(observations, values);
      else
        policy.compute_values(observations, values);
      values_from = end;
    };
    const JoinValuesOnExit<Policy> join_on_exit{policy};
    Index t = 0;
    for (; t < buffer.num_steps; ++t) {
      policy.act(observations_, rng_, step_actions_, step_log_probs_);
      buffer.observations.middleCols(t * n, n) = observations_;
      buffer.actions.middleCols(t * n, n) = step_actions_;
      buffer.log_probs.segment(t * n, n) = step_log_probs_;
      if (t + 1 - values_from == steps_per_block) start_values_until(t + 1);

      const Stopwatch env_clock;
      env_.step(to_env_actions(step_actions_));
      env_seconds_ += env_clock.seconds();
      steps_ += n;
      buffer.rewards.col(t) = env_.rewards().transpose();
      buffer.terminated.col(t) = env_.terminated().transpose();
      buffer.truncated.col(t) = env_.truncated().transpose();
      const bool any_cut = (env_.truncated() && !env_.terminated()).any();
      if (any_cut && policy.has_critic()) {
        policy.predict_values(env_.final_observations(), final_values_);
        buffer.final_values.col(t) = final_values_.transpose();
      } else {
        buffer.final_values.col(t).setZero();
      }
      for (const auto& episode : env_.finished_episodes())
        episodes_.add(static_cast<double>(episode.episode_return), episode.length);
      observations_ = env_.observations();
      if (stop_at_episode_end && (env_.terminated()[0] || env_.truncated()[0])) {
        ++t;
        break;
      }
    }
    start_values_until(t);
    policy.wait_values();
    policy.predict_values(observations_, step_values_);
    buffer.last_values = step_values_.transpose();
    return t;
  }

 private:
  const Actions& to_env_actions(const Actions& actions) {
    if constexpr (Policy::discrete) {
      return actions;
    } else {
      env_actions_ = actions.array().max(action_low_.replicate(1, actions.cols()).array())
                         .min(action_high_.replicate(1, actions.cols()).array());
      return env_actions_;
    }
  }

  /// Steps per background value pass: about 32 samples, large enough to be worth a hand-off and
  /// small enough that the last pass, which the rollout waits for, is short; a divisor of the
  /// rollout length, so that every pass has the same size and reuses its buffers.
  static Index steps_per_value_block(Index steps, Index envs) {
    Index block = std::clamp<Index>(32 / envs, 1, steps);
    while (steps % block != 0) --block;
    return block;
  }

  envs::VectorEnv<Env> env_;
  Rng rng_;
  Matrix<S> observations_;
  Actions step_actions_, env_actions_;
  RowVector<S> step_log_probs_, step_values_, final_values_;
  Vector<S> action_low_, action_high_;
  EpisodeLog episodes_;
  long long steps_ = 0;
  double env_seconds_ = 0;
};

/// 1 - Var(returns - values) / Var(returns): how much of the return the critic explains
/// (1 perfect, 0 no better than a constant, negative worse). NaN-free: 0 when Var(returns) = 0.
template <class DerivedA, class DerivedB>
double explained_variance(const Eigen::DenseBase<DerivedA>& returns, const Eigen::DenseBase<DerivedB>& values) {
  const auto r = returns.derived().array().template cast<double>();
  const auto v = values.derived().array().template cast<double>();
  const double n = static_cast<double>(r.size());
  const double var_r = (r - r.mean()).square().sum() / n;
  const double mean_diff = (r - v).mean();  // expressions only: no temporary is allocated
  const double var_diff = ((r - v) - mean_diff).square().sum() / n;
  return var_r == 0 ? 0.0 : 1.0 - var_diff / var_r;
}

}  // namespace pgrad::algo

/// Checkpoint helpers shared by the algorithms: hyperparameters written as named numbers and
/// checked on load (a difference names the field), and the policy's sizes and parameters.
namespace pgrad::detail {
struct HyperparameterWriter {
  Writer& w;
  void operator()(const std::string& name, double value) const { w.named(name, value); }
  void operator()(const std::string& name, const std::optional<Schedule>& schedule) const {
    (*this)(name + ".points", schedule ? static_cast<double>(schedule->points().size()) : -1.0);
    if (!schedule) return;
    for (std::size_t k = 0; k < schedule->points().size(); ++k) {
      (*this)(name + "[" + std::to_string(k) + "].progress", schedule->points()[k].first);
      (*this)(name + "[" + std::to_string(k) + "].value", schedule->points()[k].second);
    }
  }
};
struct HyperparameterChecker {
  Reader& r;
  std::string what;
  void operator()(const std::string& name, double value) const { r.expect_same(what, name, value); }
  void operator()(const std::string& name, const std::optional<Schedule>& schedule) const {
    (*this)(name + ".points", schedule ? static_cast<double>(schedule->points().size()) : -1.0);
    if (!schedule) return;
    for (std::size_t k = 0; k < schedule->points().size(); ++k) {
      (*this)(name + "[" + std::to_string(k) + "].progress", schedule->points()[k].first);
      (*this)(name + "[" + std::to_string(k) + "].value", schedule->points()[k].second);
    }
  }
};

/// The PolicyConfig fields that the networks' sizes do not already show.
template <class F>
void visit_policy_config(const PolicyConfig& p, F&& f) {
  f("policy.activation", static_cast<double>(p.activation));
  f("policy.init", static_cast<double>(p.init));
  f("policy.with_critic", p.with_critic ? 1.0 : 0.0);
}

template <class Policy>
std::vector<Index> trunk_sizes(const Policy& policy) {
  return policy.has_shared_trunk() ? policy.trunk().sizes() : std::vector<Index>{};
}

inline void write_sizes(Writer& w, const std::vector<Index>& sizes) {
  w.u64(sizes.size());
  for (Index s : sizes) w.i64(s);
}
inline void check_sizes(Reader& r, const char* what, const std::vector<Index>& expected) {
  const auto count = r.u64();
  PGRAD_REQUIRE(count <= r.remaining() / 8, r.source(), ": truncated while reading ", what, " layer sizes");
  std::vector<Index> found(static_cast<std::size_t>(count));
  for (auto& s : found) s = static_cast<Index>(r.i64());
  PGRAD_REQUIRE(found == expected, r.source(), ": ", what, " layer sizes differ: file has ", pgrad::detail::join_sizes(found),
                ", policy has ", pgrad::detail::join_sizes(expected));
}
}  // namespace pgrad::detail

namespace pgrad::algo {

/// Writes the Scalar code; check_scalar reads it back and throws naming both types on a mismatch.
template <class S>
void write_scalar(Writer& w) {
  w.u8(pgrad::detail::scalar_code<S>());
}
template <class S>
void check_scalar(Reader& r) {
  const std::uint8_t code = r.u8();
  PGRAD_REQUIRE(code == pgrad::detail::scalar_code<S>(), r.source(), ": Scalar differs: file ",
                pgrad::detail::scalar_code_name(code), ", program ",
                pgrad::detail::scalar_code_name(pgrad::detail::scalar_code<S>()));
}

/// The head of every algorithm checkpoint: the algorithm's name, its Scalar and its
/// hyperparameters; check_algorithm_header throws naming the first one that differs.
template <class S, class Config>
void write_algorithm_header(Writer& w, const char* algorithm, const Config& config) {
  w.section(algorithm);
  write_scalar<S>(w);
  config.visit(pgrad::detail::HyperparameterWriter{w});
}
template <class S, class Config>
void check_algorithm_header(Reader& r, const char* algorithm, const Config& config) {
  r.section(algorithm);
  check_scalar<S>(r);
  const std::string what = std::string(algorithm) + " hyperparameter";
  config.visit(pgrad::detail::HyperparameterChecker{r, what.c_str()});
}

/// Writes the policy's Scalar, network sizes and every parameter block.
template <class Policy>
void save_policy_state(Writer& w, const Policy& policy) {
  using S = typename Policy::Scalar;
  w.section("ActorCritic");
  write_scalar<S>(w);
  w.boolean(Policy::discrete);
  detail::write_sizes(w, detail::trunk_sizes(policy));
  detail::write_sizes(w, policy.actor().sizes());
  detail::write_sizes(w, policy.critic().sizes());
  w.matrix(policy.flat_parameters());
}
/// Reads what save_policy_state wrote; any size or type difference throws naming it.
template <class Policy>
void load_policy_state(Reader& r, Policy& policy) {
  using S = typename Policy::Scalar;
  r.section("ActorCritic");
  check_scalar<S>(r);
  const bool discrete = r.boolean();
  PGRAD_REQUIRE(discrete == Policy::discrete, r.source(), ": action distribution differs: file ",
                discrete ? "Categorical" : "DiagGaussian", ", policy ", Policy::discrete ? "Categorical" : "DiagGaussian");
  detail::check_sizes(r, "trunk", detail::trunk_sizes(policy));
  detail::check_sizes(r, "actor", policy.actor().sizes());
  detail::check_sizes(r, "critic", policy.critic().sizes());
  Vector<S> flat;
  r.matrix(flat, "policy parameters", policy.parameter_count(), 1);
  policy.set_flat_parameters(flat);
}

template <class S>
void check_discount_factor(S value, const char* algorithm, const char* field) {
  PGRAD_REQUIRE(value >= S(0) && value <= S(1), algorithm, ": ", field, " must be in [0, 1], got ", value);
}

}  // namespace pgrad::algo
