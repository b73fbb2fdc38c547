#pragma once
// pgrad::envs::RescaleAction: Box actions in [min, max] mapped affinely onto the env's bounds.
#include <cmath>
#include <type_traits>
#include <utility>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/envs/wrapper.hpp>

namespace pgrad::envs {

/// Gymnasium's RescaleAction: the wrapper's action space is Box(min, max) (default [-1, 1]) on
/// every dimension and the inner environment receives (envs::rescale_action)
///
///   a_env = clip(low + (high - low) * (a - min) / (max - min), low, high)
///
/// so a = min maps to the inner `low` and a = max to `high`. The inner action space must be a
/// bounded Box. Non-finite actions throw pgrad::Error. No allocation per step.
/// Checkpoints: stateless itself (section "RescaleAction").
template <class Env>
class RescaleAction : public Wrapper<RescaleAction<Env>, Env> {
  using Base = Wrapper<RescaleAction<Env>, Env>;
  static_assert(!std::is_integral_v<typename Env::Action>,
                "RescaleAction needs a Box action space (Action must be an Eigen vector)");

 public:
  using typename Base::Action;
  using typename Base::Scalar;
  static constexpr const char* state_section = "RescaleAction";

  explicit RescaleAction(Env env, Scalar min_action = Scalar(-1), Scalar max_action = Scalar(1))
      : Base(std::move(env)), min_(min_action), max_(max_action) {
    PGRAD_REQUIRE(std::isfinite(min_action) && std::isfinite(max_action) && min_action < max_action,
                  "RescaleAction: need finite min_action < max_action, got [", min_action, ", ",
                  max_action, "]");
    const auto space = this->env_.action_space();
    PGRAD_REQUIRE(space.is_bounded(), "RescaleAction: the inner action space must be bounded, low = (",
                  space.low.transpose(), "), high = (", space.high.transpose(), ")");
    if constexpr (Action::RowsAtCompileTime != Eigen::Dynamic)
      PGRAD_REQUIRE(space.size() == Action::RowsAtCompileTime, "RescaleAction: the action space has ",
                    space.size(), " dimensions, Action holds ", Action::RowsAtCompileTime);
    low_ = space.low;
    high_ = space.high;
    mapped_ = space.low;
  }

  Box<Scalar> action_space() const { return Box<Scalar>::uniform(low_.size(), min_, max_); }

  auto step(const Action& action) {
    PGRAD_REQUIRE(action.size() == low_.size(), "RescaleAction: action has ", action.size(),
                  " entries, the action space has ", low_.size());
    check_finite(action, "RescaleAction: action");
    rescale_action(action, min_, max_, low_, high_, mapped_);
    return this->env_.step(mapped_);
  }

 private:
  Scalar min_, max_;
  Action low_, high_, mapped_;
};

}  // namespace pgrad::envs
