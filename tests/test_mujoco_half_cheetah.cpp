// HalfCheetah on MuJoCo: the model's published facts, the observation and reward recomputed here
// from the simulation state, the reset distribution, free flight from a set state, state resume.
#include <catch2/catch.hpp>

#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/half_cheetah.hpp>

#include "mujoco_checks.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

using pgrad::Rng;
using pgrad::envs::HalfCheetah;
using pgrad::envs::HalfCheetahVersion;

namespace {

using mujoco_checks::capsule_volume;
using mujoco_checks::id_of;
constexpr double kDt = 5 * 0.01;  // frame skip x timestep, written out rather than asked

using State = HalfCheetah<double>::State;

State state9(std::initializer_list<double> values) {
  State s;
  int i = 0;
  for (double v : values) s[i++] = v;
  REQUIRE(i == 9);
  return s;
}

}  // namespace

static_assert(pgrad::envs::is_env_v<HalfCheetah<float>>, "HalfCheetah<float> must meet the env contract");
static_assert(pgrad::envs::require_env<HalfCheetah<double>>());

TEST_CASE("HalfCheetah model has the published sizes, masses, joints and motors", "[half_cheetah]") {
  const HalfCheetah<float> env;
  const mjModel& model = env.model();
  CHECK(model.nq == 9);
  CHECK(model.nv == 9);
  CHECK(model.nu == 6);
  CHECK(model.opt.timestep == 0.01);
  CHECK(model.opt.integrator == mjINT_EULER);
  CHECK(model.opt.gravity[2] == -9.81);
  CHECK(env.dt() == Approx(kDt).epsilon(1e-15));

  // settotalmass 14: the bodies share 14 kg in proportion to their capsule volumes (r 0.046;
  // torso half length 0.5 plus the head 0.15; limbs 0.145, 0.15, 0.094, 0.133, 0.106, 0.07).
  CHECK(mj_getTotalmass(&model) == Approx(14.0).epsilon(1e-12));
  const char* bodies[7] = {"torso", "bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"};
  const double volumes[7] = {capsule_volume(0.046, 0.5) + capsule_volume(0.046, 0.15),
                             capsule_volume(0.046, 0.145), capsule_volume(0.046, 0.15),
                             capsule_volume(0.046, 0.094), capsule_volume(0.046, 0.133),
                             capsule_volume(0.046, 0.106), capsule_volume(0.046, 0.07)};
  double total_volume = 0;
  for (double v : volumes) total_volume += v;
  for (int b = 0; b < 7; ++b)
    CHECK(model.body_mass[id_of(model, mjOBJ_BODY, bodies[b])] == Approx(14.0 * volumes[b] / total_volume).epsilon(1e-9));

  mujoco_checks::check_motors(model, {"bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"},
                              {120, 90, 60, 120, 60, 30});
  // Joints in action order: range, stiffness, damping, armature.
  const char* joints[6] = {"bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"};
  const double ranges[6][2] = {{-0.52, 1.05}, {-0.785, 0.785}, {-0.4, 0.785}, {-1, 0.7}, {-1.2, 0.87}, {-0.5, 0.5}};
  const double stiffness[6] = {240, 180, 120, 180, 120, 60};
  const double damping[6] = {6, 4.5, 3, 4.5, 3, 1.5};
  for (int k = 0; k < 6; ++k) {
    const int j = id_of(model, mjOBJ_JOINT, joints[k]);
    const int dof = model.jnt_dofadr[j];
    CHECK(model.jnt_limited[j] == 1);
    CHECK(model.jnt_range[2 * j] == ranges[k][0]);
    CHECK(model.jnt_range[2 * j + 1] == ranges[k][1]);
    CHECK(model.jnt_stiffness[j] == stiffness[k]);
    CHECK(model.dof_damping[dof] == damping[k]);
    CHECK(model.dof_armature[dof] == 0.1);
    CHECK(model.jnt_solimp[mjNIMP * j + 1] == 0.8);
    CHECK(model.jnt_solimp[mjNIMP * j + 2] == 0.03);
  }
  for (const char* root : {"rootx", "rootz", "rooty"}) {
    const int j = id_of(model, mjOBJ_JOINT, root);
    CHECK(model.jnt_limited[j] == 0);
    CHECK(model.jnt_stiffness[j] == 0);
    CHECK(model.dof_damping[model.jnt_dofadr[j]] == 0);
    CHECK(model.dof_armature[model.jnt_dofadr[j]] == 0);
  }
  for (int g = 0; g < model.ngeom; ++g) {
    CHECK(model.geom_friction[3 * g] == 0.4);
    CHECK(model.geom_condim[g] == 3);
  }
}

