// CartPole-v1: dynamics against an independent double-precision implementation of Gymnasium's
// published equations, closed-form first step, reset distribution, time limit and errors.
#include <catch2/catch.hpp>

#include <pgrad/envs/cartpole.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using pgrad::Index;
using pgrad::Rng;
using pgrad::envs::CartPole;
using Catch::Matchers::Contains;

static_assert(pgrad::envs::require_env<CartPole<float>>());
static_assert(pgrad::envs::require_env<CartPole<double>>());

namespace {

// Gymnasium's CartPole-v1 step written out again from the published description (not from the
// header): Euler integration of the old state, termination on |x| > 2.4 or |theta| > 12 deg.
struct ReferenceCartPole {
  double x, x_dot, theta, theta_dot;

  bool step(int action) {
    const double gravity = 9.8, cart = 1.0, pole = 0.1, half = 0.5, force_mag = 10.0, tau = 0.02;
    const double total = cart + pole;
    const double force = action == 1 ? force_mag : -force_mag;
    const double c = std::cos(theta), s = std::sin(theta);
    const double temp = (force + pole * half * theta_dot * theta_dot * s) / total;
    const double theta_acc = (gravity * s - c * temp) / (half * (4.0 / 3.0 - pole * c * c / total));
    const double x_acc = temp - pole * half * theta_acc * c / total;
    const double nx = x + tau * x_dot, nx_dot = x_dot + tau * x_acc;
    const double nth = theta + tau * theta_dot, nth_dot = theta_dot + tau * theta_acc;
    x = nx;
    x_dot = nx_dot;
    theta = nth;
    theta_dot = nth_dot;
    const double pi = std::acos(-1.0);
    return std::fabs(x) > 2.4 || std::fabs(theta) > 12.0 * 2.0 * pi / 360.0;
  }
};

CartPole<double>::State state_of(double x, double x_dot, double theta, double theta_dot) {
  CartPole<double>::State s;
  s << x, x_dot, theta, theta_dot;
  return s;
}

// A fixed, irregular action sequence.
int action_at(int t) { return (t * 7 + t / 3) % 5 < 3 ? 1 : 0; }

}  // namespace

TEST_CASE("CartPole first step from rest matches the closed form", "[cartpole]") {
  // From the zero state with F = +10: temp = 100/11, theta_acc = -600/41, x_acc = 400/41, so
  // after tau = 0.02: x = 0, x_dot = 8/41, theta = 0, theta_dot = -12/41.
  CartPole<double> env;
  env.set_state(state_of(0, 0, 0, 0));
  const auto right = env.step(1);
  CHECK(right.observation[0] == 0.0);
  CHECK(right.observation[1] == Approx(8.0 / 41.0).epsilon(1e-14));
  CHECK(right.observation[2] == 0.0);
  CHECK(right.observation[3] == Approx(-12.0 / 41.0).epsilon(1e-14));
  CHECK(right.reward == 1.0);
  CHECK_FALSE(right.terminated);
  CHECK_FALSE(right.truncated);

  env.set_state(state_of(0, 0, 0, 0));
  const auto left = env.step(0);
  CHECK(left.observation[1] == Approx(-8.0 / 41.0).epsilon(1e-14));
  CHECK(left.observation[3] == Approx(12.0 / 41.0).epsilon(1e-14));
}

