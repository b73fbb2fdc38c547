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

TEST_CASE("a number is a constant schedule; min and max span the points", "[schedule]") {
  const Schedule three = 3.0;
  CHECK(three(0.0) == 3.0);
  CHECK(three(1.0) == 3.0);
  CHECK(three.points().size() == 1);
  const auto s = Schedule::piecewise({{0.0, 2.0}, {0.5, -1.0}, {1.0, 4.0}});
  CHECK(s.min() == -1.0);
  CHECK(s.max() == 4.0);
  // CleanRL's annealing, frac * lr with frac = 1 - p, to the last bit.
  const auto lr = Schedule::linear(2.5e-4, 0.0);
  for (double p : {0.0, 0.1, 0.37, 0.5, 0.999}) CHECK(lr(p) == (1.0 - p) * 2.5e-4);
}

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/envs/cartpole.hpp>

TEST_CASE("every algorithm evaluates its schedules at the update's progress", "[schedule][algo]") {
  pgrad::algo::PpoConfig config;  // lr 2.5e-4 annealed linearly to 0, as CleanRL
  CHECK(config.at(0.0).learning_rate == 2.5e-4);
  CHECK(config.at(0.5).learning_rate == Approx(1.25e-4).epsilon(1e-15));
  config.learning_rate = 2.5e-4;  // constant
  CHECK(config.at(0.5).learning_rate == 2.5e-4);
  config.learning_rate = Schedule::piecewise({{0.0, 1e-3}, {0.5, 1e-4}});
  config.clip_coef = Schedule::linear(0.2, 0.1);
  config.ent_coef = 0.0;
  const auto halfway = config.at(0.5);
  CHECK(halfway.learning_rate == Approx(1e-4).epsilon(1e-15));
  CHECK(halfway.clip_coef == Approx(0.15).epsilon(1e-15));
  CHECK(halfway.ent_coef == 0.0);
  config.validate();
  config.clip_coef = Schedule::linear(0.2, 0.0);  // RL-Zoo's: 0 only at the end of training
  config.validate();
  config.clip_coef = Schedule::piecewise({{0.0, 0.2}, {0.5, 0.0}, {1.0, 0.1}});  // 0 midway
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("clip_coef"));
  pgrad::algo::A2cConfig a2c;
  a2c.learning_rate = Schedule::linear(7e-4, 0.0);
  CHECK(a2c.at(0.25).learning_rate == Approx(5.25e-4).epsilon(1e-15));
  a2c.validate();
  a2c.learning_rate = Schedule::linear(7e-4, -1e-4);
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("learning_rate"));
  a2c.learning_rate = Schedule::linear(0.0, 1e-3);  // must start positive
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("learning_rate"));
  a2c = {};
  a2c.ent_coef = Schedule::linear(0.01, -0.01);
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("ent_coef"));
}

TEST_CASE("the reported learning rate follows the schedule, REINFORCE included", "[schedule][algo]") {
  using Env = pgrad::envs::CartPole<float>;
  // PPO: 4 updates of a 4-update run at p = 0, 1/4, 2/4, 3/4.
  pgrad::algo::PpoConfig ppo_config;
  ppo_config.num_steps = 16;
  ppo_config.learning_rate = Schedule::linear(1e-3, 0.0);
  pgrad::algo::Ppo<Env> ppo(Env{}, ppo_config, 1);
  std::vector<double> rates;
  ppo.learn(4 * ppo_config.batch_size(), [&](const pgrad::algo::UpdateReport& r) {
    rates.push_back(r.learning_rate);
    return true;
  });
  CHECK(rates == std::vector<double>{1e-3, 0.75 * 1e-3, 0.5 * 1e-3, 0.25 * 1e-3});
  // REINFORCE: p = steps taken in the run / total steps, at the start of each episode.
  pgrad::algo::ReinforceConfig reinforce_config;
  reinforce_config.learning_rate = Schedule::linear(0.01, 0.0);
  pgrad::algo::Reinforce<Env> reinforce(Env{}, reinforce_config, 1);
  const long long total = 2000;
  long long steps_before = 0;
  bool all_match = true;
  int updates = 0;
  reinforce.learn(total, [&](const pgrad::algo::UpdateReport& r) {
    const double expected = (1.0 - static_cast<double>(steps_before) / total) * 0.01;
    all_match = all_match && r.learning_rate == Approx(expected).epsilon(1e-12);
    steps_before = r.steps;
    ++updates;
    return true;
  });
  CHECK(updates > 3);
  CHECK(all_match);
  CHECK(reinforce.run_steps() >= total);
}
