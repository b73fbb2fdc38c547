#pragma once
// What Gymnasium's planar MuJoCo locomotion tasks (Walker2d, Hopper, HalfCheetah) share: the
// simulation they own, the step, reward, reset, observation and checkpoint rules. Each task
// supplies its facts (model, sizes, weights, health rule) as a `Task` struct.
// Needs MuJoCo: link pgrad::mujoco (built only when CMake finds it, PGRAD_HAS_MUJOCO).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include <mujoco/mujoco.h>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/mujoco_model.hpp>
#include <pgrad/envs/spaces.hpp>

namespace pgrad::envs::detail {

/// A planar runner on MuJoCo in Gymnasium's form (the base of Walker2d, Hopper, HalfCheetah).
/// `Task` holds the facts, all public through this class:
///   name, Version (an enum with v4 and v5), nq (= nv), nu, frame_skip, forward_reward_weight,
///   ctrl_cost_weight, healthy_reward, reset_noise_scale, velocity_clip, normal_velocity_noise,
///   terminates, model_xml(Version) (the MJCF text), healthy_state(qpos, qvel).
///
///   observation  (qpos[1:nq], clip(qvel, -velocity_clip, velocity_clip)) in S: 2 nq - 1 values.
///   action       nu values in [-1, 1], written to ctrl for frame_skip MuJoCo steps; not clipped
///                here (MuJoCo clamps ctrl to the ctrlrange, the cost is on the action as given,
///                as in Gymnasium). NaN/Inf -> pgrad::Error.
///   reward       forward_reward_weight (x_after - x_before) / dt + healthy_reward
///                - ctrl_cost_weight sum(action^2), computed in double; the healthy reward is
///                paid on every step in v4 and only while healthy in v5.
///   terminated   terminates and not healthy_state (after the step).
///   truncated    after max_episode_steps steps (0 = no limit).
///   reset        qpos = qpos0 + U(-s, s)^nq, then qvel = U(-s, s)^nv or, with
///                normal_velocity_noise, s N(0, 1)^nv (s = reset_noise_scale), from the given Rng.
///
/// Copies share the compiled (immutable) mjModel and deep-copy the simulation state (mjData),
/// so copies step independently and may run on different threads. No allocation per step.
template <class S, class Task>
class PlanarLocomotion : public Task {
 public:
  using Scalar = S;
  using Version = typename Task::Version;
  static constexpr int nq = Task::nq, nu = Task::nu, observation_size = 2 * Task::nq - 1;
  using Observation = Eigen::Matrix<S, observation_size, 1>;
  using Action = Eigen::Matrix<S, nu, 1>;
  using State = Eigen::Matrix<double, nq, 1>;
  static constexpr Index default_max_episode_steps = 1000;

  /// Loads the model (MJCF compiled once per constructed env; copies share it).
  /// `max_episode_steps` = 0 means no time limit.
  explicit PlanarLocomotion(Index max_episode_steps, Version version)
      : version_(version), max_episode_steps_(max_episode_steps) {
    PGRAD_REQUIRE(max_episode_steps >= 0, Task::name, ": max_episode_steps must be >= 0, got ", max_episode_steps);
    model_ = load_mjcf(Task::model_xml(version), Task::name);
    PGRAD_REQUIRE(model_->nq == nq && model_->nv == nq && model_->nu == nu, Task::name, ": model has nq ", model_->nq,
                  ", nv ", model_->nv, ", nu ", model_->nu, " (expected ", nq, ", ", nq, ", ", nu, ")");
    data_ = make_data();
    mj_forward(model_.get(), data_.get());
  }

  PlanarLocomotion(const PlanarLocomotion& other)
      : Task(other),
        model_(other.model_),
        data_(make_data()),
        version_(other.version_),
        max_episode_steps_(other.max_episode_steps_),
        elapsed_steps_(other.elapsed_steps_),
        needs_reset_(other.needs_reset_) {
    mj_copyData(data_.get(), model_.get(), other.data_.get());
  }
  PlanarLocomotion& operator=(const PlanarLocomotion& other) {
    if (this != &other) *this = PlanarLocomotion(other);
    return *this;
  }
  PlanarLocomotion(PlanarLocomotion&&) noexcept = default;
  PlanarLocomotion& operator=(PlanarLocomotion&&) noexcept = default;
  ~PlanarLocomotion() = default;