TEST_CASE("HalfCheetah starts level at height 0.7 with the published limb placements", "[half_cheetah]") {
  const HalfCheetah<float> env;
  const mjModel& model = env.model();
  const mjData& data = env.data();
  for (int i = 0; i < 9; ++i) CHECK(model.qpos0[i] == 0);
  const auto at = [&](const double* xpos, double x, double z) {
    CHECK(xpos[0] == Approx(x).margin(1e-12));
    CHECK(xpos[2] == Approx(z).margin(1e-12));
  };
  at(data.xpos + 3 * id_of(model, mjOBJ_BODY, "torso"), 0, 0.7);
  // Joint positions: each body's published offset added along the chain.
  at(data.xpos + 3 * id_of(model, mjOBJ_BODY, "bshin"), -0.5 + 0.16, 0.7 - 0.25);
  at(data.xpos + 3 * id_of(model, mjOBJ_BODY, "bfoot"), -0.5 + 0.16 - 0.28, 0.7 - 0.25 - 0.14);
  at(data.xpos + 3 * id_of(model, mjOBJ_BODY, "ffoot"), 0.5 - 0.14 + 0.13, 0.7 - 0.24 - 0.18);
  at(data.geom_xpos + 3 * id_of(model, mjOBJ_GEOM, "head"), 0.6, 0.8);
  at(data.geom_xpos + 3 * id_of(model, mjOBJ_GEOM, "ffoot"), 0.5 - 0.14 + 0.13 + 0.045, 0.7 - 0.42 - 0.07);
}

TEST_CASE("HalfCheetah observation is qpos[1:] and unclipped qvel", "[half_cheetah]") {
  HalfCheetah<double> env;
  CHECK(env.observation_space().size() == 17);
  CHECK_FALSE(env.observation_space().high.allFinite());
  CHECK(env.action_space().size() == 6);
  Rng rng(3);
  env.reset(rng);
  const auto qpos = state9({0.3, 0.1, 0.2, -0.5, -0.7, 0.1, -0.2, -0.3, 0.4});
  const auto qvel = state9({25.0, -30.0, 9.5, -9.5, 10.5, 0.0, 1.0, -11.0, 300.0});
  env.set_state(qpos, qvel);
  const auto obs = env.observation();
  for (int i = 0; i < 8; ++i) CHECK(obs[i] == qpos[i + 1]);
  for (int i = 0; i < 9; ++i) CHECK(obs[8 + i] == qvel[i]);
}

TEST_CASE("HalfCheetah reset: uniform noise on qpos, normal noise on qvel", "[half_cheetah]") {
  HalfCheetah<double> env;
  Rng rng(11);
  env.reset(rng);
  Rng mirror(11);  // 9 draws U(-0.1, 0.1) for qpos, then 9 of 0.1 N(0, 1) for qvel
  for (int i = 0; i < 9; ++i) CHECK(env.data().qpos[i] == mirror.uniform(-0.1, 0.1));
  for (int i = 0; i < 9; ++i) CHECK(env.data().qvel[i] == 0.1 * mirror.normal());
  CHECK(rng == mirror);

  // Over many resets: positions within [-0.1, 0.1) and spread over it; velocities with the
  // moments of N(0, 0.1^2) (standard errors of 9000 draws: 0.001 on the mean, 0.0007 on the std).
  double widest = 0, sum = 0, squares = 0;
  int count = 0;
  for (int k = 0; k < 1000; ++k) {
    const auto obs = env.reset(rng);
    for (int i = 0; i < 9; ++i) {
      REQUIRE(std::abs(env.data().qpos[i]) <= 0.1);
      widest = std::max(widest, std::abs(env.data().qpos[i]));
      sum += obs[8 + i];
      squares += double(obs[8 + i]) * obs[8 + i];
      ++count;
    }
  }
  CHECK(widest > 0.099);
  const double mean = sum / count, stddev = std::sqrt(squares / count - mean * mean);
  CHECK(std::abs(mean) < 0.005);
  CHECK(stddev == Approx(0.1).margin(0.004));
}

TEMPLATE_TEST_CASE("HalfCheetah reward follows its formula, never terminates, truncates at 1000", "[half_cheetah]",
                   float, double) {
  using Env = HalfCheetah<TestType>;
  const double tolerance = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;  // one rounding to TestType
  Env env;
  Rng rng(21);
  env.reset(rng);
  double moved = 0;
  for (int t = 1; t <= 1000; ++t) {
    const typename Env::Action action = env.action_space().sample(rng);
    const double x_before = env.data().qpos[0];
    const auto result = env.step(action);
    double cost = 0;
    for (int i = 0; i < 6; ++i) cost += double(action[i]) * double(action[i]);
    const double dx = env.data().qpos[0] - x_before;
    moved += std::abs(dx);
    REQUIRE(double(result.reward) == Approx(dx / kDt - 0.1 * cost).epsilon(tolerance).margin(tolerance));
    REQUIRE_FALSE(result.terminated);
    REQUIRE(result.truncated == (t == 1000));
  }
  CHECK(moved > 0.1);
  const typename Env::Action zero = Env::Action::Zero();
  CHECK_THROWS_AS(env.step(zero), pgrad::Error);  // truncated: reset first

  HalfCheetah<TestType> unlimited(0);
  unlimited.reset(rng);
  for (int t = 0; t < 1100; ++t) REQUIRE_FALSE(unlimited.step(zero).done());
}

