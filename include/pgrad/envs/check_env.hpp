#pragma once
// pgrad::envs::check_env: a runtime checker for environments (like Gymnasium's env checker).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/vector_env.hpp>  // PGRAD_NOINLINE

namespace pgrad::envs {

/// What check_env runs.
struct CheckEnvOptions {
  /// Random-action steps in the step-determinism run (episodes restart as they end).
  Index num_steps = 1000;
  /// Fail when resets under several different seeds all give the same first observation (the
  /// reset ignores its Rng). Set to false for an environment whose start is deterministic.
  bool reset_must_use_seed = true;
  /// Seeds tried for the check above.
  int num_reset_seeds = 8;
};

namespace detail {

template <class Space>
constexpr bool is_discrete_space_v = std::is_same_v<std::decay_t<Space>, Discrete>;

template <class Obs>
bool same_values(const Obs& a, const Obs& b) {
  return a.size() == b.size() && (a.array() == b.array()).all();
}

// Size, finite values and bounds of an observation; `where` says which call produced it.
template <class Env, class Obs>
void check_observation(const Env& env, const Obs& observation, const char* where, Index step) {
  const auto space = env.observation_space();
  PGRAD_REQUIRE(observation.size() == space.size(), "check_env: ", where, " (step ", step,
                ") returned an observation of size ", observation.size(),
                " but observation_space() has size ", space.size());
  PGRAD_REQUIRE(observation.allFinite(), "check_env: ", where, " (step ", step,
                ") returned a non-finite observation (", observation.transpose(), ")");
  if (!space.contains(observation)) {
    for (Index j = 0; j < observation.size(); ++j)
      PGRAD_REQUIRE(observation[j] >= space.low[j] && observation[j] <= space.high[j], "check_env: ",
                    where, " (step ", step, ") returned an observation outside observation_space(): entry ",
                    j, " = ", observation[j], " is not in [", space.low[j], ", ", space.high[j], "]");
  }
}

// The two copies compared for determinism run through these single compiled bodies: two inlined
// call sites could contract floating-point operations (FMA) differently and disagree in the last
// bit although the environment is deterministic.
template <class Env>
PGRAD_NOINLINE auto step_env(Env& env, const typename Env::Action& action) {
  return env.step(action);
}
template <class Env>
PGRAD_NOINLINE typename Env::Observation reset_env(Env& env, Rng& rng) {
  return env.reset(rng);
}

template <class Env>
typename Env::Action sample_action(const Env& env, Rng& rng) {
  using Action = typename Env::Action;
  const auto space = env.action_space();
  if constexpr (std::is_integral_v<Action>) {
    const auto action = space.sample(rng);
    PGRAD_REQUIRE(space.contains(action), "check_env: action_space().sample() gave ", action,
                  ", which action_space().contains() rejects");
    return static_cast<Action>(action);
  } else {
    const auto sample = space.sample(rng);
    PGRAD_REQUIRE(space.contains(sample), "check_env: action_space().sample() gave (",
                  sample.transpose(), "), which action_space().contains() rejects");
    Action action = sample;
    return action;
  }
}

// An allowed action of `env`'s current mask, drawn uniformly among the allowed ones (per
// component for MultiDiscrete), after checking the mask (one flag per action, the same as
// `twin`'s: deterministic; at least one allowed, per component).
template <class Env>
typename Env::Action allowed_action(const Env& env, const Env& twin, Rng& rng, Index t) {
  const auto space = env.action_space();
  constexpr bool multi = has_multi_discrete_actions_v<Env>;
  Index n = 0;
  if constexpr (multi)
    n = space.total();
  else
    n = space.n;
  const auto& mask = env.action_mask();
  const auto& twin_mask = twin.action_mask();
  PGRAD_REQUIRE(static_cast<Index>(mask.size()) == n, "check_env: action_mask() (step ", t, ") has ",
                static_cast<Index>(mask.size()), " flags for ", n, " actions");
  for (Index a = 0; a < n; ++a)
    PGRAD_REQUIRE(static_cast<bool>(mask[a]) == static_cast<bool>(twin_mask[a]), "check_env: action_mask() is not "
                  "deterministic: at step ", t, " two copies in the same state disagree on action ", a);
  // Uniform among the allowed flags of [begin, begin + count), as an index into that range.
  const auto draw = [&](Index begin, Index count, const char* what) {
    std::uint64_t allowed = 0;
    for (Index a = begin; a < begin + count; ++a) allowed += static_cast<bool>(mask[a]) ? 1 : 0;
    PGRAD_REQUIRE(allowed > 0, "check_env: action_mask() (step ", t, ") forbids every action", what);
    std::uint64_t k = rng.below(allowed);
    for (Index a = begin; a < begin + count; ++a)
      if (static_cast<bool>(mask[a]) && k-- == 0) return a - begin;
    return Index(0);  // not reached
  };
  if constexpr (multi) {
    typename Env::Action action = space.sample(rng);  // the right size; every entry redrawn below
    Index offset = 0;
    for (Index c = 0; c < space.size(); ++c) {
      const Index choices = space.nvec[static_cast<std::size_t>(c)];
      action[c] = draw(offset, choices, " of a component");
      offset += choices;
    }
    return action;
  } else {
    return static_cast<typename Env::Action>(draw(0, n, ""));
  }
}

}  // namespace detail

/// Checks at run time that `env` keeps the environment contract, throwing pgrad::Error that
/// names the first fault found:
///
/// - spaces: the observation space size matches a fixed-size Observation; the Box action space
///   size matches a fixed-size Action; action_space().sample() lies in the action space;
/// - every observation (reset and step) has the size of observation_space(), finite values and
///   lies within its bounds; every reward is finite;
/// - reset is deterministic (two copies reset from the same stream agree exactly) and uses its
///   Rng (copies reset from other streams do not all agree; see CheckEnvOptions);
/// - step is deterministic: two copies reset with the same seed and fed the same random actions
///   produce identical observations, rewards and flags for options.num_steps steps;
/// - an action mask (action_mask(), when the env has one) has one flag per action, allows one
///   at least and is deterministic; the random actions are drawn among the allowed ones;
/// - the flags respect the time limit the env declares (max_episode_steps(), see
///   max_episode_steps_of): `truncated` is never set before that step (terminated or not) and an
///   episode never runs past it without `truncated` or `terminated`.
///
/// Works on copies of `env` (which is left untouched), so Env must be copy-constructible, as
/// VectorEnv also needs.
template <class Env>
void check_env(const Env& env, std::uint64_t seed = 0, const CheckEnvOptions& options = {}) {
  static_assert(require_env<Env>());
  static_assert(std::is_copy_constructible_v<Env>,
                "check_env works on copies of the environment: Env must be copy-constructible");
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;
  PGRAD_REQUIRE(options.num_steps >= 0, "check_env: num_steps must be >= 0, got ", options.num_steps);

  // Spaces.
  const auto obs_space = env.observation_space();
  if constexpr (Observation::RowsAtCompileTime != Eigen::Dynamic)
    PGRAD_REQUIRE(obs_space.size() == static_cast<Index>(Observation::RowsAtCompileTime),
                  "check_env: observation_space() has size ", obs_space.size(),
                  " but Observation holds ", static_cast<Index>(Observation::RowsAtCompileTime));
  const auto act_space = env.action_space();
  if constexpr (!std::is_integral_v<Action>) {
    if constexpr (Action::RowsAtCompileTime != Eigen::Dynamic)
      PGRAD_REQUIRE(act_space.size() == static_cast<Index>(Action::RowsAtCompileTime),
                    "check_env: action_space() has size ", act_space.size(), " but Action holds ",
                    static_cast<Index>(Action::RowsAtCompileTime));
  }
  // Its draws: reset k from stream (check_env, k) of `seed`, actions from the last two indices.
  const auto reset_rng = [seed](int k) { return stream_rng(seed, Stream::check_env, static_cast<std::uint64_t>(k)); };
  {
    Rng rng = stream_rng(seed, Stream::check_env, max_stream_index - 1);
    for (int k = 0; k < 32; ++k) detail::sample_action(env, rng);
  }

  // Reset: deterministic under a seed, and actually using it.
  Env first = env, second = env;
  Rng rng_first = reset_rng(0), rng_second = reset_rng(0);
  const Observation start = detail::reset_env(first, rng_first);
  detail::check_observation(first, start, "reset()", 0);
  const Observation start_again = detail::reset_env(second, rng_second);
  PGRAD_REQUIRE(detail::same_values(start, start_again),
                "check_env: reset is not deterministic: two copies reset from the same stream of seed ", seed,
                " gave (", start.transpose(), ") and (", start_again.transpose(),
                "); draw every random number from the Rng passed to reset()");
  if (options.reset_must_use_seed) {
    bool any_different = false;
    for (int k = 1; k <= options.num_reset_seeds && !any_different; ++k) {
      Env other = env;
      Rng rng = reset_rng(k);
      const Observation o = detail::reset_env(other, rng);
      detail::check_observation(other, o, "reset()", 0);
      any_different = !detail::same_values(o, start);
    }
    PGRAD_REQUIRE(any_different, "check_env: reset ignores its seed: resets from ", options.num_reset_seeds + 1,
                  " different streams of seed ", seed, " all gave (", start.transpose(),
                  "); draw the initial state from the Rng passed to reset() (or set "
                  "CheckEnvOptions::reset_must_use_seed = false for a deterministic start)");
  }

  // Steps: two copies in lockstep with the same actions must agree exactly.
  const Index limit = max_episode_steps_of(env);
  Rng action_rng = stream_rng(seed, Stream::check_env, max_stream_index);
  Index episode_step = 0;
  for (Index t = 1; t <= options.num_steps; ++t) {
    Action action{};
    if constexpr (has_action_mask_v<Env>)
      action = detail::allowed_action(first, second, action_rng, t);
    else
      action = detail::sample_action(env, action_rng);
    const auto a = detail::step_env(first, action);
    const auto b = detail::step_env(second, action);
    ++episode_step;
    detail::check_observation(first, a.observation, "step()", t);
    PGRAD_REQUIRE(std::isfinite(static_cast<double>(a.reward)), "check_env: step() (step ", t,
                  ") returned a non-finite reward ", a.reward);
    PGRAD_REQUIRE(detail::same_values(a.observation, b.observation) && a.reward == b.reward &&
                      a.terminated == b.terminated && a.truncated == b.truncated,
                  "check_env: step is not deterministic: at step ", t,
                  " two copies reset with the same seed and given the same actions returned (",
                  a.observation.transpose(), "), reward ", a.reward, ", terminated ", a.terminated,
                  ", truncated ", a.truncated, " and (", b.observation.transpose(), "), reward ",
                  b.reward, ", terminated ", b.terminated, ", truncated ", b.truncated,
                  "; keep all state in the object and draw randomness only from reset's Rng");
    if (limit > 0) {
      PGRAD_REQUIRE(!a.truncated || episode_step >= limit, "check_env: truncated set at episode step ",
                    episode_step, " (terminated = ", a.terminated,
                    "), before the time limit max_episode_steps() = ", limit);
      PGRAD_REQUIRE(episode_step < limit || a.terminated || a.truncated, "check_env: the episode reached step ",
                    episode_step, " = max_episode_steps() without truncated or terminated");
    }
    if (a.terminated || a.truncated) {
      const Observation o1 = detail::reset_env(first, rng_first);
      const Observation o2 = detail::reset_env(second, rng_second);
      detail::check_observation(first, o1, "reset()", t);
      PGRAD_REQUIRE(detail::same_values(o1, o2),
                    "check_env: reset is not deterministic: after step ", t, " two copies gave (",
                    o1.transpose(), ") and (", o2.transpose(), ")");
      episode_step = 0;
    }
  }
}

}  // namespace pgrad::envs
