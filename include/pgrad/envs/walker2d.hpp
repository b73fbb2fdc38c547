#pragma once
// Walker2d on MuJoCo (Debian's libmujoco-dev 2.2.2): Gymnasium's Walker2d-v4, with a v5 option.
// Needs MuJoCo: link pgrad::mujoco (built only when CMake finds it, PGRAD_HAS_MUJOCO).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <mujoco/mujoco.h>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
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

struct MjModelDeleter {
  void operator()(const mjModel* model) const { mj_deleteModel(const_cast<mjModel*>(model)); }
};
struct MjDataDeleter {
  void operator()(mjData* data) const { mj_deleteData(data); }
};
using MjDataPtr = std::unique_ptr<mjData, MjDataDeleter>;

/// Compiles MJCF text held in memory (through MuJoCo's virtual file system, no file on disk).
/// Throws pgrad::Error carrying MuJoCo's message when the text does not compile.
inline std::shared_ptr<const mjModel> load_mjcf(const std::string& xml, const char* what) {
  struct VfsGuard {  // mjVFS is ~2 MB: on the heap, and its file buffers freed on every path
    std::unique_ptr<mjVFS> vfs = std::make_unique<mjVFS>();
    VfsGuard() { mj_defaultVFS(vfs.get()); }
    ~VfsGuard() { mj_deleteVFS(vfs.get()); }
  } guard;
  const char* name = "pgrad_model.xml";
  const int size = static_cast<int>(xml.size()) + 1;  // with the terminating '\0'
  PGRAD_REQUIRE(mj_makeEmptyFileVFS(guard.vfs.get(), name, size) == 0, what,
                ": MuJoCo could not make a virtual file of ", size, " bytes");
  const int file = mj_findFileVFS(guard.vfs.get(), name);
  PGRAD_REQUIRE(file >= 0, what, ": MuJoCo virtual file not found after creating it");
  std::memcpy(guard.vfs->filedata[file], xml.c_str(), static_cast<std::size_t>(size));
  char message[1000] = "";
  mjModel* model = mj_loadXML(name, guard.vfs.get(), message, sizeof message);
  PGRAD_REQUIRE(model != nullptr, what, ": MuJoCo could not load the model: ", message);
  return std::shared_ptr<const mjModel>(model, MjModelDeleter{});
}

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
/// Copies share the compiled (immutable) mjModel and deep-copy the simulation state (mjData),
/// so copies step independently and may run on different threads. Cost per step: 4 RK4 steps,
/// 16 MuJoCo forward passes.
template <class S = float>
class Walker2d {
 public:
  using Scalar = S;
  using Observation = Eigen::Matrix<S, 17, 1>;
  using Action = Eigen::Matrix<S, 6, 1>;
  using State = Eigen::Matrix<double, 9, 1>;

  static constexpr Index default_max_episode_steps = 1000;
  static constexpr int frame_skip = 4;
  static constexpr double forward_reward_weight = 1.0;
  static constexpr double ctrl_cost_weight = 1e-3;
  static constexpr double healthy_reward = 1.0;
  static constexpr double healthy_z_min = 0.8, healthy_z_max = 2.0;
  static constexpr double healthy_angle_min = -1.0, healthy_angle_max = 1.0;
  static constexpr double reset_noise_scale = 5e-3;
  static constexpr double velocity_clip = 10.0;

  /// Loads the model (MJCF compiled once per constructed env; copies share it).
  /// `max_episode_steps` = 0 means no time limit.
  explicit Walker2d(Index max_episode_steps = default_max_episode_steps,
                    Walker2dVersion version = Walker2dVersion::v4)
      : version_(version), max_episode_steps_(max_episode_steps) {
    PGRAD_REQUIRE(max_episode_steps >= 0, "Walker2d: max_episode_steps must be >= 0, got ",
                  max_episode_steps);
    const double right_foot_friction = version == Walker2dVersion::v5 ? 1.9 : 0.9;
    model_ = detail::load_mjcf(detail::walker2d_mjcf(right_foot_friction, 1.9), "Walker2d");
    PGRAD_REQUIRE(model_->nq == 9 && model_->nv == 9 && model_->nu == 6,
                  "Walker2d: model has nq ", model_->nq, ", nv ", model_->nv, ", nu ", model_->nu,
                  " (expected 9, 9, 6)");
    data_ = make_data();
    mj_forward(model_.get(), data_.get());
  }

