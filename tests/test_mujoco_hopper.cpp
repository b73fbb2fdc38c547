// Hopper on MuJoCo: the model's published facts, the observation, reward and health rule
// recomputed here from the simulation state, reset noise, the v5 option, state resume.
#include <catch2/catch.hpp>

#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/hopper.hpp>

#include "mujoco_checks.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

using pgrad::Rng;
using pgrad::envs::Hopper;
using pgrad::envs::HopperVersion;

namespace {

using mujoco_checks::id_of;
constexpr double kPi = mujoco_checks::pi;
constexpr double kDt = 4 * 0.002;  // frame skip x timestep, written out rather than asked

Hopper<double>::State state6(double a, double b, double c, double d, double e, double f) {
  Hopper<double>::State s;
  s << a, b, c, d, e, f;
  return s;
}

// Gymnasium's Hopper health rule, written out from hopper_v4.py: z > 0.7, |angle| < 0.2 and
// every entry of state_vector()[2:] = (qpos[2:], qvel) strictly inside (-100, 100).
bool healthy_by_hand(const mjData& data) {
  for (int i = 2; i < 6; ++i)
    if (!(std::abs(data.qpos[i]) < 100)) return false;
  for (int i = 0; i < 6; ++i)
    if (!(std::abs(data.qvel[i]) < 100)) return false;
  return data.qpos[1] > 0.7 && -0.2 < data.qpos[2] && data.qpos[2] < 0.2;
}

}  // namespace

static_assert(pgrad::envs::is_env_v<Hopper<float>>, "Hopper<float> must meet the env contract");
static_assert(pgrad::envs::require_env<Hopper<double>>());
static_assert(std::is_copy_constructible_v<Hopper<float>> && std::is_copy_assignable_v<Hopper<float>>);

TEST_CASE("Hopper model has the published sizes, masses, joints and motors", "[hopper]") {
  const Hopper<float> env;
  const mjModel& model = env.model();
  CHECK(model.nq == 6);
  CHECK(model.nv == 6);
  CHECK(model.nu == 3);
  // Four capsules of density 1000: torso r .05 half-length .2, thigh .05/.225, leg .04/.25,
  // foot .06/.195 (from x -0.13 to 0.26). pi r^2 2h + 4/3 pi r^3 each sums to 15.820 kg.
  const auto capsule = [](double r, double h) { return 1000 * mujoco_checks::capsule_volume(r, h); };
  CHECK(model.body_mass[id_of(model, mjOBJ_BODY, "torso")] == Approx(capsule(0.05, 0.2)).epsilon(1e-12));
  CHECK(model.body_mass[id_of(model, mjOBJ_BODY, "thigh")] == Approx(capsule(0.05, 0.225)).epsilon(1e-12));
  CHECK(model.body_mass[id_of(model, mjOBJ_BODY, "leg")] == Approx(capsule(0.04, 0.25)).epsilon(1e-12));
  CHECK(model.body_mass[id_of(model, mjOBJ_BODY, "foot")] == Approx(capsule(0.06, 0.195)).epsilon(1e-12));
  CHECK(mj_getTotalmass(&model) == Approx(15.820).margin(1e-3));

  CHECK(model.opt.timestep == 0.002);
  CHECK(model.opt.integrator == mjINT_RK4);
  CHECK(env.dt() == Approx(kDt).epsilon(1e-15));
  mujoco_checks::check_motors(model, {"thigh_joint", "leg_joint", "foot_joint"}, {200, 200, 200});
  const double hinge_ranges[3][2] = {{-150 * kPi / 180, 0}, {-150 * kPi / 180, 0}, {-kPi / 4, kPi / 4}};
  const char* hinges[3] = {"thigh_joint", "leg_joint", "foot_joint"};
  for (int k = 0; k < 3; ++k) {
    const int j = id_of(model, mjOBJ_JOINT, hinges[k]);
    CHECK(model.jnt_range[2 * j] == Approx(hinge_ranges[k][0]).margin(1e-12));
    CHECK(model.jnt_range[2 * j + 1] == Approx(hinge_ranges[k][1]).margin(1e-12));
    CHECK(model.dof_damping[model.jnt_dofadr[j]] == 1);
    CHECK(model.dof_armature[model.jnt_dofadr[j]] == 1);
  }
  for (const char* root : {"rootx", "rootz", "rooty"}) {
    const int j = id_of(model, mjOBJ_JOINT, root);
    CHECK(model.jnt_limited[j] == 0);
    CHECK(model.dof_damping[model.jnt_dofadr[j]] == 0);
    CHECK(model.dof_armature[model.jnt_dofadr[j]] == 0);
  }
  // Friction: 0.9 on torso, thigh and leg, 2 on the foot, 1 on the floor; condim 1 but the floor.
  const auto friction = [&](const char* geom) { return model.geom_friction[3 * id_of(model, mjOBJ_GEOM, geom)]; };
  for (const char* geom : {"torso_geom", "thigh_geom", "leg_geom"}) {
    CHECK(friction(geom) == 0.9);
    CHECK(model.geom_condim[id_of(model, mjOBJ_GEOM, geom)] == 1);
    CHECK(model.geom_margin[id_of(model, mjOBJ_GEOM, geom)] == 0.001);
  }
  CHECK(friction("foot_geom") == 2.0);
  CHECK(friction("floor") == 1.0);
  CHECK(model.geom_condim[id_of(model, mjOBJ_GEOM, "floor")] == 3);
}

