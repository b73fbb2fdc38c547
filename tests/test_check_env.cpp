// check_env: the bundled environments and wrapper stacks pass; deliberately broken environments
// are caught with a message naming the fault.
#include <catch2/catch.hpp>

#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/wrappers/clip_action.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>
#include <pgrad/envs/wrappers/rescale_action.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

using pgrad::Index;
using pgrad::Rng;
using pgrad::Vector;
using namespace pgrad::envs;
using Catch::Matchers::Contains;

namespace {

enum class Fault {
  none,
  wrong_observation_size,  // returns 3 values, the space says 4
  nan_observation,         // a NaN appears after a few steps
  nan_reward,
  reset_ignores_seed,      // the first observation does not depend on the Rng
  reset_own_randomness,    // reset draws from shared hidden state, not from the Rng
  step_own_randomness,     // step draws from shared hidden state
  out_of_bounds,           // the velocity leaves the declared box
  early_truncation,        // truncates at step 5 but declares a limit of 10
  missing_truncation,      // declares a limit of 10 and never truncates
  deterministic_start,     // a legitimate deterministic start
};

// A 1-D random walk (position, velocity, two constants) that can be broken on purpose.
struct BrokenEnv {
  using Scalar = double;
  using Observation = Vector<double>;  // dynamic, so a wrong size is possible at run time
  using Action = Index;

  Fault fault = Fault::none;
  Vector<double> state = Vector<double>::Zero(4);
  Index steps = 0;
  static inline std::uint64_t hidden_counter = 0;  // shared between copies: non-reproducible

  Box<double> observation_space() const { return Box<double>::uniform(4, -5.0, 5.0); }
  Discrete action_space() const { return Discrete(3); }
  Index max_episode_steps() const {
    return fault == Fault::early_truncation || fault == Fault::missing_truncation ? 10 : 0;
  }

  Observation reset(Rng& rng) {
    steps = 0;
    state.setZero();
    switch (fault) {
      case Fault::reset_ignores_seed: state[0] = 0.25; break;
      case Fault::deterministic_start: state[0] = 0.0; break;
      case Fault::reset_own_randomness: state[0] = 0.01 * static_cast<double>(++hidden_counter % 50); break;
      default: state[0] = rng.uniform(-1.0, 1.0);
    }
    return observe();
  }

  StepResult<Observation> step(const Action& action) {
    ++steps;
    state[1] = 0.5 * static_cast<double>(action - 1);
    if (fault == Fault::step_own_randomness) state[1] += 0.001 * static_cast<double>(++hidden_counter % 7);
    if (fault == Fault::out_of_bounds && steps == 4) state[1] = 7.0;
    state[0] += 0.1 * state[1];
    StepResult<Observation> r;
    r.observation = observe();
    if (fault == Fault::nan_observation && steps == 6) r.observation[2] = std::nan("");
    r.reward = fault == Fault::nan_reward && steps == 3 ? std::numeric_limits<double>::infinity() : -state[0] * state[0];
    r.terminated = std::abs(state[0]) > 2.0;
    if (fault == Fault::early_truncation) r.truncated = steps >= 5;
    else if (fault == Fault::missing_truncation) r.truncated = false;
    else r.truncated = steps >= 30;
    return r;
  }

  Observation observe() const {
    if (fault == Fault::wrong_observation_size) return state.head(3);
    return state;
  }
};

static_assert(require_env<BrokenEnv>());

BrokenEnv broken(Fault fault) {
  BrokenEnv env;
  env.fault = fault;
  return env;
}

// A fixed-size Observation that disagrees with the declared space.
struct MismatchedSpace {
  using Scalar = float;
  using Observation = Eigen::Matrix<float, 3, 1>;
  using Action = Index;
  Box<float> observation_space() const { return Box<float>::unbounded(4); }
  Discrete action_space() const { return Discrete(2); }
  Observation reset(Rng&) { return Observation::Zero(); }
  StepResult<Observation> step(const Action&) { return {Observation::Zero(), 0.f, false, false}; }
};

}  // namespace

