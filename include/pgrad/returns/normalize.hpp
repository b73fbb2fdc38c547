#pragma once
// Normalisation of advantages or returns to zero mean and unit standard deviation.
#include <cmath>
#include <utility>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

/// In place over all n entries of x (a whole batch or one minibatch):
///
///     x <- (x - mean) / (std + eps),   mean = sum x / n,   std = sqrt(sum (x - mean)^2 / (n - 1))
///
/// with the unbiased (n - 1) sample standard deviation, as torch.std in CleanRL and
/// Stable-Baselines3. A single entry has no sample std: it only has its mean subtracted (so it
/// becomes 0); so do equal entries with eps = 0. Throws pgrad::Error on empty input, a negative
/// or non-finite eps, and (unless PGRAD_DISABLE_CHECKS) non-finite entries. Two passes, no
/// allocation.
///
/// Works on any writable Eigen object: a Matrix, an Array, a Ref, or a block expression such
/// as `normalize_in_place(adv.middleCols(start, size))`.
template <class Derived>
void normalize_in_place(Eigen::DenseBase<Derived>& x, typename Derived::Scalar eps = typename Derived::Scalar(1e-8)) {
  using S = typename Derived::Scalar;
  const Index n = x.size();
  PGRAD_REQUIRE(n > 0, "normalize_in_place: empty input (", x.rows(), "x", x.cols(), ")");
  PGRAD_REQUIRE(std::isfinite(eps) && eps >= S(0), "normalize_in_place: eps must be finite and >= 0, got ", eps);
  if constexpr (checks_enabled()) check_finite(x, "normalize_in_place: input");
  auto&& values = x.derived().array();
  values -= values.mean();
  if (n == 1) return;
  const S stddev = std::sqrt(values.square().sum() / S(n - 1));
  if (stddev + eps > S(0)) values /= stddev + eps;  // eps = 0 and equal entries: they stay 0
}

/// The same for temporaries such as blocks: normalize_in_place(adv.col(0)).
template <class Derived>
void normalize_in_place(Eigen::DenseBase<Derived>&& x, typename Derived::Scalar eps = typename Derived::Scalar(1e-8)) {
  normalize_in_place(x, eps);
}

}  // namespace pgrad
