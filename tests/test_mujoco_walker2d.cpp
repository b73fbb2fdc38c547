// Walker2d on MuJoCo: the model's published facts, the observation, reward and termination
// formulas recomputed here from the simulation state, reset noise, the v5 option, copies.
#include <catch2/catch.hpp>

#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/walker2d.hpp>

#include "mujoco_checks.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

using pgrad::Rng;
using pgrad::envs::Walker2d;
using pgrad::envs::Walker2dVersion;

namespace {

using mujoco_checks::id_of;
constexpr double kPi = mujoco_checks::pi;
constexpr double kDt = 4 * 0.002;  // frame skip x timestep, written out rather than asked

Walker2d<double>::State state_vector(std::initializer_list<double> values) {
  Walker2d<double>::State s;
  int i = 0;
  for (double v : values) s[i++] = v;
  REQUIRE(i == 9);
  return s;
}

}  // namespace

static_assert(pgrad::envs::is_env_v<Walker2d<float>>, "Walker2d<float> must meet the env contract");
static_assert(pgrad::envs::require_env<Walker2d<double>>());
static_assert(std::is_copy_constructible_v<Walker2d<float>> && std::is_copy_assignable_v<Walker2d<float>>);

TEST_CASE("Walker2d model has the published sizes and total mass", "[walker2d]") {
  const Walker2d<float> env;
  const mjModel& model = env.model();
  CHECK(model.nq == 9);
  CHECK(model.nv == 9);
  CHECK(model.nu == 6);
  // Seven capsules of density 1000: torso r .05 half-length .2, thigh .05/.225, leg .04/.25,
  // foot .06/.1, the last three twice. pi r^2 2h + 4/3 pi r^3 each sums to 23.677 kg.
  const auto capsule = [](double r, double h) { return 1000 * mujoco_checks::capsule_volume(r, h); };
  const double by_hand = capsule(0.05, 0.2) + 2 * (capsule(0.05, 0.225) + capsule(0.04, 0.25) + capsule(0.06, 0.1));
  CHECK(by_hand == Approx(23.677).margin(1e-3));
  CHECK(mj_getTotalmass(&model) == Approx(23.677).margin(1e-3));
  double sum = 0;
  for (int b = 0; b < model.nbody; ++b) sum += model.body_mass[b];
  CHECK(sum == Approx(by_hand).epsilon(1e-12));

  CHECK(model.opt.timestep == 0.002);
  CHECK(model.opt.integrator == mjINT_RK4);
  CHECK(env.dt() == Approx(kDt).epsilon(1e-15));
  mujoco_checks::check_motors(
      model, {"thigh_joint", "leg_joint", "foot_joint", "thigh_left_joint", "leg_left_joint", "foot_left_joint"},
      {100, 100, 100, 100, 100, 100});
  for (const char* name : {"thigh_joint", "leg_joint", "thigh_left_joint", "leg_left_joint"}) {
    const int j = id_of(model, mjOBJ_JOINT, name);
    CHECK(model.jnt_range[2 * j] == Approx(-150 * kPi / 180).epsilon(1e-12));
    CHECK(model.jnt_range[2 * j + 1] == 0);
  }
  for (const char* name : {"foot_joint", "foot_left_joint"}) {
    const int j = id_of(model, mjOBJ_JOINT, name);
    CHECK(model.jnt_range[2 * j] == Approx(-kPi / 4).epsilon(1e-12));
    CHECK(model.jnt_range[2 * j + 1] == Approx(kPi / 4).epsilon(1e-12));
  }
}

TEST_CASE("Walker2d starts at height 1.25 with the published pose", "[walker2d]") {
  const Walker2d<float> env;
  const mjModel& model = env.model();
  const mjData& data = env.data();
  CHECK(model.qpos0[1] == 1.25);
  for (int i : {0, 2, 3, 4, 5, 6, 7, 8}) CHECK(model.qpos0[i] == 0);
  const int torso = mj_name2id(&model, mjOBJ_BODY, "torso");
  CHECK(data.xpos[3 * torso + 2] == Approx(1.25).epsilon(1e-12));
  // Published geom centres (x, z) in the initial pose.
  const auto centre = [&](const char* name, double x, double z) {
    const int g = id_of(model, mjOBJ_GEOM, name);
    CHECK(data.geom_xpos[3 * g] == Approx(x).margin(1e-12));
    CHECK(data.geom_xpos[3 * g + 2] == Approx(z).margin(1e-12));
  };
  centre("torso_geom", 0, 1.25);
  centre("thigh_geom", 0, 0.825);
  centre("leg_geom", 0, 0.35);
  centre("foot_geom", 0.1, 0.1);
  centre("foot_left_geom", 0.1, 0.1);
}