TEST_CASE("check_env accepts the bundled environments and wrapper stacks", "[check_env]") {
  CHECK_NOTHROW(check_env(CartPole<float>{}, 1));
  CHECK_NOTHROW(check_env(CartPole<double>{}, 2));
  CHECK_NOTHROW(check_env(Pendulum<float>{}, 3));
  CHECK_NOTHROW(check_env(Pendulum<double>(20), 4));  // several truncations in 1000 steps
  CHECK_NOTHROW(check_env(TimeLimit<CartPole<float>>(CartPole<float>{}, 8), 5));
  CHECK_NOTHROW(check_env(NormalizeObservation<CartPole<float>>(CartPole<float>{}), 6));
  CHECK_NOTHROW(check_env(
      RecordEpisodeStatistics<NormalizeReward<ClipAction<RescaleAction<Pendulum<float>>>>>(
          NormalizeReward<ClipAction<RescaleAction<Pendulum<float>>>>(
              ClipAction<RescaleAction<Pendulum<float>>>(RescaleAction<Pendulum<float>>(Pendulum<float>{})))),
      7));
  CHECK_NOTHROW(check_env(broken(Fault::none), 8));
}

TEST_CASE("check_env names a wrong observation size", "[check_env]") {
  CHECK_THROWS_WITH(check_env(broken(Fault::wrong_observation_size)),
                    Contains("observation of size 3") && Contains("observation_space() has size 4"));
  CHECK_THROWS_WITH(check_env(MismatchedSpace{}),
                    Contains("observation_space() has size 4") && Contains("Observation holds 3"));
}

TEST_CASE("check_env names NaN observations and rewards", "[check_env]") {
  CHECK_THROWS_WITH(check_env(broken(Fault::nan_observation)),
                    Contains("non-finite observation") && Contains("step 6"));
  CHECK_THROWS_WITH(check_env(broken(Fault::nan_reward)), Contains("non-finite reward inf"));
}

TEST_CASE("check_env names a reset that ignores its seed", "[check_env]") {
  CHECK_THROWS_WITH(check_env(broken(Fault::reset_ignores_seed), 3), Contains("reset ignores its seed"));
  // A deterministic start is legitimate when declared.
  CheckEnvOptions options;
  options.reset_must_use_seed = false;
  CHECK_NOTHROW(check_env(broken(Fault::deterministic_start), 3, options));
  CHECK_THROWS_WITH(check_env(broken(Fault::deterministic_start), 3), Contains("reset ignores its seed"));
}

TEST_CASE("check_env names nondeterministic reset and step", "[check_env]") {
  CHECK_THROWS_WITH(check_env(broken(Fault::reset_own_randomness)),
                    Contains("reset is not deterministic"));
  CHECK_THROWS_WITH(check_env(broken(Fault::step_own_randomness)),
                    Contains("step is not deterministic") && Contains("at step 1 "));
}

TEST_CASE("check_env names an observation outside the space", "[check_env]") {
  CHECK_THROWS_WITH(check_env(broken(Fault::out_of_bounds)),
                    Contains("outside observation_space(): entry 1 = 7") && Contains("[-5, 5]"));
}

TEST_CASE("check_env enforces the time-limit flag rules", "[check_env]") {
  CHECK_THROWS_WITH(check_env(broken(Fault::early_truncation)),
                    Contains("truncated set at episode step 5") && Contains("max_episode_steps() = 10"));
  CHECK_THROWS_WITH(check_env(broken(Fault::missing_truncation)),
                    Contains("reached step 10 = max_episode_steps() without truncated"));
}

TEST_CASE("check_env leaves the checked environment untouched", "[check_env]") {
  NormalizeObservation<CartPole<double>> env(CartPole<double>{});
  check_env(env, 1);
  CHECK(env.statistics().count() == 1e-4);
  CHECK_THROWS_AS(check_env(CartPole<float>{}, 1, CheckEnvOptions{-1, true, 8}), pgrad::Error);
}
