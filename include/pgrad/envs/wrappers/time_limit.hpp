#pragma once
// pgrad::envs::TimeLimit: cuts episodes after a number of steps.
#include <algorithm>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/wrapper.hpp>

namespace pgrad::envs {

/// Gymnasium's TimeLimit: sets `truncated` on the step where the episode's step count reaches
/// `max_episode_steps` (whatever `terminated` says; terminated still wins for the learner).
/// The bundled environments already carry their Gymnasium limit; use this wrapper for your own
/// environments or to cut episodes shorter.
template <class Env>
class TimeLimit : public Wrapper<TimeLimit<Env>, Env> {
  using Base = Wrapper<TimeLimit<Env>, Env>;
  friend Base;

 public:
  using typename Base::Action;
  using typename Base::Observation;
  static constexpr const char* state_section = "TimeLimit";

  TimeLimit(Env env, Index max_episode_steps) : Base(std::move(env)), limit_(max_episode_steps) {
    PGRAD_REQUIRE(max_episode_steps > 0, "TimeLimit: max_episode_steps must be positive, got ",
                  max_episode_steps);
  }

  using Base::reset;
  Observation reset(Rng& rng) {
    elapsed_ = 0;
    return this->env_.reset(rng);
  }

  auto step(const Action& action) {
    auto result = this->env_.step(action);
    if (++elapsed_ >= limit_) result.truncated = true;
    return result;
  }

  /// The effective limit: this wrapper's, or a shorter one declared further in.
  Index max_episode_steps() const {
    const Index inner_limit = max_episode_steps_of(this->env_);
    return inner_limit > 0 ? std::min(inner_limit, limit_) : limit_;
  }
  /// Steps taken in the current episode.
  Index elapsed_steps() const { return elapsed_; }

 private:
  // Checkpoints: the limit (checked) and the step count (in [0, limit] on load).
  void save_own_state(Writer& w) const {
    w.i64(limit_);
    w.i64(elapsed_);
  }
  void load_own_state(Reader& r) {
    const auto limit = r.i64();
    PGRAD_REQUIRE(limit == limit_, r.source(), ": TimeLimit max_episode_steps differs: file has ", limit,
                  ", wrapper has ", limit_);
    elapsed_ = static_cast<Index>(r.i64_in("TimeLimit elapsed steps", 0, limit_));
  }

  Index limit_;
  Index elapsed_ = 0;
};

}  // namespace pgrad::envs