TEST_CASE("Walker2d spaces and the observation layout", "[walker2d]") {
  Walker2d<double> env;
  const auto obs_space = env.observation_space();
  const auto act_space = env.action_space();
  CHECK(obs_space.size() == 17);
  CHECK_FALSE(obs_space.low.allFinite());
  CHECK_FALSE(obs_space.high.allFinite());
  CHECK(act_space.size() == 6);
  CHECK((act_space.low.array() == -1.0).all());
  CHECK((act_space.high.array() == 1.0).all());

  Rng rng(3);
  const auto first = env.reset(rng);
  CHECK(first.size() == 17);

  // qpos[1:] unclipped, qvel clipped to +-10.
  const auto qpos = state_vector({0.3, 1.1, 0.2, -0.5, -0.7, 0.1, -0.2, -0.3, 0.4});
  const auto qvel = state_vector({25.0, -30.0, 9.5, -9.5, 10.5, 0.0, 1.0, -11.0, 3.0});
  env.set_state(qpos, qvel);
  const auto obs = env.observation();
  for (int i = 0; i < 8; ++i) CHECK(obs[i] == qpos[i + 1]);
  const double clipped[9] = {10.0, -10.0, 9.5, -9.5, 10.0, 0.0, 1.0, -10.0, 3.0};
  for (int i = 0; i < 9; ++i) CHECK(obs[8 + i] == clipped[i]);
}

TEST_CASE("Walker2d reset adds the seeded uniform noise to qpos0 and zero velocity", "[walker2d]") {
  Walker2d<double> env;
  Rng rng(11);
  const auto obs = env.reset(rng);
  // The same draws made here: 9 for qpos then 9 for qvel, U(-5e-3, 5e-3) each.
  Rng mirror(11);
  const double qpos0[9] = {0, 1.25, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 9; ++i) CHECK(env.data().qpos[i] == qpos0[i] + mirror.uniform(-5e-3, 5e-3));
  for (int i = 0; i < 9; ++i) CHECK(env.data().qvel[i] == mirror.uniform(-5e-3, 5e-3));
  CHECK(rng == mirror);  // nothing else drawn
  CHECK(std::abs(obs[0] - 1.25) <= 5e-3);
  CHECK((obs.segment(1, 7).array().abs() <= 5e-3).all());
  CHECK((obs.tail(9).array().abs() <= 5e-3).all());

  Walker2d<float> a, b;
  Rng r1(7), r2(7), r3(8);
  const auto oa = a.reset(r1);
  CHECK(oa == b.reset(r2));
  CHECK(oa != b.reset(r3));
  CHECK(a.reset(std::uint64_t{5}) == b.reset(std::uint64_t{5}));
}

TEST_CASE("Walker2d zero action episode falls with finite rewards", "[walker2d]") {
  Walker2d<float> env;
  Rng rng(0);
  env.reset(rng);
  const Walker2d<float>::Action zero = Walker2d<float>::Action::Zero();
  int steps = 0;
  pgrad::envs::StepResult<Walker2d<float>::Observation> result;
  do {
    result = env.step(zero);
    ++steps;
    REQUIRE(std::isfinite(result.reward));
    REQUIRE(result.observation.allFinite());
  } while (!result.done());
  CHECK(result.terminated);
  CHECK_FALSE(result.truncated);
  CHECK(steps < 1000);
  const double z = env.data().qpos[1], angle = env.data().qpos[2];
  CHECK_FALSE((0.8 < z && z < 2.0 && -1 < angle && angle < 1));
  CHECK_THROWS_AS(env.step(zero), pgrad::Error);  // ended: reset first
}

