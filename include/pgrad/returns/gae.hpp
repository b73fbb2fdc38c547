#pragma once
// Generalized advantage estimation with separate terminated / truncated flags.
#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/returns/discounted.hpp>  // detail::NonDeduced, detail::check_discount

namespace pgrad {

/// GAE(lambda) (Schulman et al. 2016, "High-dimensional continuous control using generalized
/// advantage estimation") over a rollout of N environments x T steps; element (i, t) is
/// environment i at step t (column t = step t). For each (i, t), backwards from t = T-1:
///
///     next_value = 0                      if terminated(i, t)   (true terminal state)
///                = final_values(i, t)     if truncated(i, t)    (time limit: V of the finished
///                                                                episode's final observation)
///                = last_values[i]         if t = T-1            (V of the observation after the
///                                                                rollout)
///                = values(i, t+1)         otherwise
///     delta(i, t)      = rewards(i, t) + gamma * next_value - values(i, t)
///     advantages(i, t) = delta(i, t) + gamma * lambda * advantages(i, t+1),
///                        without the second term when the episode ended at (i, t)
///                        (terminated or truncated) and at t = T-1
///     returns          = advantages + values   (the TD(lambda) target for the critic)
///
/// terminated wins when both flags are set. On truncation the vector environment has already
/// reset, so values(i, t+1) belongs to the next episode; using it instead of V(final observation)
/// is the classic timeout-bootstrap bug. lambda = 1 gives discounted n-step returns bootstrapped
/// at the rollout end (A2C); lambda = 0 gives one-step TD errors.
///
/// Entries of final_values where truncated is false are ignored (they may hold anything, even
/// NaN). The outputs must not alias the inputs. Batched over environments, O(N T), no allocation
/// once the outputs have the right size.
template <class S>
void compute_gae(const MatrixCRef<detail::NonDeduced<S>>& rewards,
                 const MatrixCRef<detail::NonDeduced<S>>& values,
                 const Eigen::Ref<const BoolMatrix>& terminated,
                 const Eigen::Ref<const BoolMatrix>& truncated,
                 const MatrixCRef<detail::NonDeduced<S>>& final_values,
                 const VectorCRef<detail::NonDeduced<S>>& last_values, detail::NonDeduced<S> gamma,
                 detail::NonDeduced<S> lambda, Matrix<S>& advantages, Matrix<S>& returns) {
  detail::check_discount(gamma, "compute_gae: gamma");
  detail::check_discount(lambda, "compute_gae: lambda");
  const Index envs = rewards.rows(), steps = rewards.cols();
  check_shape(values, envs, steps, "compute_gae: values (shape of rewards, N envs x T steps)");
  check_shape(terminated, envs, steps, "compute_gae: terminated (shape of rewards, N envs x T steps)");
  check_shape(truncated, envs, steps, "compute_gae: truncated (shape of rewards, N envs x T steps)");
  check_shape(final_values, envs, steps, "compute_gae: final_values (shape of rewards, N envs x T steps)");
  PGRAD_REQUIRE(last_values.size() == envs, "compute_gae: last_values has ", last_values.size(),
                " entries but rewards has ", envs, " rows (environments)");
  if constexpr (checks_enabled()) {
    check_finite(rewards, "compute_gae: rewards");
    check_finite(values, "compute_gae: values");
    check_finite(last_values, "compute_gae: last_values");
    check_finite(truncated.select(final_values.array(), S(0)), "compute_gae: final_values (where truncated)");
  }

  advantages.resize(envs, steps);
  returns.resize(envs, steps);
  // delta(i, t) for one step, batched over environments; `bootstrap` is the value of the next
  // observation when the episode goes on (last_values at T-1, values(:, t+1) before).
  const auto set_delta = [&](Index t, const auto& bootstrap) {
    const auto next_value = terminated.col(t).select(
        S(0), truncated.col(t).select(final_values.col(t).array(), bootstrap));
    advantages.col(t).array() = rewards.col(t).array() + gamma * next_value - values.col(t).array();
  };
  const S gamma_lambda = gamma * lambda;
  if (steps > 0) set_delta(steps - 1, last_values.array());
  for (Index t = steps - 2; t >= 0; --t) {
    set_delta(t, values.col(t + 1).array());
    advantages.col(t).array() +=
        gamma_lambda * (terminated.col(t) || truncated.col(t)).select(S(0), advantages.col(t + 1).array());
  }
  returns = advantages + values;
}

}  // namespace pgrad