  Walker2d(const Walker2d& other)
      : model_(other.model_),
        data_(make_data()),
        version_(other.version_),
        max_episode_steps_(other.max_episode_steps_),
        elapsed_steps_(other.elapsed_steps_),
        needs_reset_(other.needs_reset_) {
    mj_copyData(data_.get(), model_.get(), other.data_.get());
  }
  Walker2d& operator=(const Walker2d& other) {
    if (this != &other) *this = Walker2d(other);
    return *this;
  }
  Walker2d(Walker2d&&) noexcept = default;
  Walker2d& operator=(Walker2d&&) noexcept = default;
  ~Walker2d() = default;

  Box<S> observation_space() const { return Box<S>::unbounded(17); }
  Box<S> action_space() const { return Box<S>::uniform(6, S(-1), S(1)); }

  /// Starts an episode from qpos0 and zero velocity plus uniform noise drawn from rng.
  Observation reset(Rng& rng) {
    require_state("reset");
    mj_resetData(model_.get(), data_.get());
    for (int i = 0; i < model_->nq; ++i)
      data_->qpos[i] = model_->qpos0[i] + rng.uniform(-reset_noise_scale, reset_noise_scale);
    for (int i = 0; i < model_->nv; ++i)
      data_->qvel[i] = rng.uniform(-reset_noise_scale, reset_noise_scale);
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

  /// Advances dt = 0.008 s under `action` (see the class comment for the reward and flags).
  StepResult<Observation> step(const Action& action) {
    require_state("step");
    PGRAD_REQUIRE(!needs_reset_, "Walker2d::step: call reset() first (the episode ",
                  elapsed_steps_ > 0 ? "has ended" : "has not started", ")");
    check_finite(action, "Walker2d::step action");
    const double x_before = data_->qpos[0];
    double ctrl_cost = 0;
    for (int i = 0; i < 6; ++i) {
      const double a = static_cast<double>(action[i]);
      data_->ctrl[i] = a;
      ctrl_cost += a * a;
    }
    ctrl_cost *= ctrl_cost_weight;
    for (int k = 0; k < frame_skip; ++k) mj_step(model_.get(), data_.get());
    check_simulation();
    const double x_after = data_->qpos[0];

    const bool healthy = is_healthy();
    const bool paid = healthy || version_ == Walker2dVersion::v4;
    const double reward = forward_reward_weight * (x_after - x_before) / dt() +
                          (paid ? healthy_reward : 0.0) - ctrl_cost;

    StepResult<Observation> result;
    result.observation = observation();
    result.reward = static_cast<S>(reward);
    result.terminated = !healthy;
    ++elapsed_steps_;
    result.truncated = max_episode_steps_ > 0 && elapsed_steps_ >= max_episode_steps_;
    needs_reset_ = result.terminated || result.truncated;
    return result;
  }

  /// Sets the simulation state (like Gymnasium's set_state) and lets the episode go on from it;
  /// the step count is kept. For tests and scripted starts.
  void set_state(const State& qpos, const State& qvel) {
    check_finite(qpos, "Walker2d::set_state qpos");
    check_finite(qvel, "Walker2d::set_state qvel");
    for (int i = 0; i < 9; ++i) {
      data_->qpos[i] = qpos[i];
      data_->qvel[i] = qvel[i];
    }
    mj_forward(model_.get(), data_.get());
    needs_reset_ = false;
  }

  /// True while 0.8 < z < 2.0 and -1 < angle < 1 (false for NaN).
  bool is_healthy() const {
    const double z = data_->qpos[1], angle = data_->qpos[2];
    return healthy_z_min < z && z < healthy_z_max && healthy_angle_min < angle &&
           angle < healthy_angle_max;
  }

  /// The observation of the current state.
  Observation observation() const {
    Observation obs;
    for (int i = 0; i < 8; ++i) obs[i] = static_cast<S>(data_->qpos[i + 1]);
    for (int i = 0; i < 9; ++i)
      obs[8 + i] = static_cast<S>(std::clamp(data_->qvel[i], -velocity_clip, velocity_clip));
    return obs;
  }

  /// Seconds per step: timestep * frame_skip = 0.008.
  double dt() const { return model_->opt.timestep * frame_skip; }
  Walker2dVersion version() const { return version_; }
  Index max_episode_steps() const { return max_episode_steps_; }
  Index elapsed_steps() const { return elapsed_steps_; }
  /// Whether an episode is under way (reset, and neither terminated nor truncated since).
  bool episode_running() const { return data_ != nullptr && !needs_reset_; }
  /// The compiled model and the simulation state, read-only (positions: data().qpos[0..8]).
  const mjModel& model() const { return *model_; }
  const mjData& data() const { return *data_; }

  /// Checkpoints: version, time limit, simulation time, qpos, qvel, act, ctrl, the solver's warm
  /// start, the step count and the episode-over flag — everything the next step depends on.
  void save_state(Writer& w) const {
    require_state("save_state");
    w.section("Walker2d");
    w.u8(version_ == Walker2dVersion::v5 ? 5 : 4);
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
    r.section("Walker2d");
    const int version = r.u8();
    PGRAD_REQUIRE(version == (version_ == Walker2dVersion::v5 ? 5 : 4), "Walker2d::load_state: version differs: "
                  "file has v", version, ", environment has v", version_ == Walker2dVersion::v5 ? 5 : 4);
    const auto limit = r.i64();
    PGRAD_REQUIRE(limit == max_episode_steps_, "Walker2d::load_state: max_episode_steps differs: file has ", limit,
                  ", environment has ", max_episode_steps_);
    mj_resetData(model_.get(), data_.get());
    data_->time = r.finite<double>("Walker2d time");
    read_array(r, data_->qpos, model_->nq, "Walker2d qpos");
    read_array(r, data_->qvel, model_->nv, "Walker2d qvel");
    read_array(r, data_->act, model_->na, "Walker2d act");
    read_array(r, data_->ctrl, model_->nu, "Walker2d ctrl");
    Vector<double> warmstart;
    r.matrix(warmstart, "Walker2d qacc_warmstart", model_->nv, 1);
    mj_forward(model_.get(), data_.get());
    for (int i = 0; i < model_->nv; ++i) data_->qacc_warmstart[i] = warmstart[i];
    elapsed_steps_ = static_cast<Index>(
        r.i64_in("Walker2d elapsed steps", 0, max_episode_steps_ > 0 ? max_episode_steps_ : max_saved_counter));
    needs_reset_ = r.boolean();
  }

 private:
  static void write_array(Writer& w, const mjtNum* values, int size) {
    w.matrix(Eigen::Map<const Vector<double>>(values, size));
  }
  static void read_array(Reader& r, mjtNum* values, int size, const char* what) {
    Vector<double> v;
    r.matrix(v, what, size, 1);
    for (int i = 0; i < size; ++i) values[i] = v[i];
  }

  detail::MjDataPtr make_data() const {
    detail::MjDataPtr data(mj_makeData(model_.get()));
    PGRAD_REQUIRE(data != nullptr, "Walker2d: MuJoCo could not allocate mjData");
    return data;
  }

  void require_state(const char* where) const {
    PGRAD_REQUIRE(data_ != nullptr, "Walker2d::", where, ": this env was moved from");
  }

  // MuJoCo answers a diverging simulation by resetting mjData and counting a warning: turn that
  // silent reset into an error.
  void check_simulation() const {
    const int warnings[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC, mjWARN_BADCTRL};
    const char* names[] = {"qpos", "qvel", "qacc", "ctrl"};
    for (int k = 0; k < 4; ++k)
      PGRAD_REQUIRE(data_->warning[warnings[k]].number == 0, "Walker2d::step: MuJoCo simulation ",
                    "diverged (non-finite or huge ", names[k], " at index ",
                    data_->warning[warnings[k]].lastinfo, ") after ", elapsed_steps_, " steps");
  }

  std::shared_ptr<const mjModel> model_;
  detail::MjDataPtr data_;
  Walker2dVersion version_ = Walker2dVersion::v4;
  Index max_episode_steps_ = default_max_episode_steps;
  Index elapsed_steps_ = 0;
  bool needs_reset_ = true;
};

}  // namespace pgrad::envs
