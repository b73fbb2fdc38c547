#pragma once
// Hopper on MuJoCo (Debian's libmujoco-dev 2.2.2): Gymnasium's Hopper-v4, with a v5 option.
// Needs MuJoCo: link pgrad::mujoco (built only when CMake finds it, PGRAD_HAS_MUJOCO).
#include <string>

#include <pgrad/envs/hopper_model.hpp>
#include <pgrad/envs/planar_locomotion.hpp>

namespace pgrad::envs {

/// Which published Hopper definition to follow. The model is the same in both.
///   v4: healthy reward on every step, the terminating one included.
///   v5: the healthy reward only while healthy (none on the terminating step). Gymnasium's
///       Hopper-v5 version history: "Fixed bug: healthy_reward was given on every step (even if
///       the Hopper was unhealthy), now it is only given when the Hopper is healthy" (Gymnasium
///       issue #526).
enum class HopperVersion { v4, v5 };

namespace detail {

/// Hopper's published facts (Gymnasium's hopper_v4.py / hopper_v5.py defaults).
struct HopperTask {
  using Version = HopperVersion;
  static constexpr const char* name = "Hopper";
  static constexpr int nq = 6, nu = 3;
  static constexpr int frame_skip = 4;
  static constexpr double forward_reward_weight = 1.0;
  static constexpr double ctrl_cost_weight = 1e-3;
  static constexpr double healthy_reward = 1.0;
  static constexpr double healthy_z_min = 0.7;  // no upper bound (Gymnasium: inf)
  static constexpr double healthy_angle_min = -0.2, healthy_angle_max = 0.2;
  static constexpr double healthy_state_min = -100.0, healthy_state_max = 100.0;
  static constexpr double reset_noise_scale = 5e-3;
  static constexpr bool normal_velocity_noise = false;
  static constexpr double velocity_clip = 10.0;
  static constexpr bool terminates = true;

  static std::string model_xml(Version) { return hopper_mjcf(); }
  /// 0.7 < z, -0.2 < angle < 0.2 and every entry of (qpos[2:6], qvel) — Gymnasium's
  /// state_vector()[2:], velocities unclipped — in (-100, 100); false for NaN.
  static bool healthy_state(const double* qpos, const double* qvel) {
    const auto inside = [](double v) { return healthy_state_min < v && v < healthy_state_max; };
    for (int i = 2; i < nq; ++i)
      if (!inside(qpos[i])) return false;
    for (int i = 0; i < nq; ++i)
      if (!inside(qvel[i])) return false;
    const double z = qpos[1], angle = qpos[2];
    return healthy_z_min < z && healthy_angle_min < angle && angle < healthy_angle_max;
  }
};

}  // namespace detail

/// Hopper: Gymnasium's Hopper-v4 (default) or -v5 (HopperVersion), a planar one-legged hopper of
/// 4 capsules (torso, thigh, leg, foot) driven by 3 hinge motors (gear 200) on MuJoCo, timestep
/// 0.002 s with RK4, frame skip 4, so one step lasts dt = 0.008 s.
///
///   state        qpos (6) = rootx, rootz (torso height), rooty (torso angle), thigh, leg and
///                foot angles; qvel (6). Physics in double (mjtNum).
///   observation  (qpos[1:6], clip(qvel, -10, 10)) in S: 11 values, unbounded Box.
///   action       3 torques in [-1, 1]: ctrl <- action for 4 MuJoCo steps, not clipped here
///                (MuJoCo clamps ctrl; the cost is on the action as given). NaN/Inf -> pgrad::Error.
///   reward       (x_after - x_before) / dt + healthy_reward - 1e-3 * sum(action^2), with
///                healthy_reward 1 on every step (v4) or only when healthy (v5).
///   terminated   when not healthy: z > 0.7, -0.2 < angle < 0.2 and every entry of qpos[2:6]
///                and of the (unclipped) qvel in (-100, 100); z = qpos[1], angle = qpos[2].
///   truncated    after max_episode_steps steps (default 1000; 0 = no limit).
///   reset        qpos = qpos0 + U(-5e-3, 5e-3)^6 (qpos0 = 0 but for z = 1.25), then
///                qvel = U(-5e-3, 5e-3)^6, drawn from the given Rng in that order.
///
/// The interface (reset, step, set_state, is_healthy, observation, dt, model, data,
/// save_state/load_state) is detail::PlanarLocomotion's. Copies share the compiled mjModel and
/// deep-copy the simulation state. Cost per step: 4 RK4 steps, 16 MuJoCo forward passes.
template <class S = float>
class Hopper : public detail::PlanarLocomotion<S, detail::HopperTask> {
 public:
  /// Loads the model; `max_episode_steps` = 0 means no time limit.
  explicit Hopper(Index max_episode_steps = 1000, HopperVersion version = HopperVersion::v4)
      : detail::PlanarLocomotion<S, detail::HopperTask>(max_episode_steps, version) {}
};

}  // namespace pgrad::envs
