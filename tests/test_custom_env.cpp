// A user-defined environment, written only here against the public contract, satisfies it at
// compile time, passes check_env and runs through VectorEnv and the wrappers. PointMass is the
// README's custom-environment example, verbatim.
#include <catch2/catch.hpp>

#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>
#include <pgrad/envs/wrappers/rescale_action.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

// ---- README example begins ----
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>

/// A point mass on a line, pushed by a bounded force; rewarded for staying near the origin.
class PointMass {
 public:
  using Scalar = float;
  using Observation = Eigen::Matrix<float, 2, 1>;  // position, velocity
  using Action = Eigen::Matrix<float, 1, 1>;       // force in [-1, 1]

  pgrad::envs::Box<float> observation_space() const {
    return pgrad::envs::Box<float>::uniform(2, -10.f, 10.f);
  }
  pgrad::envs::Box<float> action_space() const { return pgrad::envs::Box<float>::uniform(1, -1.f, 1.f); }
  /// Optional: lets check_env verify the truncation step.
  pgrad::Index max_episode_steps() const { return 100; }

  Observation reset(pgrad::Rng& rng) {  // all randomness comes from rng
    state_ << rng.uniform(-1.f, 1.f), 0.f;
    steps_ = 0;
    return state_;
  }

  pgrad::envs::StepResult<Observation> step(const Action& action) {
    const float force = std::clamp(action[0], -1.f, 1.f);
    state_[1] += 0.1f * force;     // velocity
    state_[0] += 0.1f * state_[1];  // position
    ++steps_;
    pgrad::envs::StepResult<Observation> result;
    result.observation = state_;
    result.reward = -state_[0] * state_[0];
    result.terminated = std::abs(state_[0]) > 5.f;  // fell off the track: no bootstrap
    result.truncated = steps_ >= 100;               // time limit: bootstrap from V(s)
    return result;
  }

 private:
  Observation state_ = Observation::Zero();
  int steps_ = 0;
};

static_assert(pgrad::envs::require_env<PointMass>());
// ---- README example ends ----

namespace {

/// A discrete corridor with a dynamic-size, one-hot observation: walk left (0) or right (1);
/// -1 per step; the episode terminates at the right end.
struct Corridor {
  using Scalar = double;
  using Observation = pgrad::Vector<double>;
  using Action = int;

  pgrad::Index length = 6;
  pgrad::Index position = 0;

  pgrad::envs::Box<double> observation_space() const {
    return pgrad::envs::Box<double>::uniform(length, 0.0, 1.0);
  }
  pgrad::envs::Discrete action_space() const { return pgrad::envs::Discrete(2); }
  Observation reset(pgrad::Rng& rng) {
    position = static_cast<pgrad::Index>(rng.below(static_cast<std::uint64_t>(length - 1)));
    return observe();
  }
  pgrad::envs::StepResult<Observation> step(const Action& action) {
    PGRAD_REQUIRE(action == 0 || action == 1, "Corridor: action ", action, " is not 0 or 1");
    position = std::clamp<pgrad::Index>(position + (action == 1 ? 1 : -1), 0, length - 1);
    return {observe(), -1.0, position == length - 1, false};
  }
  Observation observe() const { return Observation::Unit(length, position); }
};

static_assert(pgrad::envs::is_env_v<Corridor>);
static_assert(pgrad::envs::has_discrete_actions_v<Corridor>);
static_assert(!pgrad::envs::is_env_v<int>);

}  // namespace

TEST_CASE("A custom environment passes check_env", "[custom_env]") {
  CHECK_NOTHROW(pgrad::envs::check_env(PointMass{}, 1));
  CHECK_NOTHROW(pgrad::envs::check_env(Corridor{}, 1));
}

TEST_CASE("A custom environment runs through VectorEnv with identical results on 1 and 2 threads",
          "[custom_env]") {
  using pgrad::envs::VectorEnv;
  VectorEnv<PointMass> one(5, PointMass{}, 21, 1), two(5, PointMass{}, 21, 2);
  static_assert(std::is_same_v<VectorEnv<PointMass>::Actions, pgrad::Matrix<float>>);
  REQUIRE(one.observation_size() == 2);
  one.reset();
  two.reset();
  pgrad::Rng policy(4);
  pgrad::Matrix<float> forces(1, 5);
  int truncations = 0, episodes = 0;
  for (int t = 0; t < 450; ++t) {
    for (pgrad::Index i = 0; i < 5; ++i) forces(0, i) = policy.uniform(-1.f, 1.f);
    one.step(forces);
    two.step(forces);
    REQUIRE(one.observations() == two.observations());
    REQUIRE(one.rewards() == two.rewards());
    REQUIRE((one.truncated() == two.truncated()).all());
    REQUIRE(one.final_observations() == two.final_observations());
    truncations += static_cast<int>(one.truncated().count());
    episodes += static_cast<int>(one.finished_episodes().size());
    for (const auto& episode : one.finished_episodes()) CHECK(episode.length <= 100);
  }
  CHECK(episodes >= 4 * 5);  // each copy ends an episode at least every 100 steps
  CHECK(truncations >= 1);

  VectorEnv<Corridor> corridor(4, Corridor{}, 3, 2);
  static_assert(std::is_same_v<VectorEnv<Corridor>::Actions, pgrad::IndexRowVector>);
  corridor.reset();
  int reached = 0;
  for (int t = 0; t < 30; ++t) {
    corridor.step(pgrad::IndexRowVector::Ones(4));  // always right
    for (const auto& episode : corridor.finished_episodes()) {
      CHECK(episode.episode_return == -static_cast<double>(episode.length));
      ++reached;
    }
  }
  CHECK(reached >= 4 * 5);
}

TEST_CASE("Wrappers compose around a custom environment", "[custom_env]") {
  using namespace pgrad::envs;
  using Wrapped = RecordEpisodeStatistics<NormalizeObservation<RescaleAction<PointMass>>>;
  static_assert(require_env<Wrapped>());
  Wrapped env(NormalizeObservation<RescaleAction<PointMass>>(RescaleAction<PointMass>(PointMass{}, 0.f, 2.f)));
  CHECK_NOTHROW(check_env(env, 5));
  VectorEnv<Wrapped> venv(3, env, 5, 2);
  venv.reset();
  for (int t = 0; t < 100; ++t) venv.step(pgrad::Matrix<float>::Constant(1, 3, 1.f));  // 1 = zero force
  REQUIRE(venv.finished_episodes().size() == 3);
  for (const auto& episode : venv.finished_episodes()) CHECK(episode.length == 100);
}
