#pragma once
// Walker2d on MuJoCo (Debian's libmujoco-dev 2.2.2): Gymnasium's Walker2d-v4, with a v5 option.
// Needs MuJoCo: link pgrad::mujoco (built only when CMake finds it, PGRAD_HAS_MUJOCO).
#include <string>

#include <pgrad/envs/planar_locomotion.hpp>
#include <pgrad/envs/walker2d_model.hpp>

namespace pgrad::envs {

/// Which published Walker2d definition to follow.
///   v4: right foot friction 0.9, left foot 1.9; healthy reward on every step, the terminating
///       one included.
///   v5: both feet friction 1.9, and the healthy reward only while healthy (none on the
///       terminating step). Gymnasium's Walker2d-v5 version history: "The Walker-v5 model is
///       updated to have the same friction for both feet (set to 1.9)" and "Fixed bug:
///       healthy_reward was given on every step (even if the Walker2D is unhealthy), now it is
///       only given if the Walker2d is healthy" (Gymnasium issues #477 and #526).
enum class Walker2dVersion { v4, v5 };

namespace detail {

/// Walker2d's published facts (Gymnasium's walker2d_v4.py / walker2d_v5.py defaults).
struct Walker2dTask {
  using Version = Walker2dVersion;
  static constexpr const char* name = "Walker2d";
  static constexpr int nq = 9, nu = 6;
  static constexpr int frame_skip = 4;
  static constexpr double forward_reward_weight = 1.0;
  static constexpr double ctrl_cost_weight = 1e-3;
  static constexpr double healthy_reward = 1.0;
  static constexpr double healthy_z_min = 0.8, healthy_z_max = 2.0;
  static constexpr double healthy_angle_min = -1.0, healthy_angle_max = 1.0;
  static constexpr double reset_noise_scale = 5e-3;
  static constexpr bool normal_velocity_noise = false;
  static constexpr double velocity_clip = 10.0;
  static constexpr bool terminates = true;

  static std::string model_xml(Version version) {
    return walker2d_mjcf(version == Walker2dVersion::v5 ? 1.9 : 0.9, 1.9);
  }
  /// 0.8 < z < 2.0 and -1 < angle < 1 (z = qpos[1], angle = qpos[2]); false for NaN.
  static bool healthy_state(const double* qpos, const double* /*qvel*/) {
    const double z = qpos[1], angle = qpos[2];
    return healthy_z_min < z && z < healthy_z_max && healthy_angle_min < angle && angle < healthy_angle_max;
  }
};

}  // namespace detail

/// Walker2d: Gymnasium's Walker2d-v4 (default) or -v5 (Walker2dVersion), a planar biped of
/// 7 capsules (torso; thigh, leg, foot per side) driven by 6 hinge motors (gear 100) on MuJoCo,
/// timestep 0.002 s with RK4, frame skip 4, so one step lasts dt = 0.008 s.
///
///   state        qpos (9) = rootx, rootz (torso height), rooty (torso angle), 6 joint angles;
///                qvel (9). Physics in double (mjtNum).
///   observation  (qpos[1:9], clip(qvel, -10, 10)) in S: 17 values, unbounded Box.
///   action       6 torques in [-1, 1]: ctrl <- action for 4 MuJoCo steps. As in Gymnasium the
///                action is not clipped here: MuJoCo clamps ctrl to the ctrlrange [-1, 1] and the
///                control cost is charged on the action as given. NaN/Inf -> pgrad::Error.
///   reward       (x_after - x_before) / dt + healthy_reward - 1e-3 * sum(action^2), with
///                healthy_reward 1 on every step (v4) or only when healthy (v5).
///   terminated   when not (0.8 < z < 2.0 and -1 < angle < 1), z = qpos[1], angle = qpos[2].
///   truncated    after max_episode_steps steps (default 1000; 0 = no limit).
///   reset        qpos = qpos0 + U(-5e-3, 5e-3)^9 (qpos0 = 0 but for z = 1.25), then
///                qvel = U(-5e-3, 5e-3)^9, drawn from the given Rng in that order.
///
/// The interface (reset, step, set_state, is_healthy, observation, dt, model, data,
/// save_state/load_state) is detail::PlanarLocomotion's. Copies share the compiled (immutable)
/// mjModel and deep-copy the simulation state (mjData), so copies step independently and may
/// run on different threads. Cost per step: 4 RK4 steps, 16 MuJoCo forward passes.
template <class S = float>
class Walker2d : public detail::PlanarLocomotion<S, detail::Walker2dTask> {
 public:
  /// Loads the model; `max_episode_steps` = 0 means no time limit.
  explicit Walker2d(Index max_episode_steps = 1000, Walker2dVersion version = Walker2dVersion::v4)
      : detail::PlanarLocomotion<S, detail::Walker2dTask>(max_episode_steps, version) {}
};

}  // namespace pgrad::envs
