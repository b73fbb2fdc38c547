#pragma once
// Generalized advantage estimation with separate terminated / truncated flags.
#include <cmath>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

namespace detail {
template <class T>
struct TypeIdentity {
  using type = T;
};
/// T in a non-deduced context: the Scalar of compute_gae is deduced from its output arguments
/// only, so Matrix inputs convert to Eigen::Ref and `0.99` works for a float gamma.
template <class T>
using NonDeduced = typename TypeIdentity<T>::type;

template <class S>
void check_discount(S value, const char* what) {
  PGRAD_REQUIRE(value >= S(0) && value <= S(1), what, " must be in [0, 1], got ", value);
}

/// check_finite for the entries of `values` (rows x cols, leading dimension ld) where `mask`
/// (leading dimension mask_ld) is true; the message is check_finite's.
template <class S>
void check_finite_where(const S* values, Index ld, const bool* mask, Index mask_ld, Index rows, Index cols,
                        const char* what) {
  for (Index col = 0; col < cols; ++col)
    for (Index row = 0; row < rows; ++row) {
      if (!mask[row + col * mask_ld]) continue;
      const S v = values[row + col * ld];
      if (!std::isfinite(v))
        fail({what, ": non-finite value ", v, " at row ", row, ", column ", col, " (", rows, "x", cols, ")"});
    }
}
}  // namespace detail

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
/// is the classic timeout-bootstrap bug. With values = 0 and lambda = 1 the advantages are the
/// Monte-Carlo discounted returns Σ_k γ^k r[t+k] of each episode (REINFORCE's weights; there is
/// no separate function for them). lambda = 1 gives discounted n-step returns bootstrapped
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
    detail::check_finite_where(final_values.data(), final_values.outerStride(), truncated.data(),
                               truncated.outerStride(), envs, steps, "compute_gae: final_values (where truncated)");
  }

  advantages.resize(envs, steps);
  returns.resize(envs, steps);
  // Plain loops over the column-major storage (cheap to compile). Every element goes through the
  // formula's operations in the formula's order, one operation per statement, as Eigen's
  // element-wise evaluation does: the results are bit-for-bit those of the same formula written
  // as column expressions (compilers contract multiply-adds alike in both, see test_gae).
  const S* r = rewards.data();
  const S* v = values.data();
  const S* f = final_values.data();
  const S* last = last_values.data();
  const bool* term = terminated.data();
  const bool* trunc = truncated.data();
  const Index ld_r = rewards.outerStride(), ld_v = values.outerStride(), ld_f = final_values.outerStride(),
              ld_term = terminated.outerStride(), ld_trunc = truncated.outerStride();
  S* adv = advantages.data();
  S* ret = returns.data();
  const S gamma_lambda = gamma * lambda;
  for (Index t = steps - 1; t >= 0; --t) {
    // delta(i, t); the bootstrap is the value of the next observation when the episode goes on
    // (last_values at T-1, values(:, t+1) before).
    const S* bootstrap = t + 1 == steps ? last : v + (t + 1) * ld_v;
    for (Index i = 0; i < envs; ++i) {
      const S next_value = term[i + t * ld_term] ? S(0) : trunc[i + t * ld_trunc] ? f[i + t * ld_f] : bootstrap[i];
      const S discounted = gamma * next_value;
      const S target = r[i + t * ld_r] + discounted;
      adv[i + t * envs] = target - v[i + t * ld_v];
    }
    if (t + 1 == steps) continue;
    for (Index i = 0; i < envs; ++i) {
      const S carried = term[i + t * ld_term] || trunc[i + t * ld_trunc] ? S(0) : adv[i + (t + 1) * envs];
      const S decayed = gamma_lambda * carried;
      adv[i + t * envs] += decayed;
    }
  }
  for (Index t = 0; t < steps; ++t)
    for (Index i = 0; i < envs; ++i) ret[i + t * envs] = adv[i + t * envs] + v[i + t * ld_v];
}

}  // namespace pgrad