  Box<S> observation_space() const { return Box<S>::unbounded(observation_size); }
  Box<S> action_space() const { return Box<S>::uniform(nu, S(-1), S(1)); }

  /// Starts an episode from qpos0 and zero velocity plus the reset noise drawn from rng.
  Observation reset(Rng& rng) {
    require_state("reset");
    const double s = Task::reset_noise_scale;
    mj_resetData(model_.get(), data_.get());
    for (int i = 0; i < nq; ++i) data_->qpos[i] = model_->qpos0[i] + rng.uniform(-s, s);
    for (int i = 0; i < nq; ++i) data_->qvel[i] = Task::normal_velocity_noise ? s * rng.normal() : rng.uniform(-s, s);
    mj_forward(model_.get(), data_.get());
    elapsed_steps_ = 0;
    needs_reset_ = false;
    return observation();
  }
  /// reset(Rng(seed)).
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  /// Advances dt = timestep * frame_skip seconds under `action` (reward and flags: see above).
  StepResult<Observation> step(const Action& action) {
    require_state("step");
    PGRAD_REQUIRE(!needs_reset_, Task::name, "::step: call reset() first (the episode ",
                  elapsed_steps_ > 0 ? "has ended" : "has not started", ")");
    if (checks_enabled() && !action.allFinite()) check_finite(action, (std::string(Task::name) + "::step action").c_str());
    const double x_before = data_->qpos[0];
    double squares = 0;
    for (int i = 0; i < nu; ++i) {
      const double a = static_cast<double>(action[i]);
      data_->ctrl[i] = a;
      squares += a * a;
    }
    for (int k = 0; k < Task::frame_skip; ++k) mj_step(model_.get(), data_.get());
    check_simulation();
    const double x_after = data_->qpos[0];

    const bool healthy = Task::healthy_state(data_->qpos, data_->qvel);
    const bool paid = healthy || version_ == Version::v4;
    const double reward = Task::forward_reward_weight * (x_after - x_before) / dt() +
                          (paid ? Task::healthy_reward : 0.0) - Task::ctrl_cost_weight * squares;

    StepResult<Observation> result;
    result.observation = observation();
    result.reward = static_cast<S>(reward);
    result.terminated = Task::terminates && !healthy;
    ++elapsed_steps_;
    result.truncated = max_episode_steps_ > 0 && elapsed_steps_ >= max_episode_steps_;
    needs_reset_ = result.terminated || result.truncated;
    return result;
  }

  /// Sets the simulation state (like Gymnasium's set_state) and lets the episode go on from it;
  /// the step count is kept. For tests and scripted starts.
  void set_state(const State& qpos, const State& qvel) {
    require_state("set_state");
    if (checks_enabled() && (!qpos.allFinite() || !qvel.allFinite())) {
      check_finite(qpos, (std::string(Task::name) + "::set_state qpos").c_str());
      check_finite(qvel, (std::string(Task::name) + "::set_state qvel").c_str());
    }
    for (int i = 0; i < nq; ++i) {
      data_->qpos[i] = qpos[i];
      data_->qvel[i] = qvel[i];
    }
    mj_forward(model_.get(), data_.get());
    needs_reset_ = false;
  }

  /// Whether the task's health rule holds in the current state (false for NaN). Only for tasks
  /// that terminate.
  template <class T = Task, std::enable_if_t<T::terminates, int> = 0>
  bool is_healthy() const {
    return Task::healthy_state(data_->qpos, data_->qvel);
  }

  /// The observation of the current state.
  Observation observation() const {
    Observation obs;
    for (int i = 0; i < nq - 1; ++i) obs[i] = static_cast<S>(data_->qpos[i + 1]);
    for (int i = 0; i < nq; ++i)
      obs[nq - 1 + i] = static_cast<S>(std::clamp(data_->qvel[i], -Task::velocity_clip, Task::velocity_clip));
    return obs;
  }

  /// Seconds per step: timestep * frame_skip.
  double dt() const { return model_->opt.timestep * Task::frame_skip; }
  Version version() const { return version_; }
  Index max_episode_steps() const { return max_episode_steps_; }
  Index elapsed_steps() const { return elapsed_steps_; }
  /// Whether an episode is under way (reset, and neither terminated nor truncated since).
  bool episode_running() const { return data_ != nullptr && !needs_reset_; }
  /// The compiled model and the simulation state, read-only (positions: data().qpos[0..nq-1]).
  const mjModel& model() const { return *model_; }
  const mjData& data() const { return *data_; }

