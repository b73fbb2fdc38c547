// Pendulum-v1: dynamics and reward against an independent double-precision implementation of
// Gymnasium's published equations, closed forms, clipping, reset distribution and time limit.
#include <catch2/catch.hpp>

#include <pgrad/envs/pendulum.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

using pgrad::Index;
using pgrad::Rng;
using pgrad::envs::Pendulum;
using Catch::Matchers::Contains;

static_assert(pgrad::envs::require_env<Pendulum<float>>());
static_assert(pgrad::envs::require_env<Pendulum<double>>());

namespace {

const double pi = std::acos(-1.0);

// Gymnasium's Pendulum-v1 step written out again from the published description: cost on the
// pre-step state, speed clipped after the update, angle integrated with the new speed.
struct ReferencePendulum {
  double theta, theta_dot;

  static double normalize(double a) { return a - 2.0 * pi * std::floor((a + pi) / (2.0 * pi)); }

  double step(double torque) {  // returns the reward
    const double u = std::fmin(std::fmax(torque, -2.0), 2.0);
    const double th = normalize(theta);
    const double cost = th * th + 0.1 * theta_dot * theta_dot + 0.001 * u * u;
    const double g = 10.0, m = 1.0, l = 1.0, dt = 0.05;
    double speed = theta_dot + (3.0 * g / (2.0 * l) * std::sin(theta) + 3.0 / (m * l * l) * u) * dt;
    speed = std::fmin(std::fmax(speed, -8.0), 8.0);
    theta = theta + speed * dt;
    theta_dot = speed;
    return -cost;
  }
};

Pendulum<double>::Action torque(double u) { return Pendulum<double>::Action::Constant(u); }

}  // namespace

TEST_CASE("Pendulum first step from rest matches the closed form", "[pendulum]") {
  // theta = theta_dot = 0, u = 2: cost = 0.001 * 4, theta_dot' = 3 * 2 * 0.05 = 0.3,
  // theta' = 0.3 * 0.05 = 0.015.
  Pendulum<double> env;
  env.set_state(0.0, 0.0);
  const auto r = env.step(torque(2.0));
  CHECK(r.reward == Approx(-0.004).epsilon(1e-14));
  CHECK(env.theta_dot() == Approx(0.3).epsilon(1e-14));
  CHECK(env.theta() == Approx(0.015).epsilon(1e-14));
  CHECK(r.observation[0] == Approx(std::cos(0.015)).epsilon(1e-14));
  CHECK(r.observation[1] == Approx(std::sin(0.015)).epsilon(1e-14));
  CHECK(r.observation[2] == Approx(0.3).epsilon(1e-14));
  CHECK_FALSE(r.terminated);
  CHECK_FALSE(r.truncated);
}

TEST_CASE("Pendulum clips the torque and the speed as Gymnasium", "[pendulum]") {
  Pendulum<double> env;
  // Torque beyond +-2 acts (and costs) like +-2.
  env.set_state(0.3, -0.5);
  const auto clipped = env.step(torque(5.0));
  env.set_state(0.3, -0.5);
  const auto at_limit = env.step(torque(2.0));
  CHECK(clipped.reward == at_limit.reward);
  CHECK(clipped.observation == at_limit.observation);
  env.set_state(0.3, -0.5);
  const auto negative = env.step(torque(-7.0));
  env.set_state(0.3, -0.5);
  CHECK(negative.observation == env.step(torque(-2.0)).observation);

  // theta = pi/2, theta_dot = 7.9, u = 2: unclipped speed 7.9 + (15 + 6) * 0.05 = 8.95 -> 8; the
  // cost uses the pre-step state.
  env.set_state(pi / 2, 7.9);
  const auto fast = env.step(torque(2.0));
  CHECK(env.theta_dot() == 8.0);
  CHECK(env.theta() == Approx(pi / 2 + 0.4).epsilon(1e-14));
  CHECK(fast.reward == Approx(-(pi * pi / 4 + 0.1 * 7.9 * 7.9 + 0.004)).epsilon(1e-14));
}

TEST_CASE("Pendulum cost normalises the angle into -pi to pi", "[pendulum]") {
  Pendulum<double> env;
  for (const double theta : {5.0, -4.0, 7.0, 13.0, -20.0, 3.0}) {
    env.set_state(theta, 0.0);
    const double expected = ReferencePendulum::normalize(theta);
    INFO("theta " << theta << " normalised " << expected);
    CHECK(expected >= -pi);
    CHECK(expected < pi);
    CHECK(env.step(torque(0.0)).reward == Approx(-expected * expected).epsilon(1e-13));
  }
  CHECK(Pendulum<double>::angle_normalize(5.0) == Approx(5.0 - 2 * pi).epsilon(1e-15));
  CHECK(Pendulum<double>::angle_normalize(-4.0) == Approx(-4.0 + 2 * pi).epsilon(1e-15));
}

TEST_CASE("Pendulum in double follows the reference trajectory and truncates at 200", "[pendulum]") {
  const std::pair<double, double> starts[] = {{2.5, -0.7}, {-3.0, 0.9}, {0.1, 0.0}};
  for (const auto& start : starts) {
    Pendulum<double> env;
    env.set_state(start.first, start.second);
    ReferencePendulum ref{start.first, start.second};
    int steps = 0;
    for (int t = 1; t <= 200; ++t) {
      const double u = 3.0 * std::sin(0.37 * t) + 0.5;  // often beyond +-2: clipping exercised
      const double expected_reward = ref.step(u);
      const auto r = env.step(torque(u));
      ++steps;
      CHECK(r.reward == Approx(expected_reward).margin(1e-12));
      CHECK(r.observation[0] == Approx(std::cos(ref.theta)).margin(1e-12));
      CHECK(r.observation[1] == Approx(std::sin(ref.theta)).margin(1e-12));
      CHECK(r.observation[2] == Approx(ref.theta_dot).margin(1e-12));
      CHECK(std::abs(r.observation[2]) <= 8.0);
      REQUIRE_FALSE(r.terminated);
      REQUIRE(r.truncated == (t == 200));
    }
    CHECK(steps == 200);
    CHECK_THROWS_WITH(env.step(torque(0.0)), Contains("reset"));
  }
}

