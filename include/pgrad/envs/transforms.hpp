#pragma once
// pgrad::envs::normalize_observation / clip_action / rescale_action: the observation and action
// transforms of the wrappers, written once for the wrappers, the rollout collector, evaluation
// and the C export.
//
// Each takes its input as any Eigen matrix expression (a vector, a column, or a features x batch
// matrix, one sample per column) and writes an output of the same shape: a plain matrix or
// vector is resized to it (no allocation when it already has that shape), any other writable
// expression (a column, a block) must have it. The output may be the input itself (in place).
// Element loops, no temporaries: no allocation, O(rows x cols).
#include <algorithm>
#include <cmath>
#include <type_traits>

#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::envs {

namespace detail {
/// Gives `out` the shape rows x cols: resizes a plain matrix/vector, checks any other expression.
template <class Out>
Out& shaped_output(const Eigen::MatrixBase<Out>& out, Index rows, Index cols, const char* what) {
  // Eigen's idiom for writable expressions passed as temporaries (out.col(j)).
  auto& target = const_cast<Eigen::MatrixBase<Out>&>(out).derived();
  if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<Out>, Out>) {
    const bool fits = (Out::RowsAtCompileTime == Eigen::Dynamic || Out::RowsAtCompileTime == rows) &&
                      (Out::ColsAtCompileTime == Eigen::Dynamic || Out::ColsAtCompileTime == cols);
    if (fits && (target.rows() != rows || target.cols() != cols)) target.resize(rows, cols);
  }
  PGRAD_REQUIRE(target.rows() == rows && target.cols() == cols, what, ": the output is ", target.rows(), "x",
                target.cols(), ", the input ", rows, "x", cols);
  return target;
}

/// The loop of clip_action and rescale_action: checks that `low`/`high` hold one bound per row,
/// shapes `out`, then out(i, j) = f(actions(i, j), low_i, high_i) in the actions' scalar S
/// (bounds converted to S), converted to out's scalar.
template <class Actions, class Low, class High, class Out, class F>
void map_actions(const Eigen::MatrixBase<Actions>& actions, const Eigen::MatrixBase<Low>& low,
                 const Eigen::MatrixBase<High>& high, const Eigen::MatrixBase<Out>& out, const char* what, F f) {
  using S = typename Actions::Scalar;
  using T = typename Out::Scalar;
  const Index rows = actions.rows(), cols = actions.cols();
  PGRAD_REQUIRE(low.size() == rows && high.size() == rows, what, ": bounds have ", low.size(), " and ",
                high.size(), " entries, the actions have ", rows, " dimensions");
  auto& result = shaped_output(out, rows, cols, what);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i)
      result(i, j) = static_cast<T>(f(S(actions(i, j)), static_cast<S>(low[i]), static_cast<S>(high[i])));
}
}  // namespace detail

/// Observation normalisation of NormalizeObservation (and of the exported C code):
///
///   out(i, j) = clip((raw(i, j) - mean_i) / sqrt(var_i + epsilon), -clip, clip)
///
/// computed in double whatever the scalar types, then rounded to out's scalar. `raw` is one
/// observation or obs_dim x N (one per column); `mean` and `var` hold one double per feature.
/// Sizes that do not fit throw pgrad::Error.
template <class Raw, class Mean, class Var, class Out>
void normalize_observation(const Eigen::MatrixBase<Raw>& raw, const Eigen::MatrixBase<Mean>& mean,
                           const Eigen::MatrixBase<Var>& var, double epsilon, double clip,
                           const Eigen::MatrixBase<Out>& out) {
  static_assert(std::is_same_v<typename Mean::Scalar, double> && std::is_same_v<typename Var::Scalar, double>,
                "normalize_observation: mean and var must be double");
  const Index rows = raw.rows(), cols = raw.cols();
  PGRAD_REQUIRE(mean.size() == rows && var.size() == rows, "normalize_observation: statistics over ",
                mean.size(), " and ", var.size(), " features, the observations have ", rows);
  auto& result = detail::shaped_output(out, rows, cols, "normalize_observation");
  using T = typename Out::Scalar;
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      const double z = (static_cast<double>(raw(i, j)) - mean[i]) / std::sqrt(var[i] + epsilon);
      result(i, j) = static_cast<T>(std::clamp(z, -clip, clip));
    }
}

/// Clipping to a Box, as ClipAction and evaluate_policy (and the collector for Box actions) do:
///
///   out(i, j) = min(max(actions(i, j), low_i), high_i)
///
/// computed in the actions' scalar (the bounds are converted to it), then converted to out's
/// scalar. `actions` is one action or act_dim x N (one per column); `low`/`high` hold one bound
/// per dimension (infinite bounds allowed). Sizes that do not fit throw pgrad::Error.
template <class Actions, class Low, class High, class Out>
void clip_action(const Eigen::MatrixBase<Actions>& actions, const Eigen::MatrixBase<Low>& low,
                 const Eigen::MatrixBase<High>& high, const Eigen::MatrixBase<Out>& out) {
  using S = typename Actions::Scalar;
  detail::map_actions(actions, low, high, out, "clip_action",
                      [](S a, S lo, S hi) { return std::min(std::max(a, lo), hi); });
}

/// The affine map of RescaleAction from [min, max] onto the bounded Box [low, high]:
///
///   out(i, j) = clip(low_i + (high_i - low_i) * ((actions(i, j) - min) / (max - min)), low_i, high_i)
///
/// computed in the actions' scalar (bounds converted to it), then converted to out's scalar.
/// Inputs outside [min, max] land on the nearer bound. Needs finite bounds and min < max (the
/// caller checks them once; RescaleAction does at construction). Sizes that do not fit throw
/// pgrad::Error.
template <class Actions, class Low, class High, class Out>
void rescale_action(const Eigen::MatrixBase<Actions>& actions, typename Actions::Scalar min,
                    typename Actions::Scalar max, const Eigen::MatrixBase<Low>& low,
                    const Eigen::MatrixBase<High>& high, const Eigen::MatrixBase<Out>& out) {
  using S = typename Actions::Scalar;
  detail::map_actions(actions, low, high, out, "rescale_action", [min, max](S a, S lo, S hi) {
    const S mapped = lo + (hi - lo) * ((a - min) / (max - min));
    return std::min(std::max(mapped, lo), hi);
  });
}

}  // namespace pgrad::envs
