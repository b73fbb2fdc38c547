#pragma once
// pgrad::envs::ClipAction: Box actions clipped to the environment's bounds.
#include <cstdint>
#include <type_traits>
#include <utility>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>

namespace pgrad::envs {

/// Gymnasium's ClipAction: the inner environment receives clip(a, low, high) per dimension of
/// its Box action space, so the wrapper accepts any finite action (its action space is the
/// unbounded Box of the same size). Non-finite actions throw pgrad::Error. No allocation per
/// step.
template <class Env>
class ClipAction {
  static_assert(require_env<Env>());
  static_assert(!std::is_integral_v<typename Env::Action>,
                "ClipAction needs a Box action space (Action must be an Eigen vector)");

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;

  explicit ClipAction(Env env) : env_(std::move(env)) {
    const auto space = env_.action_space();
    if constexpr (Action::RowsAtCompileTime != Eigen::Dynamic)
      PGRAD_REQUIRE(space.size() == Action::RowsAtCompileTime, "ClipAction: the action space has ",
                    space.size(), " dimensions, Action holds ", Action::RowsAtCompileTime);
    low_ = space.low;
    high_ = space.high;
    clipped_ = space.low;
  }

  auto observation_space() const { return env_.observation_space(); }
  Box<Scalar> action_space() const { return Box<Scalar>::unbounded(low_.size()); }

  Observation reset(Rng& rng) { return env_.reset(rng); }
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  auto step(const Action& action) {
    PGRAD_REQUIRE(action.size() == low_.size(), "ClipAction: action has ", action.size(),
                  " entries, the action space has ", low_.size());
    check_finite(action, "ClipAction: action");
    clipped_ = action.cwiseMax(low_).cwiseMin(high_);
    return env_.step(clipped_);
  }

  Env& inner() { return env_; }
  const Env& inner() const { return env_; }

  /// Checkpoints: stateless itself; saves the inner environment's state.
  void save_state(Writer& w) const {
    w.section("ClipAction");
    save_state_of(w, env_);
  }
  void load_state(Reader& r) {
    r.section("ClipAction");
    load_state_of(r, env_);
  }

 private:
  Env env_;
  Action low_, high_, clipped_;
};

}  // namespace pgrad::envs