TEST_CASE("Hopper starts at height 1.25 with the published pose", "[hopper]") {
  const Hopper<float> env;
  const mjModel& model = env.model();
  const mjData& data = env.data();
  CHECK(model.qpos0[1] == 1.25);
  for (int i : {0, 2, 3, 4, 5}) CHECK(model.qpos0[i] == 0);
  // Published geom centres (x, z) in the initial pose.
  const auto centre = [&](const char* name, double x, double z) {
    const int g = id_of(model, mjOBJ_GEOM, name);
    CHECK(data.geom_xpos[3 * g] == Approx(x).margin(1e-12));
    CHECK(data.geom_xpos[3 * g + 2] == Approx(z).margin(1e-12));
  };
  centre("torso_geom", 0, 1.25);
  centre("thigh_geom", 0, 0.825);
  centre("leg_geom", 0, 0.35);
  centre("foot_geom", 0.065, 0.1);
  CHECK(model.geom_size[3 * id_of(model, mjOBJ_GEOM, "foot_geom") + 1] == Approx(0.195).epsilon(1e-12));
}

TEST_CASE("Hopper spaces and the observation layout", "[hopper]") {
  Hopper<double> env;
  CHECK(env.observation_space().size() == 11);
  CHECK_FALSE(env.observation_space().low.allFinite());
  CHECK(env.action_space().size() == 3);
  CHECK((env.action_space().low.array() == -1.0).all());
  CHECK((env.action_space().high.array() == 1.0).all());
  Rng rng(3);
  env.reset(rng);
  // qpos[1:] unclipped, qvel clipped to +-10.
  const auto qpos = state6(0.3, 1.1, 0.1, -0.5, -0.7, 0.1);
  const auto qvel = state6(25.0, -30.0, 9.5, -9.5, 10.5, 0.0);
  env.set_state(qpos, qvel);
  const auto obs = env.observation();
  for (int i = 0; i < 5; ++i) CHECK(obs[i] == qpos[i + 1]);
  const double clipped[6] = {10.0, -10.0, 9.5, -9.5, 10.0, 0.0};
  for (int i = 0; i < 6; ++i) CHECK(obs[5 + i] == clipped[i]);
}

TEST_CASE("Hopper reset adds the seeded uniform noise to qpos0 and zero velocity", "[hopper]") {
  Hopper<double> env;
  Rng rng(11);
  const auto obs = env.reset(rng);
  Rng mirror(11);  // the same draws: 6 for qpos then 6 for qvel, U(-5e-3, 5e-3) each
  const double qpos0[6] = {0, 1.25, 0, 0, 0, 0};
  for (int i = 0; i < 6; ++i) CHECK(env.data().qpos[i] == qpos0[i] + mirror.uniform(-5e-3, 5e-3));
  for (int i = 0; i < 6; ++i) CHECK(env.data().qvel[i] == mirror.uniform(-5e-3, 5e-3));
  CHECK(rng == mirror);  // nothing else drawn
  CHECK(std::abs(obs[0] - 1.25) <= 5e-3);
  CHECK((obs.segment(1, 4).array().abs() <= 5e-3).all());
  CHECK((obs.tail(6).array().abs() <= 5e-3).all());
  CHECK(env.is_healthy());

  // Over many resets every value stays within the noise bounds and uses them.
  double widest = 0;
  for (int k = 0; k < 200; ++k) {
    const auto o = env.reset(rng);
    const double deviation = (o - 1.25 * Hopper<double>::Observation::Unit(0)).cwiseAbs().maxCoeff();
    REQUIRE(deviation <= 5e-3);
    widest = std::max(widest, deviation);
  }
  CHECK(widest > 4.9e-3);
}