TEST_CASE("CartPole in double follows the reference trajectory to the exact termination step",
          "[cartpole]") {
  const std::vector<std::vector<double>> starts = {
      {0.01, -0.02, 0.03, 0.04}, {-0.04, 0.03, -0.01, 0.02}, {0.0, 0.0, 0.0, 0.0}, {2.3, 0.5, 0.0, 0.0}};
  for (const auto& s : starts) {
    CartPole<double> env;
    env.set_state(state_of(s[0], s[1], s[2], s[3]));
    ReferenceCartPole ref{s[0], s[1], s[2], s[3]};
    int reference_end = -1, env_end = -1;
    for (int t = 1; t <= 400 && env_end < 0; ++t) {
      const int action = action_at(t);
      const bool ref_terminated = ref.step(action);
      const auto r = env.step(action);
      CHECK(r.observation[0] == Approx(ref.x).margin(1e-12));
      CHECK(r.observation[1] == Approx(ref.x_dot).margin(1e-12));
      CHECK(r.observation[2] == Approx(ref.theta).margin(1e-12));
      CHECK(r.observation[3] == Approx(ref.theta_dot).margin(1e-12));
      REQUIRE(r.reward == 1.0);  // +1 on every step, the terminating one included
      CHECK_FALSE(r.truncated);
      if (ref_terminated && reference_end < 0) reference_end = t;
      if (r.terminated) env_end = t;
    }
    INFO("start " << s[0] << " " << s[1] << " " << s[2] << " " << s[3]);
    REQUIRE(reference_end > 0);
    CHECK(env_end == reference_end);
  }
}

TEST_CASE("CartPole<float> keeps Gymnasium's double state: its observations are the double run's rounded",
          "[cartpole]") {
  // A balancing controller keeps the pole up for the whole 500 steps, where float physics
  // would drift from Gymnasium's: every observation must be the double run's, rounded to float.
  for (std::uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    CartPole<float> single;
    CartPole<double> reference;
    pgrad::Rng a(seed), b(seed);
    auto observation = single.reset(a);
    auto expected = reference.reset(b);
    CHECK(observation == expected.cast<float>());
    int steps = 0;
    for (;;) {
      const pgrad::Index action = expected[2] + 0.5 * expected[3] > 0 ? 1 : 0;  // push under the pole
      const auto r = single.step(action);
      const auto e = reference.step(action);
      ++steps;
      REQUIRE(r.observation == e.observation.cast<float>());
      REQUIRE(r.terminated == e.terminated);
      REQUIRE(r.truncated == e.truncated);
      CHECK(single.state() == reference.state());
      expected = e.observation;
      if (r.done()) break;
    }
    CHECK(steps == 500);
  }
}

TEST_CASE("CartPole terminates past each threshold and not before", "[cartpole]") {
  CartPole<double> env;
  // theta just under 12 degrees moving outwards crosses it in one step; x likewise.
  const double limit = 12.0 * 2.0 * std::acos(-1.0) / 360.0;
  env.set_state(state_of(0, 0, limit - 1e-4, 1.0));  // theta += 0.02
  CHECK(env.step(1).terminated);
  env.set_state(state_of(0, 0, -limit + 1e-4, -1.0));
  CHECK(env.step(0).terminated);
  env.set_state(state_of(2.4 - 1e-4, 1.0, 0, 0));  // x += 0.02
  CHECK(env.step(1).terminated);
  env.set_state(state_of(-2.4 + 1e-4, -1.0, 0, 0));
  CHECK(env.step(0).terminated);
  env.set_state(state_of(2.4 - 0.03, 1.0, 0, 0));  // x ends at 2.39: inside
  CHECK_FALSE(env.step(1).terminated);
}

TEST_CASE("CartPole reset draws every entry from U(-0.05 0.05)", "[cartpole]") {
  CartPole<float> env;
  Rng rng(123);
  const int n = 20000;
  Eigen::Vector4d sum = Eigen::Vector4d::Zero();
  Eigen::Vector4f lo = Eigen::Vector4f::Constant(1), hi = Eigen::Vector4f::Constant(-1);
  for (int k = 0; k < n; ++k) {
    const auto obs = env.reset(rng);
    REQUIRE((obs.array() >= -0.05f).all());
    REQUIRE((obs.array() < 0.05f).all());
    sum += obs.cast<double>();
    lo = lo.cwiseMin(obs);
    hi = hi.cwiseMax(obs);
  }
  // Mean 0 (standard error 0.0289 / sqrt(n) = 2e-4) and the whole interval covered.
  CHECK((sum / n).cwiseAbs().maxCoeff() < 1.5e-3);
  CHECK(lo.maxCoeff() < -0.0495f);
  CHECK(hi.minCoeff() > 0.0495f);

  // reset(seed) is reset(Rng(seed)), and deterministic.
  Rng again(7);
  CHECK(env.reset(std::uint64_t{7}) == CartPole<float>().reset(again));
  CHECK(env.reset(std::uint64_t{7}) == env.reset(std::uint64_t{7}));
  CHECK(env.reset(std::uint64_t{7}) != env.reset(std::uint64_t{8}));
}

