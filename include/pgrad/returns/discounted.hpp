#pragma once
// Discounted returns (REINFORCE's Monte-Carlo targets).
#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

namespace detail {
template <class T>
struct TypeIdentity {
  using type = T;
};
/// T in a non-deduced context: the Scalar of the returns functions is deduced from the output
/// argument only, so Matrix inputs convert to Eigen::Ref and `0.99` works for a float gamma.
template <class T>
using NonDeduced = typename TypeIdentity<T>::type;

template <class S>
void check_discount(S value, const char* what) {
  PGRAD_REQUIRE(value >= S(0) && value <= S(1), what, " must be in [0, 1], got ", value);
}
}  // namespace detail

/// Discounted return of one episode, computed backwards in O(T):
///
///     out[t] = sum_{k >= 0} gamma^k r[t+k] = r[t] + gamma out[t+1],   out[T] = 0.
template <class S>
void discounted_returns(const RowVectorCRef<detail::NonDeduced<S>>& rewards, detail::NonDeduced<S> gamma,
                        RowVector<S>& out) {
  detail::check_discount(gamma, "discounted_returns: gamma");
  if constexpr (checks_enabled()) check_finite(rewards, "discounted_returns: rewards");
  const Index steps = rewards.size();
  out.resize(steps);
  S next = 0;
  for (Index t = steps - 1; t >= 0; --t) out[t] = next = rewards[t] + gamma * next;
}

/// Discounted returns of a rollout of N environments x T steps (element (i, t) = environment i
/// at step t), where episode_end(i, t) marks the last step of an episode (terminated or
/// truncated). The sum restarts after every episode end and nothing is bootstrapped:
///
///     out(i, t) = r(i, t) + gamma * (episode_end(i, t) ? 0 : out(i, t+1)),   out(i, T) = 0,
///
/// so an episode still running at step T-1 gets the return of its rewards seen so far (collect
/// whole episodes for unbiased REINFORCE targets). Batched over environments, O(N T).
template <class S>
void discounted_returns(const MatrixCRef<detail::NonDeduced<S>>& rewards,
                        const Eigen::Ref<const BoolMatrix>& episode_end, detail::NonDeduced<S> gamma,
                        Matrix<S>& out) {
  detail::check_discount(gamma, "discounted_returns: gamma");
  check_shape(episode_end, rewards.rows(), rewards.cols(), "discounted_returns: episode_end (shape of rewards)");
  if constexpr (checks_enabled()) check_finite(rewards, "discounted_returns: rewards");
  const Index steps = rewards.cols();
  out.resize(rewards.rows(), steps);
  for (Index t = steps - 1; t >= 0; --t) {
    if (t == steps - 1)
      out.col(t) = rewards.col(t);
    else
      out.col(t).array() =
          rewards.col(t).array() + gamma * episode_end.col(t).select(S(0), out.col(t + 1).array());
  }
}

}  // namespace pgrad