TEMPLATE_TEST_CASE("Hopper reward and termination follow their formulas from the state", "[hopper]", float,
                   double) {
  using Env = Hopper<TestType>;
  const double tolerance = std::is_same_v<TestType, float> ? 1e-6 : 1e-12;  // one rounding to TestType
  for (auto version : {HopperVersion::v4, HopperVersion::v5}) {
    Env env(1000, version);
    Rng rng(21);
    int episodes = 0, steps = 0;
    while (episodes < 5) {
      env.reset(rng);
      ++episodes;
      bool done = false;
      while (!done) {
        const typename Env::Action action = env.action_space().sample(rng);
        const double x_before = env.data().qpos[0];
        const auto result = env.step(action);
        ++steps;
        const bool healthy = healthy_by_hand(env.data());
        double cost = 0;
        for (int i = 0; i < 3; ++i) cost += double(action[i]) * double(action[i]);
        const double bonus = (healthy || version == HopperVersion::v4) ? 1.0 : 0.0;
        const double expected = (env.data().qpos[0] - x_before) / kDt + bonus - 1e-3 * cost;
        REQUIRE(double(result.reward) == Approx(expected).epsilon(tolerance).margin(tolerance));
        REQUIRE(result.terminated == !healthy);
        REQUIRE(env.is_healthy() == healthy);
        REQUIRE_FALSE(result.truncated);  // random actions fall long before 1000 steps
        done = result.done();
      }
    }
    CHECK(steps > 5 * 5);
  }
}

TEST_CASE("Hopper terminates exactly when a clause of the health rule fails", "[hopper]") {
  Hopper<double> env;
  Rng rng(2);
  const Hopper<double>::Action zero = Hopper<double>::Action::Zero();
  const auto zeros = state6(0, 0, 0, 0, 0, 0);
  // Lifted 0.5 m so the foot is in the air: the step is free flight.
  const auto from = [&](const Hopper<double>::State& qpos, const Hopper<double>::State& qvel) {
    env.reset(rng);
    env.set_state(qpos, qvel);
    return env.step(zero);
  };
  CHECK_FALSE(from(state6(0, 1.75, 0, 0, 0, 0), zeros).terminated);
  // Torso angle past 0.2 (either way), at rest.
  CHECK(from(state6(0, 1.75, 0.25, 0, 0, 0), zeros).terminated);
  CHECK(from(state6(0, 1.75, -0.25, 0, 0, 0), zeros).terminated);
  CHECK_FALSE(from(state6(0, 1.75, 0.15, 0, 0, 0), zeros).terminated);
  // Forward speed: nothing acts along x in flight, so qvel[0] stays as set. The observation
  // clips it to 10, the health rule reads it raw: 99 is healthy, 101 is not.
  auto r = from(state6(0, 1.75, 0, 0, 0, 0), state6(99, 0, 0, 0, 0, 0));
  CHECK_FALSE(r.terminated);
  CHECK(r.observation[5] == 10.0);
  CHECK(env.data().qvel[0] == Approx(99).epsilon(1e-12));
  CHECK(r.reward == Approx(99 + 1.0).epsilon(1e-9));  // dx / dt = 99 exactly in free flight
  r = from(state6(0, 1.75, 0, 0, 0, 0), state6(101, 0, 0, 0, 0, 0));
  CHECK(r.terminated);
  CHECK(r.reward == Approx(101 + 1.0).epsilon(1e-9));  // v4 pays the healthy reward on the last step
  // Height: z = qpos[1] above 0.7 (no upper bound: 3 m up is healthy).
  CHECK_FALSE(from(state6(0, 3.0, 0, 0, 0, 0), zeros).terminated);
  env.reset(rng);
  env.set_state(state6(0, 0.69, 0, 0, 0, 0), zeros);  // sunk into the floor: unhealthy now
  CHECK_FALSE(env.is_healthy());
}

