#pragma once
// pgrad::evaluate_policy: a policy's return over whole episodes (deterministic or sampled actions).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>

namespace pgrad {

/// Mean, standard deviation and range of the episode returns of an evaluation.
struct EvaluationResult {
  Index episodes = 0;
  double mean_return = 0, std_return = 0;
  double min_return = 0, max_return = 0;
  double mean_length = 0;
  Index min_length = 0, max_length = 0;
};

/// Runs `episodes` whole episodes of `env` (a copy: the caller's is untouched) and reports the
/// returns and lengths. With `deterministic` (the default) the action is the policy's mode (argmax,
/// or the mean); otherwise it is sampled; an environment's action masks restrict both. Box actions are clipped to the action space. Episode k
/// resets from stream (Stream::evaluation, k) of `seed` and samples its actions from
/// (Stream::evaluation_actions, k), so an evaluation is reproducible and draws nothing that
/// training with the same seed draws: pass the run's seed. For an environment wrapped in NormalizeObservation pass a copy
/// whose statistics are frozen (set_training(false)). The policy runs in evaluation mode (no
/// dropout) and is returned to its mode afterwards. A recurrent policy (RecurrentActorCritic)
/// starts every episode from a zero state.
template <class Env, class Policy>
EvaluationResult evaluate_policy(Policy& policy, Env env, Index episodes, std::uint64_t seed,
                                 bool deterministic = true) {
  static_assert(envs::require_env<Env>());
  PGRAD_REQUIRE(episodes > 0, "evaluate_policy: episodes must be positive, got ", episodes);
  using S = typename Policy::Scalar;
  Matrix<S> observation(policy.observation_size(), 1);
  typename Policy::Actions action;
  typename Env::Action env_action{};
  RowVector<S> log_prob;
  Matrix<S> hidden;  // a recurrent policy's state, zero at the start of every episode
  constexpr bool masked = envs::has_action_mask_v<Env>;
  BoolMatrix mask;  // the environment's action mask of the current observation (masked only)
  const auto read_mask = [&] {
    if constexpr (masked) {
      const auto& flags = env.action_mask();
      PGRAD_REQUIRE(static_cast<Index>(flags.size()) == policy.action_size(), "evaluate_policy: an action mask of ",
                    static_cast<Index>(flags.size()), " flags for ", policy.action_size(), " actions");
      mask.resize(policy.action_size(), 1);
      for (Index a = 0; a < policy.action_size(); ++a) mask(a, 0) = static_cast<bool>(flags[a]);
    }
  };
  double sum = 0, sum_sq = 0, length_sum = 0;
  EvaluationResult result;
  result.episodes = episodes;
  result.min_return = std::numeric_limits<double>::infinity();
  result.max_return = -std::numeric_limits<double>::infinity();
  result.min_length = std::numeric_limits<Index>::max();
  const auto space = env.action_space();
  struct EvaluationMode {  // restores the policy's mode however the function ends
    Policy& policy;
    bool was_training;
    ~EvaluationMode() { policy.set_training(was_training); }
  } mode{policy, policy.training()};
  policy.set_training(false);
  for (Index k = 0; k < episodes; ++k) {
    Rng reset_rng = stream_rng(seed, Stream::evaluation, static_cast<std::uint64_t>(k));
    observation = env.reset(reset_rng).template cast<S>();
    read_mask();
    Rng action_rng = stream_rng(seed, Stream::evaluation_actions, static_cast<std::uint64_t>(k));
    double episode_return = 0;
    Index length = 0;
    if constexpr (is_recurrent_v<Policy>) hidden.setZero(policy.hidden_size(), 1);  // a new episode
    for (;;) {
      if constexpr (is_recurrent_v<Policy>) {
        if (deterministic)
          policy.act_deterministic(observation, hidden, action, masked ? &mask : nullptr);
        else
          policy.act(observation, hidden, action_rng, action, log_prob, masked ? &mask : nullptr);
      } else if (deterministic) {
        policy.act_deterministic(observation, action, masked ? &mask : nullptr);
      } else {
        policy.act(observation, action_rng, action, log_prob, masked ? &mask : nullptr);
      }
      if constexpr (envs::has_multi_discrete_actions_v<Env>) {
        env_action = action.col(0);
      } else if constexpr (Policy::discrete) {
        env_action = action[0];
      } else {
        box_env_actions(policy.box_distribution(), action.col(0), space.low, space.high, env_action);
      }
      const auto step = env.step(env_action);
      episode_return += static_cast<double>(step.reward);
      ++length;
      if (step.terminated || step.truncated) break;
      observation = step.observation.template cast<S>();
      read_mask();
    }
    sum += episode_return;
    sum_sq += episode_return * episode_return;
    length_sum += static_cast<double>(length);
    result.min_return = std::min(result.min_return, episode_return);
    result.max_return = std::max(result.max_return, episode_return);
    result.min_length = std::min(result.min_length, length);
    result.max_length = std::max(result.max_length, length);
  }
  const double n = static_cast<double>(episodes);
  result.mean_return = sum / n;
  result.std_return = std::sqrt(std::max(0.0, sum_sq / n - result.mean_return * result.mean_return));
  result.mean_length = length_sum / n;
  return result;
}

}  // namespace pgrad
