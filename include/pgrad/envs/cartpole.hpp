#pragma once
// pgrad::envs::CartPole: Gymnasium's CartPole-v1.
#include <cmath>
#include <cstdint>
#include <limits>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>

namespace pgrad::envs {

/// CartPole-v1 exactly as Gymnasium defines it (Barto, Sutton & Anderson 1983, with the
/// equations of Florian 2007): a pole hinged on a cart that is pushed left (action 0) or right
/// (action 1) with a force of 10 N.
///
/// State s = (x, x_dot, theta, theta_dot); g = 9.8, cart mass 1.0, pole mass 0.1, half-length
/// l = 0.5, tau = 0.02 s. With F = +-10, m = 1.1 and ml = 0.05:
///
///   temp       = (F + ml * theta_dot^2 * sin(theta)) / m
///   theta_acc  = (g sin(theta) - cos(theta) temp) / (l (4/3 - 0.1 cos^2(theta) / m))
///   x_acc      = temp - ml theta_acc cos(theta) / m
///
/// then explicit Euler on the old state: x += tau x_dot, x_dot += tau x_acc, theta += tau
/// theta_dot, theta_dot += tau theta_acc. The episode terminates when |x| > 2.4 or
/// |theta| > 12 degrees (2 pi 12 / 360 rad); the reward is +1 on every step, the terminating one
/// included. Reset draws each state entry from U(-0.05, 0.05). The time limit (Gymnasium's
/// TimeLimit, 500 steps) is built in and reported as `truncated`; 0 disables it.
///
/// Stepping after the episode ended (or before the first reset) throws pgrad::Error: reset
/// first. As in Gymnasium, the state and the physics are double precision whatever Scalar is;
/// the observation is the state rounded to Scalar (float32 in Gymnasium), so CartPole<float>
/// follows Gymnasium's trajectories as exactly as CartPole<double>. Cost: a few flops per step,
/// no allocation.
template <class S = float>
class CartPole {
 public:
  using Scalar = S;
  using Observation = Eigen::Matrix<S, 4, 1>;
  using State = Eigen::Matrix<double, 4, 1>;
  using Action = Index;

  static constexpr Index default_max_episode_steps = 500;

  // Gymnasium's constants.
  static constexpr double gravity = 9.8;
  static constexpr double mass_cart = 1.0;
  static constexpr double mass_pole = 0.1;
  static constexpr double total_mass = mass_cart + mass_pole;
  static constexpr double half_length = 0.5;
  static constexpr double pole_mass_length = mass_pole * half_length;
  static constexpr double force_mag = 10.0;
  static constexpr double tau = 0.02;
  static constexpr double theta_threshold = 12.0 * 2.0 * 3.14159265358979323846 / 360.0;
  static constexpr double x_threshold = 2.4;

  /// `max_episode_steps` = 0 means no time limit.
  explicit CartPole(Index max_episode_steps = default_max_episode_steps)
      : max_episode_steps_(max_episode_steps) {
    PGRAD_REQUIRE(max_episode_steps >= 0, "CartPole: max_episode_steps must be >= 0, got ",
                  max_episode_steps);
  }

  /// Gymnasium's bounds: |x| <= 4.8, |theta| <= 24 degrees, velocities up to float's max.
  Box<S> observation_space() const {
    const S big = static_cast<S>(std::numeric_limits<float>::max());
    Vector<S> high(4);
    high << S(2 * x_threshold), big, S(2 * theta_threshold), big;
    return Box<S>(-high, high);
  }
  Discrete action_space() const { return Discrete(2); }

  /// Starts an episode: every state entry drawn from U(-0.05, 0.05) with `rng`.
  Observation reset(Rng& rng) {
    for (Index i = 0; i < 4; ++i) state_[i] = rng.uniform<double>(-0.05, 0.05);
    elapsed_ = 0;
    active_ = true;
    return observation();
  }
  /// reset(Rng(seed)).
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  /// Starts an episode from the given state (for tests and demonstrations).
  Observation set_state(const State& state) {
    PGRAD_REQUIRE(state.allFinite(), "CartPole::set_state: non-finite state (", state.transpose(),
                  ")");
    state_ = state;
    elapsed_ = 0;
    active_ = true;
    return observation();
  }

  StepResult<Observation> step(const Action& action) {
    PGRAD_REQUIRE(action == 0 || action == 1, "CartPole::step: action ", action,
                  " is outside the action space Discrete(2)");
    PGRAD_REQUIRE(active_, "CartPole::step: the episode has ended (or never started); call reset() "
                           "before stepping again");
    const double x = state_[0], x_dot = state_[1], theta = state_[2], theta_dot = state_[3];
    const double force = action == 1 ? force_mag : -force_mag;
    const double cos_theta = std::cos(theta), sin_theta = std::sin(theta);
    const double temp = (force + pole_mass_length * theta_dot * theta_dot * sin_theta) / total_mass;
    const double theta_acc = (gravity * sin_theta - cos_theta * temp) /
                             (half_length * (4.0 / 3.0 - mass_pole * cos_theta * cos_theta / total_mass));
    const double x_acc = temp - pole_mass_length * theta_acc * cos_theta / total_mass;
    state_[0] = x + tau * x_dot;
    state_[1] = x_dot + tau * x_acc;
    state_[2] = theta + tau * theta_dot;
    state_[3] = theta_dot + tau * theta_acc;
    ++elapsed_;

    StepResult<Observation> result;
    result.observation = observation();
    result.reward = S(1);
    result.terminated = state_[0] < -x_threshold || state_[0] > x_threshold || state_[2] < -theta_threshold ||
                        state_[2] > theta_threshold;
    result.truncated = max_episode_steps_ > 0 && elapsed_ >= max_episode_steps_;
    active_ = !result.done();
    return result;
  }

  /// The double-precision state (the observation is its rounding to Scalar).
  const State& state() const { return state_; }
  Index max_episode_steps() const { return max_episode_steps_; }
  /// Steps taken in the current episode.
  Index elapsed_steps() const { return elapsed_; }
  /// Whether an episode is under way (reset, and neither terminated nor truncated since).
  bool episode_running() const { return active_; }

  /// Checkpoints: the state, the step count and whether an episode is running. load_state
  /// requires a finite state and a step count in [0, max_episode_steps] (or [0, 2^62] without
  /// a limit).
  void save_state(Writer& w) const {
    w.section("CartPole");
    w.i64(max_episode_steps_);
    w.matrix(state_);
    w.i64(elapsed_);
    w.boolean(active_);
  }
  void load_state(Reader& r) {
    r.section("CartPole");
    const auto limit = r.i64();
    PGRAD_REQUIRE(limit == max_episode_steps_, r.source(), ": CartPole max_episode_steps differs: file has ", limit,
                  ", environment has ", max_episode_steps_);
    r.fixed_matrix(state_, "CartPole state");
    elapsed_ = static_cast<Index>(
        r.i64_in("CartPole elapsed steps", 0, max_episode_steps_ > 0 ? max_episode_steps_ : max_saved_counter));
    active_ = r.boolean();
  }

 private:
  Observation observation() const { return state_.template cast<S>(); }

  State state_ = State::Zero();
  Index max_episode_steps_;
  Index elapsed_ = 0;
  bool active_ = false;
};

}  // namespace pgrad::envs
