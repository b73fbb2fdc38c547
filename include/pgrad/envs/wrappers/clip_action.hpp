#pragma once
// pgrad::envs::ClipAction: Box actions clipped to the environment's bounds.
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

/// Gymnasium's ClipAction: the inner environment receives clip(a, low, high) per dimension of
/// its Box action space (envs::clip_action), so the wrapper accepts any finite action (its
/// action space is the unbounded Box of the same size). Non-finite actions throw pgrad::Error.
/// No allocation per step. Checkpoints: stateless itself (section "ClipAction").
template <class Env>
class ClipAction : public Wrapper<ClipAction<Env>, Env> {
  using Base = Wrapper<ClipAction<Env>, Env>;
  static_assert(!std::is_integral_v<typename Env::Action>,
                "ClipAction needs a Box action space (Action must be an Eigen vector)");

 public:
  using typename Base::Action;
  using typename Base::Scalar;
  static constexpr const char* state_section = "ClipAction";

  explicit ClipAction(Env env) : Base(std::move(env)) {
    const auto space = this->env_.action_space();
    if constexpr (Action::RowsAtCompileTime != Eigen::Dynamic)
      PGRAD_REQUIRE(space.size() == Action::RowsAtCompileTime, "ClipAction: the action space has ",
                    space.size(), " dimensions, Action holds ", Action::RowsAtCompileTime);
    low_ = space.low;
    high_ = space.high;
    clipped_ = space.low;
  }

  Box<Scalar> action_space() const { return Box<Scalar>::unbounded(low_.size()); }

  auto step(const Action& action) {
    PGRAD_REQUIRE(action.size() == low_.size(), "ClipAction: action has ", action.size(),
                  " entries, the action space has ", low_.size());
    check_finite(action, "ClipAction: action");
    clip_action(action, low_, high_, clipped_);
    return this->env_.step(clipped_);
  }

 private:
  Action low_, high_, clipped_;
};

}  // namespace pgrad::envs