TEMPLATE_TEST_CASE("Walker2d reward and termination follow their formulas from the state",
                   "[walker2d]", float, double) {
  using Env = Walker2d<TestType>;
  // The reward is computed in double and rounded once to TestType.
  const double tolerance = std::is_same_v<TestType, float> ? 1e-6 : 1e-12;
  for (auto version : {Walker2dVersion::v4, Walker2dVersion::v5}) {
    Env env(1000, version);
    Rng rng(21);
    env.reset(rng);
    const auto space = env.action_space();
    int steps = 0;
    bool done = false;
    while (!done) {
      const typename Env::Action action = space.sample(rng);
      const double x_before = env.data().qpos[0];
      const auto result = env.step(action);
      ++steps;
      const double x_after = env.data().qpos[0];
      const double z = env.data().qpos[1], angle = env.data().qpos[2];
      const bool healthy = 0.8 < z && z < 2.0 && -1.0 < angle && angle < 1.0;
      double cost = 0;
      for (int i = 0; i < 6; ++i) cost += double(action[i]) * double(action[i]);
      const double bonus = (healthy || version == Walker2dVersion::v4) ? 1.0 : 0.0;
      const double expected = (x_after - x_before) / kDt + bonus - 1e-3 * cost;
      REQUIRE(double(result.reward) == Approx(expected).epsilon(tolerance).margin(tolerance));
      REQUIRE(result.terminated == !healthy);
      REQUIRE(result.truncated == (steps >= 1000));
      done = result.done();
    }
    CHECK(steps > 1);
  }
}

TEST_CASE("Walker2d truncates at max_episode_steps", "[walker2d]") {
  Walker2d<float> env(5);
  Rng rng(1);
  env.reset(rng);
  const Walker2d<float>::Action zero = Walker2d<float>::Action::Zero();
  for (int t = 1; t <= 5; ++t) {
    const auto r = env.step(zero);
    CHECK_FALSE(r.terminated);
    CHECK(r.truncated == (t == 5));
    CHECK(env.elapsed_steps() == t);
  }
  CHECK_THROWS_AS(env.step(zero), pgrad::Error);
  env.reset(rng);
  CHECK(env.elapsed_steps() == 0);
  CHECK_NOTHROW(env.step(zero));
  CHECK_THROWS_AS(Walker2d<float>(-1), pgrad::Error);

  Walker2d<float> unlimited(0);  // no time limit: only a fall ends the episode
  unlimited.reset(rng);
  CHECK_FALSE(unlimited.step(zero).truncated);
}

TEST_CASE("Walker2d v5 option changes foot friction and the terminal healthy reward", "[walker2d]") {
  Walker2d<double> v4(1000, Walker2dVersion::v4), v5(1000, Walker2dVersion::v5);
  const auto friction = [](const Walker2d<double>& env, const char* geom) {
    return env.model().geom_friction[3 * id_of(env.model(), mjOBJ_GEOM, geom)];
  };
  CHECK(friction(v4, "foot_geom") == 0.9);
  CHECK(friction(v4, "foot_left_geom") == 1.9);
  CHECK(friction(v5, "foot_geom") == 1.9);
  CHECK(friction(v5, "foot_left_geom") == 1.9);
  for (const char* geom : {"torso_geom", "thigh_geom", "leg_geom", "thigh_left_geom", "leg_left_geom"}) {
    CHECK(friction(v4, geom) == 0.9);
    CHECK(friction(v5, geom) == 0.9);
  }

  // Torso tilted past 1 rad at rest: the next step is terminal whatever the action.
  const auto qpos = state_vector({0, 1.25, 1.3, 0, 0, 0, 0, 0, 0});
  const auto qvel = state_vector({0, 0, 0, 0, 0, 0, 0, 0, 0});
  Walker2d<double>::Action action;
  action << 0.5, -0.5, 0.25, 0, 1, -1;
  const double cost = 1e-3 * (0.25 + 0.25 + 0.0625 + 0 + 1 + 1);
  for (Walker2d<double>* env : {&v4, &v5}) {
    Rng rng(2);
    env->reset(rng);
    env->set_state(qpos, qvel);
    const double x_before = env->data().qpos[0];
    const auto r = env->step(action);
    const double dx = env->data().qpos[0] - x_before;
    CHECK(r.terminated);
    const double bonus = env == &v4 ? 1.0 : 0.0;
    CHECK(r.reward == Approx(dx / kDt + bonus - cost).epsilon(1e-12).margin(1e-12));
  }
  // While healthy, v5 pays the healthy reward too.
  Rng rng(4);
  v5.reset(rng);
  const double x_before = v5.data().qpos[0];
  const auto r = v5.step(action);
  REQUIRE_FALSE(r.terminated);
  CHECK(r.reward == Approx((v5.data().qpos[0] - x_before) / kDt + 1.0 - cost).epsilon(1e-12).margin(1e-12));
}