  /// Checkpoints: version, time limit, simulation time, qpos, qvel, act, ctrl, the solver's warm
  /// start, the step count and the episode-over flag — everything the next step depends on.
  void save_state(Writer& w) const {
    require_state("save_state");
    w.section(Task::name);
    w.u8(version_number(version_));
    w.i64(max_episode_steps_);
    w.f64(data_->time);
    write_array(w, data_->qpos, model_->nq);
    write_array(w, data_->qvel, model_->nv);
    write_array(w, data_->act, model_->na);
    write_array(w, data_->ctrl, model_->nu);
    write_array(w, data_->qacc_warmstart, model_->nv);
    w.i64(elapsed_steps_);
    w.boolean(needs_reset_);
  }
  void load_state(Reader& r) {
    require_state("load_state");
    r.section(Task::name);
    const int version = r.u8();
    PGRAD_REQUIRE(version == version_number(version_), Task::name, "::load_state: version differs: file has v",
                  version, ", environment has v", version_number(version_));
    const auto limit = r.i64();
    PGRAD_REQUIRE(limit == max_episode_steps_, Task::name, "::load_state: max_episode_steps differs: file has ",
                  limit, ", environment has ", max_episode_steps_);
    const std::string name = Task::name;
    mj_resetData(model_.get(), data_.get());
    data_->time = r.finite<double>((name + " time").c_str());
    read_array(r, data_->qpos, model_->nq, (name + " qpos").c_str());
    read_array(r, data_->qvel, model_->nv, (name + " qvel").c_str());
    read_array(r, data_->act, model_->na, (name + " act").c_str());
    read_array(r, data_->ctrl, model_->nu, (name + " ctrl").c_str());
    Vector<double> warmstart;
    r.matrix(warmstart, (name + " qacc_warmstart").c_str(), model_->nv, 1);
    mj_forward(model_.get(), data_.get());
    for (int i = 0; i < model_->nv; ++i) data_->qacc_warmstart[i] = warmstart[i];
    elapsed_steps_ = static_cast<Index>(r.i64_in((name + " elapsed steps").c_str(), 0,
                                                 max_episode_steps_ > 0 ? max_episode_steps_ : max_saved_counter));
    needs_reset_ = r.boolean();
  }

 private:
  static int version_number(Version version) { return version == Version::v5 ? 5 : 4; }
  static void write_array(Writer& w, const mjtNum* values, int size) {
    w.matrix(Eigen::Map<const Vector<double>>(values, size));
  }
  static void read_array(Reader& r, mjtNum* values, int size, const char* what) {
    Vector<double> v;
    r.matrix(v, what, size, 1);
    for (int i = 0; i < size; ++i) values[i] = v[i];
  }

  MjDataPtr make_data() const {
    MjDataPtr data(mj_makeData(model_.get()));
    PGRAD_REQUIRE(data != nullptr, Task::name, ": MuJoCo could not allocate mjData");
    return data;
  }

  void require_state(const char* where) const {
    PGRAD_REQUIRE(data_ != nullptr, Task::name, "::", where, ": this env was moved from");
  }

  // MuJoCo answers a diverging simulation by resetting mjData and counting a warning: turn that
  // silent reset into an error.
  void check_simulation() const {
    const int warnings[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC, mjWARN_BADCTRL};
    const char* names[] = {"qpos", "qvel", "qacc", "ctrl"};
    for (int k = 0; k < 4; ++k)
      PGRAD_REQUIRE(data_->warning[warnings[k]].number == 0, Task::name, "::step: MuJoCo simulation ",
                    "diverged (non-finite or huge ", names[k], " at index ", data_->warning[warnings[k]].lastinfo,
                    ") after ", elapsed_steps_, " steps");
  }

  std::shared_ptr<const mjModel> model_;
  MjDataPtr data_;
  Version version_ = Version::v4;
  Index max_episode_steps_ = default_max_episode_steps;
  Index elapsed_steps_ = 0;
  bool needs_reset_ = true;
};

}  // namespace pgrad::envs::detail
