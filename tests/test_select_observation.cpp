// envs::SelectObservation and hide_cartpole_velocity: the entries kept and their order, the
// sub-box, the contract (check_env), checkpoints and errors.
#include <catch2/catch.hpp>

#include <pgrad/core/error.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>

using pgrad::envs::CartPole;

TEST_CASE("hide_cartpole_velocity shows x and theta of the same trajectory", "[wrappers]") {
  CartPole<float> plain;
  auto hidden = pgrad::envs::hide_cartpole_velocity(CartPole<float>{});
  static_assert(decltype(hidden)::Observation::RowsAtCompileTime == 2);
  const auto full = plain.reset(42);
  const auto seen = hidden.reset(42);
  CHECK(seen[0] == full[0]);
  CHECK(seen[1] == full[2]);
  const auto space = hidden.observation_space();
  const auto full_space = plain.observation_space();
  REQUIRE(space.size() == 2);
  CHECK(space.high[0] == full_space.high[0]);
  CHECK(space.high[1] == full_space.high[2]);
  for (int t = 0; t < 300; ++t) {
    const pgrad::Index action = (t / 3) % 2;
    const auto a = plain.step(action);
    const auto b = hidden.step(action);
    CHECK(b.observation[0] == a.observation[0]);
    CHECK(b.observation[1] == a.observation[2]);
    CHECK(b.reward == a.reward);
    CHECK(b.terminated == a.terminated);
    CHECK(b.truncated == a.truncated);
    if (a.terminated || a.truncated) break;
  }
  pgrad::envs::check_env(hidden);
}

TEST_CASE("SelectObservation keeps the given order and checks its indices", "[wrappers]") {
  pgrad::envs::SelectObservation<CartPole<double>, 3> reordered(CartPole<double>{}, {3, 0, 1});
  CartPole<double> plain;
  const auto full = plain.reset(5);
  const auto seen = reordered.reset(5);
  CHECK(seen[0] == full[3]);
  CHECK(seen[1] == full[0]);
  CHECK(seen[2] == full[1]);
  using Two = pgrad::envs::SelectObservation<CartPole<double>, 2>;
  CHECK_THROWS_AS(Two(CartPole<double>{}, {0, 4}), pgrad::Error);
  CHECK_THROWS_AS(Two(CartPole<double>{}, {-1, 1}), pgrad::Error);
  CHECK_THROWS_AS(Two(CartPole<double>{}, {2, 2}), pgrad::Error);
}

TEST_CASE("SelectObservation checkpoints its indices and the inner state", "[wrappers]") {
  auto env = pgrad::envs::hide_cartpole_velocity(CartPole<float>{});
  env.reset(3);
  env.step(1);
  pgrad::Writer w;
  env.save_state(w);
  auto restored = pgrad::envs::hide_cartpole_velocity(CartPole<float>{});
  restored.reset(99);
  pgrad::Reader r(w.bytes(), "test");
  restored.load_state(r);
  for (int t = 0; t < 5; ++t) CHECK(restored.step(0).observation == env.step(0).observation);
  pgrad::envs::SelectObservation<CartPole<float>, 2> other(CartPole<float>{}, {0, 1});
  pgrad::Reader again(w.bytes(), "test");
  CHECK_THROWS_AS(other.load_state(again), pgrad::Error);
}
