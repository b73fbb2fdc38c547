#pragma once
// LineWalk: the custom environment of examples/custom_env.cpp. This is everything a user writes
// to train pgrad on their own problem: two type aliases, two spaces, reset and step.
#include <pgrad/envs/env.hpp>

/// Walk along a line of 11 cells to a target cell.
///   observation: (position / 10, target / 10)      action: 0 = left, 1 = right
///   reward: +1 on reaching the target (the episode terminates), -0.05 for every other step
///   truncated after 50 steps; start and target are drawn uniformly and differ.
/// The optimal policy walks straight to the target: mean return 1 - 0.05·(E|start - target| - 1) = 0.85.
class LineWalk {
 public:
  using Scalar = float;
  using Observation = Eigen::Matrix<float, 2, 1>;
  using Action = pgrad::Index;

  static constexpr pgrad::Index cells = 11;
  static constexpr pgrad::Index max_steps = 50;

  pgrad::envs::Box<float> observation_space() const { return pgrad::envs::Box<float>::uniform(2, 0.0f, 1.0f); }
  pgrad::envs::Discrete action_space() const { return pgrad::envs::Discrete(2); }

  Observation reset(pgrad::Rng& rng) {
    position_ = static_cast<pgrad::Index>(rng.below(cells));
    do {
      target_ = static_cast<pgrad::Index>(rng.below(cells));
    } while (target_ == position_);
    steps_ = 0;
    return observe();
  }

  pgrad::envs::StepResult<Observation> step(const Action& action) {
    PGRAD_REQUIRE(action == 0 || action == 1, "LineWalk: action must be 0 or 1, got ", action);
    position_ = std::clamp<pgrad::Index>(position_ + (action == 1 ? 1 : -1), 0, cells - 1);
    ++steps_;
    const bool reached = position_ == target_;
    return {observe(), reached ? 1.0f : -0.05f, reached, !reached && steps_ >= max_steps};
  }

 private:
  Observation observe() const {
    return Observation(static_cast<float>(position_) / 10.0f, static_cast<float>(target_) / 10.0f);
  }

  pgrad::Index position_ = 0, target_ = 1, steps_ = 0;
};
