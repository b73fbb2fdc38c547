#pragma once
// pgrad::envs::Pendulum: Gymnasium's Pendulum-v1.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>

namespace pgrad::envs {

/// Pendulum-v1 exactly as Gymnasium defines it: swing a frictionless pendulum up and keep it
/// upright with a bounded torque. State (theta, theta_dot), theta = 0 upright; g = 10, m = 1,
/// l = 1, dt = 0.05, max speed 8, max torque 2.
///
///   u          = clip(action, -2, 2)
///   cost       = angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2   (pre-step state)
///   theta_dot' = clip(theta_dot + (3 g / (2 l) sin(theta) + 3 / (m l^2) u) dt, -8, 8)
///   theta'     = theta + theta_dot' dt
///
/// with angle_normalize(a) = ((a + pi) mod 2 pi) - pi, reward = -cost, observation
/// (cos theta, sin theta, theta_dot). Never terminates; the time limit (Gymnasium's TimeLimit,
/// 200 steps) is built in and reported as `truncated`; 0 disables it. Reset draws
/// theta ~ U(-pi, pi), then theta_dot ~ U(-1, 1).
///
/// Out-of-range torques are clipped (as Gymnasium does); a NaN or infinite torque throws
/// pgrad::Error, and so does stepping after the episode ended without a reset. As in Gymnasium,
/// the state and the physics are double precision whatever Scalar is (the torque is clipped in
/// Scalar, float32 in Gymnasium, then widened); observations and rewards are rounded to Scalar.
/// Cost: two trigonometric calls per step, no allocation.
template <class S = float>
class Pendulum {
 public:
  using Scalar = S;
  using Observation = Eigen::Matrix<S, 3, 1>;
  using Action = Eigen::Matrix<S, 1, 1>;

  static constexpr Index default_max_episode_steps = 200;

  // Gymnasium's constants.
  static constexpr double max_speed = 8;
  static constexpr double max_torque = 2;
  static constexpr double dt = 0.05;
  static constexpr double gravity = 10;
  static constexpr double mass = 1;
  static constexpr double length = 1;
  static constexpr double pi = 3.14159265358979323846;

  /// `max_episode_steps` = 0 means no time limit.
  explicit Pendulum(Index max_episode_steps = default_max_episode_steps)
      : max_episode_steps_(max_episode_steps) {
    PGRAD_REQUIRE(max_episode_steps >= 0, "Pendulum: max_episode_steps must be >= 0, got ",
                  max_episode_steps);
  }

  /// (cos, sin, theta_dot) in [-1, 1] x [-1, 1] x [-8, 8].
  Box<S> observation_space() const {
    Vector<S> high(3);
    high << S(1), S(1), S(max_speed);
    return Box<S>(-high, high);
  }
  /// The torque, in [-2, 2].
  Box<S> action_space() const { return Box<S>::uniform(1, S(-max_torque), S(max_torque)); }

  /// Starts an episode: theta ~ U(-pi, pi) then theta_dot ~ U(-1, 1), drawn in double from `rng`.
  Observation reset(Rng& rng) {
    theta_ = rng.uniform<double>(-pi, pi);
    theta_dot_ = rng.uniform<double>(-1.0, 1.0);
    elapsed_ = 0;
    active_ = true;
    return observation();
  }
  /// reset(Rng(seed)).
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  /// Starts an episode from the given state (for tests and demonstrations); |theta_dot| <= 8.
  Observation set_state(double theta, double theta_dot) {
    PGRAD_REQUIRE(std::isfinite(theta) && std::isfinite(theta_dot),
                  "Pendulum::set_state: non-finite state (", theta, ", ", theta_dot, ")");
    PGRAD_REQUIRE(std::abs(theta_dot) <= max_speed, "Pendulum::set_state: theta_dot ", theta_dot,
                  " is beyond the maximum speed ", max_speed);
    theta_ = theta;
    theta_dot_ = theta_dot;
    elapsed_ = 0;
    active_ = true;
    return observation();
  }

  StepResult<Observation> step(const Action& action) {
    PGRAD_REQUIRE(std::isfinite(action[0]), "Pendulum::step: action ", action[0],
                  " is not a finite torque");
    PGRAD_REQUIRE(active_, "Pendulum::step: the episode has ended (or never started); call reset() "
                           "before stepping again");
    const double u = static_cast<double>(std::clamp(action[0], S(-max_torque), S(max_torque)));
    const double th_norm = angle_normalize(theta_);
    const double cost = th_norm * th_norm + 0.1 * theta_dot_ * theta_dot_ + 0.001 * (u * u);
    double new_theta_dot =
        theta_dot_ + (3 * gravity / (2 * length) * std::sin(theta_) + 3.0 / (mass * length * length) * u) * dt;
    new_theta_dot = std::clamp(new_theta_dot, -max_speed, max_speed);
    theta_ = theta_ + new_theta_dot * dt;
    theta_dot_ = new_theta_dot;
    ++elapsed_;

    StepResult<Observation> result;
    result.observation = observation();
    result.reward = static_cast<S>(-cost);
    result.terminated = false;
    result.truncated = max_episode_steps_ > 0 && elapsed_ >= max_episode_steps_;
    active_ = !result.truncated;
    return result;
  }

  /// ((a + pi) mod 2 pi) - pi with a floored modulo (Python's %), in [-pi, pi).
  static double angle_normalize(double angle) {
    const double two_pi = 2 * pi;
    double m = std::fmod(angle + pi, two_pi);
    if (m < 0) m += two_pi;
    return m - pi;
  }

  /// The double-precision state.
  double theta() const { return theta_; }
  double theta_dot() const { return theta_dot_; }
  Index max_episode_steps() const { return max_episode_steps_; }
  /// Steps taken in the current episode.
  Index elapsed_steps() const { return elapsed_; }
  /// Whether an episode is under way (reset, and neither terminated nor truncated since).
  bool episode_running() const { return active_; }

  /// Checkpoints: the state, the step count and whether an episode is running. load_state
  /// requires a finite state with |theta_dot| <= 8 and a step count in [0, max_episode_steps]
  /// (or [0, 2^62] without a limit).
  void save_state(Writer& w) const {
    w.section("Pendulum");
    w.i64(max_episode_steps_);
    w.f64(theta_);
    w.f64(theta_dot_);
    w.i64(elapsed_);
    w.boolean(active_);
  }
  void load_state(Reader& r) {
    r.section("Pendulum");
    const auto limit = r.i64();
    PGRAD_REQUIRE(limit == max_episode_steps_, r.source(), ": Pendulum max_episode_steps differs: file has ", limit,
                  ", environment has ", max_episode_steps_);
    theta_ = r.finite<double>("Pendulum theta");
    theta_dot_ = r.finite<double>("Pendulum theta_dot");
    PGRAD_REQUIRE(std::abs(theta_dot_) <= max_speed, r.source(), ": corrupt Pendulum theta_dot ", theta_dot_,
                  " (beyond the maximum speed ", max_speed, ")");
    elapsed_ = static_cast<Index>(
        r.i64_in("Pendulum elapsed steps", 0, max_episode_steps_ > 0 ? max_episode_steps_ : max_saved_counter));
    active_ = r.boolean();
  }

 private:
  Observation observation() const {
    Observation obs;
    obs << static_cast<S>(std::cos(theta_)), static_cast<S>(std::sin(theta_)), static_cast<S>(theta_dot_);
    return obs;
  }

  double theta_ = 0, theta_dot_ = 0;  // double precision, as Gymnasium's state
  Index max_episode_steps_;
  Index elapsed_ = 0;
  bool active_ = false;
};

}  // namespace pgrad::envs