TEST_CASE("CartPole truncates at 500 steps by default", "[cartpole]") {
  CartPole<double> env;
  REQUIRE(env.max_episode_steps() == 500);
  auto obs = env.reset(std::uint64_t{3});
  int steps = 0;
  for (;;) {
    // A linear balancing controller keeps the pole up for the whole episode.
    const double v = 0.1 * obs[0] + 0.5 * obs[1] + 3.0 * obs[2] + 1.0 * obs[3];
    const auto r = env.step(v > 0 ? 1 : 0);
    ++steps;
    REQUIRE_FALSE(r.terminated);
    obs = r.observation;
    if (r.truncated) break;
    REQUIRE(steps < 500);
  }
  CHECK(steps == 500);
  CHECK(env.elapsed_steps() == 500);
  CHECK_THROWS_WITH(env.step(1), Contains("reset"));

  CartPole<double> short_env(10);
  short_env.reset(std::uint64_t{3});
  for (int t = 1; t <= 10; ++t) {
    const auto r = short_env.step(t % 2);
    CHECK(r.truncated == (t == 10));
  }

  CartPole<double> unlimited(0);
  unlimited.reset(std::uint64_t{3});
  obs = unlimited.reset(std::uint64_t{3});
  for (int t = 1; t <= 600; ++t) {
    const double v = 0.1 * obs[0] + 0.5 * obs[1] + 3.0 * obs[2] + 1.0 * obs[3];
    const auto r = unlimited.step(v > 0 ? 1 : 0);
    REQUIRE_FALSE(r.done());
    obs = r.observation;
  }
}

TEST_CASE("CartPole reports terminated and truncated together at the time limit", "[cartpole]") {
  CartPole<double> env(1);
  env.set_state(state_of(0, 0, 0.2, 1.0));
  const auto r = env.step(1);
  CHECK(r.terminated);
  CHECK(r.truncated);  // Gymnasium's TimeLimit sets it whatever terminated says
  CHECK(r.reward == 1.0);
}

TEST_CASE("CartPole refuses to step after termination or before reset", "[cartpole]") {
  CartPole<float> env;
  CHECK_THROWS_AS(env.step(0), pgrad::Error);
  env.reset(std::uint64_t{1});
  int steps = 0;
  while (!env.step(1).terminated) ++steps;  // pushing right always falls
  CHECK(steps < 100);
  CHECK_THROWS_WITH(env.step(1), Contains("episode has ended") && Contains("reset"));
  env.reset(std::uint64_t{1});
  CHECK_NOTHROW(env.step(1));
}

TEST_CASE("CartPole rejects actions outside Discrete(2) naming the action", "[cartpole]") {
  CartPole<float> env;
  env.reset(std::uint64_t{1});
  CHECK_THROWS_WITH(env.step(2), Contains("action 2"));
  CHECK_THROWS_WITH(env.step(-1), Contains("action -1"));
  CHECK_THROWS_AS(CartPole<float>(-1), pgrad::Error);
  CHECK_NOTHROW(env.step(0));
}

TEST_CASE("CartPole spaces are Gymnasium's", "[cartpole]") {
  const CartPole<double> env;
  const auto obs = env.observation_space();
  REQUIRE(obs.size() == 4);
  CHECK(obs.high[0] == Approx(4.8));
  CHECK(obs.high[2] == Approx(24.0 * std::acos(-1.0) / 180.0));
  CHECK(obs.high[1] == Approx(std::numeric_limits<float>::max()));
  CHECK(obs.low == -obs.high);
  CHECK(env.action_space().n == 2);
}
