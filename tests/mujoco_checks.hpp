#pragma once
// Checks the MuJoCo environment tests share: names to ids, capsule volumes, motors, and stepping
// copies alike on 1 and 2 threads.
#include <catch2/catch.hpp>

#include <mujoco/mujoco.h>

#include <pgrad/core/random.hpp>
#include <pgrad/envs/vector_env.hpp>

#include <cstddef>
#include <initializer_list>

namespace mujoco_checks {

inline constexpr double pi = 3.14159265358979323846;

/// The id of the named object; fails the test when there is none.
inline int id_of(const mjModel& model, mjtObj type, const char* name) {
  const int id = mj_name2id(&model, type, name);
  REQUIRE(id >= 0);
  return id;
}

/// Volume of a capsule of radius r and half length h (the cylinder and two half spheres).
inline double capsule_volume(double r, double h) { return pi * r * r * (2 * h + 4.0 / 3.0 * r); }

/// Motor k drives the k-th named joint with gear gears[k], its ctrl limited to [-1, 1].
inline void check_motors(const mjModel& model, std::initializer_list<const char*> joints,
                         std::initializer_list<double> gears) {
  REQUIRE(static_cast<std::size_t>(model.nu) == joints.size());
  REQUIRE(joints.size() == gears.size());
  int k = 0;
  for (const char* joint : joints) {
    CHECK(model.actuator_trnid[2 * k] == id_of(model, mjOBJ_JOINT, joint));
    CHECK(model.actuator_gear[6 * k] == gears.begin()[k]);
    CHECK(model.actuator_ctrllimited[k] == 1);
    CHECK(model.actuator_ctrlrange[2 * k] == -1);
    CHECK(model.actuator_ctrlrange[2 * k + 1] == 1);
    ++k;
  }
}

/// Five copies of `prototype` (time limit 100) through VectorEnv on 1 and on 2 threads step bit
/// identically for 300 steps under the same random actions (observations, final observations,
/// rewards and flags), episodes ending and auto-resetting on the way.
template <class Env>
void check_threads_agree(const Env& prototype) {
  using Vec = pgrad::envs::VectorEnv<Env>;
  constexpr pgrad::Index copies = 5;
  Vec one(copies, prototype, 17, 1), two(copies, prototype, 17, 2);
  CHECK(one.reset() == two.reset());
  pgrad::Rng rng(3);
  pgrad::Matrix<typename Env::Scalar> actions(prototype.action_space().size(), copies);
  int finished = 0;
  for (int t = 0; t < 300; ++t) {
    for (pgrad::Index i = 0; i < copies; ++i) actions.col(i) = prototype.action_space().sample(rng);
    one.step(actions);
    two.step(actions);
    REQUIRE(one.observations() == two.observations());
    REQUIRE(one.final_observations() == two.final_observations());
    REQUIRE(one.rewards() == two.rewards());
    REQUIRE((one.terminated() == two.terminated()).all());
    REQUIRE((one.truncated() == two.truncated()).all());
    finished += static_cast<int>(one.finished_episodes().size());
  }
  CHECK(finished >= copies);
}

}  // namespace mujoco_checks
