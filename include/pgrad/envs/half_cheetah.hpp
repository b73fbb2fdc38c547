#pragma once
// HalfCheetah on MuJoCo (Debian's libmujoco-dev 2.2.2): Gymnasium's HalfCheetah-v4 (= v5).
// Needs MuJoCo: link pgrad::mujoco (built only when CMake finds it, PGRAD_HAS_MUJOCO).
#include <limits>
#include <string>

#include <pgrad/envs/half_cheetah_model.hpp>
#include <pgrad/envs/planar_locomotion.hpp>

namespace pgrad::envs {

/// Which published HalfCheetah definition to follow. Both are the same task: Gymnasium's
/// HalfCheetah-v5 keeps half_cheetah.xml, the reward, the reset noise and frame skip 5, and
/// changes only what Python callers see (arguments, info keys, minimum mujoco version). The
/// enum is there so that the three locomotion tasks name their versions alike.
enum class HalfCheetahVersion { v4, v5 };

namespace detail {

/// HalfCheetah's published facts (Gymnasium's half_cheetah_v4.py / half_cheetah_v5.py defaults).
struct HalfCheetahTask {
  using Version = HalfCheetahVersion;
  static constexpr const char* name = "HalfCheetah";
  static constexpr int nq = 9, nu = 6;
  static constexpr int frame_skip = 5;
  static constexpr double forward_reward_weight = 1.0;
  static constexpr double ctrl_cost_weight = 0.1;
  static constexpr double healthy_reward = 0.0;  // no healthy reward, no termination
  static constexpr double reset_noise_scale = 0.1;
  static constexpr bool normal_velocity_noise = true;
  static constexpr double velocity_clip = std::numeric_limits<double>::infinity();  // not clipped
  static constexpr bool terminates = false;

  static std::string model_xml(Version) { return half_cheetah_mjcf(); }
  static bool healthy_state(const double*, const double*) { return true; }
};

}  // namespace detail

/// HalfCheetah: Gymnasium's HalfCheetah-v4 (v5 is the same task), a planar cat-like runner of a
/// torso with a head and two legs of 3 segments each, driven by 6 hinge motors (gears 120, 90,
/// 60, 120, 60, 30) against joint springs, on MuJoCo: timestep 0.01 s (Euler), frame skip 5, so
/// one step lasts dt = 0.05 s.
///
///   state        qpos (9) = rootx, rootz (height relative to 0.7), rooty (torso angle), bthigh,
///                bshin, bfoot, fthigh, fshin, ffoot angles; qvel (9). Physics in double.
///   observation  (qpos[1:9], qvel) in S: 17 values, unbounded Box (velocities not clipped).
///   action       6 torques in [-1, 1]: ctrl <- action for 5 MuJoCo steps, not clipped here
///                (MuJoCo clamps ctrl; the cost is on the action as given). NaN/Inf -> pgrad::Error.
///   reward       (x_after - x_before) / dt - 0.1 * sum(action^2).
///   terminated   never (the cheetah cannot fall out of the task).
///   truncated    after max_episode_steps steps (default 1000; 0 = no limit).
///   reset        qpos = U(-0.1, 0.1)^9 (qpos0 = 0), then qvel = 0.1 N(0, 1)^9, drawn from the
///                given Rng in that order.
///
/// The interface (reset, step, set_state, observation, dt, model, data, save_state/load_state)
/// is detail::PlanarLocomotion's. Copies share the compiled mjModel and deep-copy the simulation
/// state. Cost per step: 5 Euler steps.
template <class S = float>
class HalfCheetah : public detail::PlanarLocomotion<S, detail::HalfCheetahTask> {
 public:
  /// Loads the model; `max_episode_steps` = 0 means no time limit.
  explicit HalfCheetah(Index max_episode_steps = 1000, HalfCheetahVersion version = HalfCheetahVersion::v4)
      : detail::PlanarLocomotion<S, detail::HalfCheetahTask>(max_episode_steps, version) {}
};

}  // namespace pgrad::envs