TEST_CASE("Walker2d rejects non finite actions and passes out of range ones to MuJoCo", "[walker2d]") {
  Walker2d<double> env;
  Walker2d<double>::Action action = Walker2d<double>::Action::Zero();
  CHECK_THROWS_WITH(env.step(action), Catch::Contains("reset"));  // never reset
  Rng rng(9);
  env.reset(rng);
  action[3] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(env.step(action), Catch::Contains("action") && Catch::Contains("row 3"));
  action[3] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(env.step(action), pgrad::Error);

  // MuJoCo clamps ctrl to [-1, 1] (ctrllimited): 3 acts as 1 on the physics, but the control
  // cost is on the action as given, as in Gymnasium.
  Walker2d<double> clamped = env, plain = env;
  Walker2d<double>::Action big = Walker2d<double>::Action::Zero(), one = big;
  big[0] = 3.0;
  one[0] = 1.0;
  const auto rb = clamped.step(big);
  const auto r1 = plain.step(one);
  CHECK(rb.observation == r1.observation);
  CHECK(rb.reward == Approx(r1.reward - 1e-3 * (9.0 - 1.0)).epsilon(1e-12));
  CHECK_THROWS_AS(env.set_state(state_vector({0, 1.25, 0, 0, 0, 0, 0, 0, 0}),
                                state_vector({0, NAN, 0, 0, 0, 0, 0, 0, 0})),
                  pgrad::Error);
}

TEST_CASE("Walker2d turns a diverged MuJoCo simulation into an error", "[walker2d]") {
  // MuJoCo resets mjData silently (after printing a warning) when qvel exceeds 1e10; the env
  // must report it instead. The test silences MuJoCo's printed warning (and its log file).
  void (*saved)(const char*) = mju_user_warning;
  mju_user_warning = [](const char*) {};
  Walker2d<double> env;
  Rng rng(6);
  env.reset(rng);
  env.set_state(state_vector({0, 1.25, 0, 0, 0, 0, 0, 0, 0}), state_vector({0, 0, 0, 0, 0, 0, 0, 1e11, 0}));
  CHECK_THROWS_WITH(env.step(Walker2d<double>::Action::Zero()),
                    Catch::Contains("diverged") && Catch::Contains("qvel at index 7"));
  mju_user_warning = saved;
}

TEST_CASE("Walker2d copies own their simulation state", "[walker2d]") {
  Walker2d<float> original;
  Rng rng(5);
  original.reset(rng);
  Walker2d<float>::Action action;
  action << 0.3f, -0.2f, 0.1f, -0.4f, 0.5f, 0.0f;
  original.step(action);

  Walker2d<float> copy = original;
  CHECK(&copy.data() != &original.data());
  CHECK(&copy.model() == &original.model());  // the immutable model is shared
  const auto a = original.step(action);
  const auto b = copy.step(action);
  CHECK(a.observation == b.observation);
  CHECK(a.reward == b.reward);

  const auto before = original.observation();
  for (int t = 0; t < 10 && !copy.step(-action).done(); ++t) {
  }
  CHECK(original.observation() == before);
  CHECK(copy.observation() != before);

  Walker2d<float> assigned(10, Walker2dVersion::v5);
  assigned = original;
  CHECK(assigned.version() == Walker2dVersion::v4);
  CHECK(assigned.max_episode_steps() == 1000);
  CHECK(assigned.elapsed_steps() == original.elapsed_steps());
  CHECK(assigned.observation() == original.observation());
  CHECK(assigned.step(action).observation == original.step(action).observation);
}

TEST_CASE("MJCF loading errors carry the MuJoCo message", "[walker2d]") {
  const std::string broken =
      "<mujoco><worldbody><body><geom type='nosuchtype' size='1'/></body></worldbody></mujoco>";
  CHECK_THROWS_WITH(pgrad::envs::detail::load_mjcf(broken, "test model"),
                    Catch::Contains("test model") && Catch::Contains("MuJoCo could not load") &&
                        Catch::Contains("nosuchtype"));
  CHECK_NOTHROW(pgrad::envs::detail::load_mjcf(pgrad::envs::detail::walker2d_mjcf(0.9, 1.9), "walker"));
}

TEST_CASE("Walker2d passes check_env in both versions", "[walker2d]") {
  CHECK_NOTHROW(pgrad::envs::check_env(Walker2d<float>(), 1));
  CHECK_NOTHROW(pgrad::envs::check_env(Walker2d<double>(50, Walker2dVersion::v5), 2));
}

TEST_CASE("Walker2d through VectorEnv is bit identical with 1 and 2 threads", "[walker2d]") {
  // The copies share one mjModel across the worker threads; each owns its mjData.
  mujoco_checks::check_threads_agree(Walker2d<float>(100));
}