TEST_CASE("Pendulum<float> keeps Gymnasium's double state: observations and rewards are the double run's rounded",
          "[pendulum]") {
  Pendulum<float> single;
  Pendulum<double> reference;
  pgrad::Rng a(4), b(4);
  REQUIRE(single.reset(a) == reference.reset(b).cast<float>());
  for (int t = 1; t <= 200; ++t) {
    // The same float torque for both (Gymnasium's actions are float32), sometimes out of range.
    const float u = static_cast<float>(3.0 * std::sin(0.37 * t));
    const auto r = single.step(Pendulum<float>::Action::Constant(u));
    const auto e = reference.step(Pendulum<double>::Action::Constant(static_cast<double>(u)));
    REQUIRE(r.observation == e.observation.cast<float>());
    REQUIRE(r.reward == static_cast<float>(e.reward));
    CHECK(single.theta() == reference.theta());
    CHECK(single.theta_dot() == reference.theta_dot());
    CHECK(r.truncated == e.truncated);
  }
  CHECK_FALSE(single.episode_running());
}

TEST_CASE("Pendulum reset draws theta from U(-pi pi) and theta_dot from U(-1 1)", "[pendulum]") {
  Pendulum<double> env;
  Rng rng(99);
  const int n = 20000;
  double sum_theta = 0, sum_speed = 0, min_theta = 10, max_theta = -10, min_speed = 10, max_speed = -10;
  for (int k = 0; k < n; ++k) {
    const auto obs = env.reset(rng);
    const double theta = env.theta(), speed = env.theta_dot();
    REQUIRE(theta >= -pi);
    REQUIRE(theta < pi);
    REQUIRE(speed >= -1.0);
    REQUIRE(speed < 1.0);
    REQUIRE(obs[0] == std::cos(theta));
    REQUIRE(obs[1] == std::sin(theta));
    REQUIRE(obs[2] == speed);
    sum_theta += theta;
    sum_speed += speed;
    min_theta = std::min(min_theta, theta);
    max_theta = std::max(max_theta, theta);
    min_speed = std::min(min_speed, speed);
    max_speed = std::max(max_speed, speed);
  }
  // Standard errors: pi / sqrt(3 n) = 0.0128 and 1 / sqrt(3 n) = 0.0041.
  CHECK(std::abs(sum_theta / n) < 0.06);
  CHECK(std::abs(sum_speed / n) < 0.02);
  CHECK(min_theta < -pi + 0.01);
  CHECK(max_theta > pi - 0.01);
  CHECK(min_speed < -0.995);
  CHECK(max_speed > 0.995);

  // theta is drawn first, then theta_dot, from the same generator. (Equal up to rounding: the
  // compiler may fuse low + (high - low) * u into an FMA at one call site and not the other; a
  // wrong draw order gives unrelated values.)
  Rng manual(5), given(5);
  const double theta = manual.uniform(-pi, pi);
  const double speed = manual.uniform(-1.0, 1.0);
  env.reset(given);
  CHECK(env.theta() == Approx(theta).epsilon(1e-14));
  CHECK(env.theta_dot() == Approx(speed).epsilon(1e-14));
  const double first_theta = env.theta();
  env.reset(std::uint64_t{5});
  CHECK(env.theta() == first_theta);
}

TEST_CASE("Pendulum errors name the fault", "[pendulum]") {
  Pendulum<float> env;
  CHECK_THROWS_WITH(env.step(Pendulum<float>::Action::Constant(0.f)), Contains("reset"));
  env.reset(std::uint64_t{1});
  CHECK_THROWS_WITH(env.step(Pendulum<float>::Action::Constant(std::numeric_limits<float>::quiet_NaN())),
                    Contains("action nan") && Contains("torque"));
  CHECK_THROWS_WITH(env.step(Pendulum<float>::Action::Constant(std::numeric_limits<float>::infinity())),
                    Contains("action inf"));
  CHECK_NOTHROW(env.step(Pendulum<float>::Action::Constant(100.f)));  // clipped, not refused
  CHECK_THROWS_WITH(env.set_state(0.f, 9.f), Contains("theta_dot 9"));
  CHECK_THROWS_AS(Pendulum<float>(-3), pgrad::Error);

  Pendulum<float> short_env(3);
  short_env.reset(std::uint64_t{1});
  CHECK_FALSE(short_env.step(Pendulum<float>::Action::Zero()).truncated);
  CHECK_FALSE(short_env.step(Pendulum<float>::Action::Zero()).truncated);
  CHECK(short_env.step(Pendulum<float>::Action::Zero()).truncated);
}

TEST_CASE("Pendulum spaces are Gymnasium's", "[pendulum]") {
  const Pendulum<float> env;
  const auto obs = env.observation_space();
  REQUIRE(obs.size() == 3);
  CHECK(obs.high == Eigen::Vector3f(1, 1, 8));
  CHECK(obs.low == Eigen::Vector3f(-1, -1, -8));
  const auto act = env.action_space();
  REQUIRE(act.size() == 1);
  CHECK(act.low[0] == -2.f);
  CHECK(act.high[0] == 2.f);
}