TEST_CASE("Hopper v5 pays the healthy reward only while healthy", "[hopper]") {
  Hopper<double> v4(1000, HopperVersion::v4), v5(1000, HopperVersion::v5);
  Hopper<double>::Action action;
  action << 0.5, -0.5, 0.25;
  const double cost = 1e-3 * (0.25 + 0.25 + 0.0625);
  for (Hopper<double>* env : {&v4, &v5}) {
    Rng rng(2);
    env->reset(rng);
    env->set_state(state6(0, 1.25, 0.3, 0, 0, 0), state6(0, 0, 0, 0, 0, 0));  // tilted: terminal
    const double x_before = env->data().qpos[0];
    const auto r = env->step(action);
    CHECK(r.terminated);
    const double bonus = env == &v4 ? 1.0 : 0.0;
    CHECK(r.reward == Approx((env->data().qpos[0] - x_before) / kDt + bonus - cost).epsilon(1e-12).margin(1e-12));
    CHECK(env->model().nbody == v4.model().nbody);  // the same model in both
  }
  Rng rng(4);
  v5.reset(rng);
  const double x_before = v5.data().qpos[0];
  const auto r = v5.step(action);
  REQUIRE_FALSE(r.terminated);
  CHECK(r.reward == Approx((v5.data().qpos[0] - x_before) / kDt + 1.0 - cost).epsilon(1e-12).margin(1e-12));
}

TEST_CASE("Hopper truncates at max_episode_steps and rejects bad input", "[hopper]") {
  Hopper<float> env(3);
  Rng rng(1);
  const Hopper<float>::Action zero = Hopper<float>::Action::Zero();
  CHECK_THROWS_WITH(env.step(zero), Catch::Contains("Hopper::step") && Catch::Contains("reset"));
  env.reset(rng);
  for (int t = 1; t <= 3; ++t) CHECK(env.step(zero).truncated == (t == 3));
  CHECK_THROWS_AS(env.step(zero), pgrad::Error);
  CHECK_THROWS_WITH(Hopper<float>(-1), Catch::Contains("Hopper") && Catch::Contains("max_episode_steps"));

  Hopper<double> plain;
  plain.reset(rng);
  Hopper<double>::Action action = Hopper<double>::Action::Zero();
  action[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(plain.step(action), Catch::Contains("Hopper::step action") && Catch::Contains("row 1"));
  action[1] = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(plain.step(action), pgrad::Error);
  // Out of range: MuJoCo clamps ctrl to [-1, 1], the cost is on the action as given.
  Hopper<double> clamped = plain, unit = plain;
  Hopper<double>::Action big = Hopper<double>::Action::Zero(), one = big;
  big[2] = -4.0;
  one[2] = -1.0;
  const auto rb = clamped.step(big);
  const auto r1 = unit.step(one);
  CHECK(rb.observation == r1.observation);
  CHECK(rb.reward == Approx(r1.reward - 1e-3 * (16.0 - 1.0)).epsilon(1e-12));
  CHECK_THROWS_AS(plain.set_state(state6(0, 1.25, 0, 0, 0, 0), state6(0, 0, NAN, 0, 0, 0)), pgrad::Error);
}

TEST_CASE("Hopper resumes exactly from save_state", "[hopper]") {
  Hopper<float> a(1000, HopperVersion::v5);
  Rng rng(8);
  a.reset(rng);
  const auto space = a.action_space();
  for (int t = 0; t < 25; ++t)
    if (a.step(space.sample(rng)).done()) a.reset(rng);
  pgrad::Writer w;
  a.save_state(w);
  Hopper<float> b(1000, HopperVersion::v5);
  pgrad::Reader r(w.bytes());
  b.load_state(r);
  r.finish();
  CHECK(b.elapsed_steps() == a.elapsed_steps());
  Rng rng_b = rng;
  for (int t = 0; t < 200; ++t) {
    const auto ra = a.step(space.sample(rng));
    const auto rb = b.step(space.sample(rng_b));
    REQUIRE(ra.observation == rb.observation);
    REQUIRE(ra.reward == rb.reward);
    REQUIRE(ra.terminated == rb.terminated);
    if (ra.done()) {
      a.reset(rng);
      b.reset(rng_b);
    }
  }
  // A checkpoint of another version or time limit is refused, naming what differs.
  Hopper<float> v4(1000, HopperVersion::v4), short_limit(10, HopperVersion::v5);
  pgrad::Reader r4(w.bytes()), r10(w.bytes());
  CHECK_THROWS_WITH(v4.load_state(r4), Catch::Contains("Hopper::load_state: version differs"));
  CHECK_THROWS_WITH(short_limit.load_state(r10), Catch::Contains("max_episode_steps differs"));
}

TEST_CASE("Hopper passes check_env and steps alike on 1 and 2 threads", "[hopper]") {
  CHECK_NOTHROW(pgrad::envs::check_env(Hopper<float>(), 1));
  CHECK_NOTHROW(pgrad::envs::check_env(Hopper<double>(50, HopperVersion::v5), 2));

  mujoco_checks::check_threads_agree(Hopper<float>(100));
}
