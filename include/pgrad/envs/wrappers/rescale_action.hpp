#pragma once
// pgrad::envs::RescaleAction: Box actions in [min, max] mapped affinely onto the env's bounds.
#include <cmath>
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

/// Gymnasium's RescaleAction: the wrapper's action space is Box(min, max) (default [-1, 1]) on
/// every dimension and the inner environment receives
///
///   a_env = clip(low + (high - low) * (a - min) / (max - min), low, high)
///
/// so a = min maps to the inner `low` and a = max to `high`. The inner action space must be a
/// bounded Box. Non-finite actions throw pgrad::Error. No allocation per step.
template <class Env>
class RescaleAction {
  static_assert(require_env<Env>());
  static_assert(!std::is_integral_v<typename Env::Action>,
                "RescaleAction needs a Box action space (Action must be an Eigen vector)");

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;

  explicit RescaleAction(Env env, Scalar min_action = Scalar(-1), Scalar max_action = Scalar(1))
      : env_(std::move(env)), min_(min_action), max_(max_action) {
    PGRAD_REQUIRE(std::isfinite(min_action) && std::isfinite(max_action) && min_action < max_action,
                  "RescaleAction: need finite min_action < max_action, got [", min_action, ", ",
                  max_action, "]");
    const auto space = env_.action_space();
    PGRAD_REQUIRE(space.is_bounded(), "RescaleAction: the inner action space must be bounded, low = (",
                  space.low.transpose(), "), high = (", space.high.transpose(), ")");
    if constexpr (Action::RowsAtCompileTime != Eigen::Dynamic)
      PGRAD_REQUIRE(space.size() == Action::RowsAtCompileTime, "RescaleAction: the action space has ",
                    space.size(), " dimensions, Action holds ", Action::RowsAtCompileTime);
    low_ = space.low;
    high_ = space.high;
    mapped_ = space.low;
  }

  auto observation_space() const { return env_.observation_space(); }
  Box<Scalar> action_space() const { return Box<Scalar>::uniform(low_.size(), min_, max_); }

  Observation reset(Rng& rng) { return env_.reset(rng); }
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  auto step(const Action& action) {
    PGRAD_REQUIRE(action.size() == low_.size(), "RescaleAction: action has ", action.size(),
                  " entries, the action space has ", low_.size());
    check_finite(action, "RescaleAction: action");
    mapped_ = (low_.array() + (high_ - low_).array() * ((action.array() - min_) / (max_ - min_)))
                  .cwiseMax(low_.array())
                  .cwiseMin(high_.array())
                  .matrix();
    return env_.step(mapped_);
  }

  Env& inner() { return env_; }
  const Env& inner() const { return env_; }

  /// Checkpoints: stateless itself; saves the inner environment's state.
  void save_state(Writer& w) const {
    w.section("RescaleAction");
    save_state_of(w, env_);
  }
  void load_state(Reader& r) {
    r.section("RescaleAction");
    load_state_of(r, env_);
  }

 private:
  Env env_;
  Scalar min_, max_;
  Action low_, high_, mapped_;
};

}  // namespace pgrad::envs
