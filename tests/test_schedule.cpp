// Schedules: constant, linear and piecewise values against hand-computed points.
#include <catch2/catch.hpp>

#include <pgrad/core/schedule.hpp>

using pgrad::Schedule;

TEST_CASE("constant and linear schedules", "[schedule]") {
  const auto c = Schedule::constant(0.2);
  CHECK(c(0.0) == 0.2);
  CHECK(c(0.7) == 0.2);
  const auto lr = Schedule::linear(2.5e-4, 0.0);
  CHECK(lr(0.0) == 2.5e-4);
  CHECK(lr(0.25) == Approx(1.875e-4).epsilon(1e-15));
  CHECK(lr(1.0) == 0.0);
  CHECK(lr(-1.0) == 2.5e-4);  // clamped
  CHECK(lr(2.0) == 0.0);
}

TEST_CASE("piecewise schedule interpolates between points and holds outside", "[schedule]") {
  const auto s = Schedule::piecewise({{0.2, 1.0}, {0.6, 3.0}, {0.6, 10.0}, {0.8, 0.0}});
  CHECK(s(0.0) == 1.0);
  CHECK(s(0.2) == 1.0);
  CHECK(s(0.4) == Approx(2.0).epsilon(1e-15));
  CHECK(s(0.6) == 3.0);  // the first of two points at the same progress
  CHECK(s(0.7) == Approx(5.0).epsilon(1e-15));
  CHECK(s(0.9) == 0.0);
}

TEST_CASE("bad schedules throw naming the point", "[schedule][errors]") {
  CHECK_THROWS_WITH(Schedule::piecewise({}), Catch::Contains("at least one point"));
  CHECK_THROWS_WITH(Schedule::piecewise({{0.5, 1.0}, {0.2, 2.0}}), Catch::Contains("ascend"));
  CHECK_THROWS_WITH(Schedule::piecewise({{1.5, 1.0}}), Catch::Contains("outside [0, 1]"));
  CHECK_THROWS_WITH(Schedule::constant(std::nan("")), Catch::Contains("not finite"));
}

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>

TEST_CASE("PPO applies its schedules by training progress", "[schedule][ppo]") {
  pgrad::algo::PpoConfig config;  // lr 2.5e-4 annealed linearly to 0, as CleanRL
  CHECK(config.at_progress(0.0).learning_rate == 2.5e-4);
  CHECK(config.at_progress(0.5).learning_rate == Approx(1.25e-4).epsilon(1e-15));
  config.anneal_learning_rate = false;
  CHECK(config.at_progress(0.5).learning_rate == 2.5e-4);
  config.learning_rate_schedule = Schedule::piecewise({{0.0, 1e-3}, {0.5, 1e-4}});
  config.clip_coef_schedule = Schedule::linear(0.2, 0.1);
  config.ent_coef_schedule = Schedule::constant(0.0);
  const auto halfway = config.at_progress(0.5);
  CHECK(halfway.learning_rate == Approx(1e-4).epsilon(1e-15));
  CHECK(halfway.clip_coef == Approx(0.15).epsilon(1e-15));
  CHECK(halfway.ent_coef == 0.0);
  config.validate();
  config.clip_coef_schedule = Schedule::linear(0.2, 0.0);  // a clip range of 0 at the end
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("clip_coef_schedule"));
  pgrad::algo::A2cConfig a2c;
  a2c.learning_rate_schedule = Schedule::linear(7e-4, 0.0);
  CHECK(a2c.learning_rate_at(0.25) == Approx(5.25e-4).epsilon(1e-15));
  a2c.validate();
  a2c.learning_rate_schedule = Schedule::linear(7e-4, -1e-4);
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("learning_rate_schedule"));
}