TEST_CASE("HalfCheetah in free flight from a set state", "[half_cheetah]") {
  // Lifted 1 m, level, at rest but for a forward speed v and zero action: in uniform gravity
  // nothing bends, the cheetah falls as one body and keeps v along x. Euler (velocity first):
  // after k steps of h, vz = -k h g and z = -h^2 g k (k + 1) / 2.
  HalfCheetah<double> env;
  Rng rng(1);
  env.reset(rng);
  const double v = 3.0, h = 0.01, g = 9.81;
  env.set_state(state9({0, 1.0, 0, 0, 0, 0, 0, 0, 0}), state9({v, 0, 0, 0, 0, 0, 0, 0, 0}));
  HalfCheetah<double>::Action zero = HalfCheetah<double>::Action::Zero();
  for (int step = 1; step <= 3; ++step) {
    const auto r = env.step(zero);
    const int k = 5 * step;
    CHECK(env.data().qpos[0] == Approx(v * k * h).epsilon(1e-12));
    CHECK(env.data().qpos[1] == Approx(1.0 - h * h * g * k * (k + 1) / 2).epsilon(1e-12));
    CHECK(env.data().qvel[1] == Approx(-k * h * g).epsilon(1e-12));
    for (int i = 2; i < 9; ++i) CHECK(std::abs(env.data().qpos[i]) < 1e-12);
    CHECK(r.reward == Approx(v).epsilon(1e-12));  // dx / dt = v, no control cost
    CHECK(r.observation[8] == Approx(v).epsilon(1e-12));
  }
  // A torque on the back thigh alone: the cost is 0.1 a^2 and the limb turns the way the motor
  // pushes (gear 120 > 0 about +y).
  HalfCheetah<double>::Action push = zero;
  push[0] = 0.5;
  const double x_before = env.data().qpos[0];
  const auto r = env.step(push);
  CHECK(env.data().qvel[3] > 0);
  CHECK(r.reward == Approx((env.data().qpos[0] - x_before) / kDt - 0.1 * 0.25).epsilon(1e-12));
}

TEST_CASE("HalfCheetah rejects bad input and resumes exactly from save_state", "[half_cheetah]") {
  HalfCheetah<float> a;
  Rng rng(8);
  HalfCheetah<float>::Action action = HalfCheetah<float>::Action::Zero();
  CHECK_THROWS_WITH(a.step(action), Catch::Contains("HalfCheetah::step") && Catch::Contains("reset"));
  a.reset(rng);
  action[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(a.step(action), Catch::Contains("HalfCheetah::step action") && Catch::Contains("row 4"));
  CHECK_THROWS_WITH(HalfCheetah<float>(-5), Catch::Contains("HalfCheetah: max_episode_steps"));

  const auto space = a.action_space();
  for (int t = 0; t < 40; ++t) a.step(space.sample(rng));
  pgrad::Writer w;
  a.save_state(w);
  HalfCheetah<float> b;
  pgrad::Reader r(w.bytes());
  b.load_state(r);
  r.finish();
  CHECK(b.elapsed_steps() == 40);
  Rng rng_b = rng;
  for (int t = 0; t < 1000; ++t) {  // past the time limit and a reset
    const auto ra = a.step(space.sample(rng));
    const auto rb = b.step(space.sample(rng_b));
    REQUIRE(ra.observation == rb.observation);
    REQUIRE(ra.reward == rb.reward);
    REQUIRE(ra.truncated == rb.truncated);
    if (ra.done()) {
      a.reset(rng);
      b.reset(rng_b);
    }
  }
  HalfCheetah<float> v5(1000, HalfCheetahVersion::v5);
  pgrad::Reader r5(w.bytes());
  CHECK_THROWS_WITH(v5.load_state(r5), Catch::Contains("HalfCheetah::load_state: version differs"));
}

TEST_CASE("HalfCheetah passes check_env and steps alike on 1 and 2 threads", "[half_cheetah]") {
  CHECK_NOTHROW(pgrad::envs::check_env(HalfCheetah<float>(), 1));
  CHECK_NOTHROW(pgrad::envs::check_env(HalfCheetah<double>(50, HalfCheetahVersion::v5), 2));
  mujoco_checks::check_threads_agree(HalfCheetah<float>(100));
}
