#pragma once
// pgrad::envs::TimeLimit: cuts episodes after a number of steps.
#include <algorithm>
#include <cstdint>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>

namespace pgrad::envs {

/// Gymnasium's TimeLimit: sets `truncated` on the step where the episode's step count reaches
/// `max_episode_steps` (whatever `terminated` says; terminated still wins for the learner).
/// The bundled environments already carry their Gymnasium limit; use this wrapper for your own
/// environments or to cut episodes shorter.
template <class Env>
class TimeLimit {
  static_assert(require_env<Env>());

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;

  TimeLimit(Env env, Index max_episode_steps) : env_(std::move(env)), limit_(max_episode_steps) {
    PGRAD_REQUIRE(max_episode_steps > 0, "TimeLimit: max_episode_steps must be positive, got ",
                  max_episode_steps);
  }

  auto observation_space() const { return env_.observation_space(); }
  auto action_space() const { return env_.action_space(); }

  Observation reset(Rng& rng) {
    elapsed_ = 0;
    return env_.reset(rng);
  }
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  auto step(const Action& action) {
    auto result = env_.step(action);
    if (++elapsed_ >= limit_) result.truncated = true;
    return result;
  }

  /// The effective limit: this wrapper's, or a shorter one declared further in.
  Index max_episode_steps() const {
    const Index inner_limit = max_episode_steps_of(env_);
    return inner_limit > 0 ? std::min(inner_limit, limit_) : limit_;
  }
  /// Steps taken in the current episode.
  Index elapsed_steps() const { return elapsed_; }

  Env& inner() { return env_; }
  const Env& inner() const { return env_; }

  /// Checkpoints: the limit (checked), the step count, then the inner environment's state.
  void save_state(Writer& w) const {
    w.section("TimeLimit");
    w.i64(limit_);
    w.i64(elapsed_);
    save_state_of(w, env_);
  }
  void load_state(Reader& r) {
    r.section("TimeLimit");
    const auto limit = r.i64();
    PGRAD_REQUIRE(limit == limit_, "TimeLimit::load_state: max_episode_steps differs: file has ", limit,
                  ", wrapper has ", limit_);
    elapsed_ = static_cast<Index>(r.i64());
    load_state_of(r, env_);
  }

 private:
  Env env_;
  Index limit_;
  Index elapsed_ = 0;
};

}  // namespace pgrad::envs
