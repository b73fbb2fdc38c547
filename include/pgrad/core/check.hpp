#pragma once
// Input checks that turn silent NaNs and size mismatches into pgrad::Error.
//
// Checks are on by default. Define PGRAD_DISABLE_CHECKS to compile the finite-value checks
// out of hot paths (size checks always stay: they guard against undefined behaviour).
#include <cmath>

#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

/// True when finite-value checks run (PGRAD_DISABLE_CHECKS not defined).
constexpr bool checks_enabled() {
#ifdef PGRAD_DISABLE_CHECKS
  return false;
#else
  return true;
#endif
}

namespace detail {
/// Throws pgrad::Error naming `what` and the first non-finite entry (column by column) of the
/// rows x cols values at data[row * row_stride + col * col_stride]; returns when all are finite.
/// One instantiation per scalar type serves every matrix, map, Ref and block.
template <class S>
void check_finite_strided(const S* data, Index rows, Index cols, Index row_stride, Index col_stride, const char* what) {
  // The common layouts as Σ x·0 over one Map type per scalar, in packets: the sum is 0 unless some
  // x is NaN or infinite (Eigen's allFinite ends in a scalar loop, 2% of CartPole PPO's time).
  // The search for the offending entry only on failure.
  using Strided = Eigen::Map<const Matrix<S>, 0, Eigen::OuterStride<>>;
  const auto all_finite = [](const auto& values) { return (values.array() * S(0)).sum() == S(0); };
  const bool contiguous = row_stride == 1 && (col_stride == rows || cols <= 1);
  if (contiguous && all_finite(Eigen::Map<const Vector<S>>(data, rows * cols))) return;
  if (row_stride == 1 && all_finite(Strided(data, rows, cols, Eigen::OuterStride<>(col_stride)))) return;
  if (row_stride != 1 && col_stride == 1 && all_finite(Strided(data, cols, rows, Eigen::OuterStride<>(row_stride))))
    return;
  for (Index col = 0; col < cols; ++col)
    for (Index row = 0; row < rows; ++row) {
      const S v = data[row * row_stride + col * col_stride];
      if (!std::isfinite(v))
        fail({what, ": non-finite value ", v, " at row ", row, ", column ", col, " (", rows, "x", cols, ")"});
    }
}

/// check_shape's test and message, shared by every matrix type.
inline void check_sizes(Index got_rows, Index got_cols, Index rows, Index cols, const char* what) {
  PGRAD_REQUIRE(got_rows == rows && got_cols == cols, what, ": expected ", rows, "x", cols, ", got ", got_rows, "x",
                got_cols);
}
}  // namespace detail

/// Throws pgrad::Error naming `what` and the first offending entry when `values` holds a NaN or
/// an infinity. Cost: one pass over the values.
template <class Derived>
void check_finite(const Eigen::DenseBase<Derived>& values, const char* what) {
  if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit)) {
    // Plain storage (Matrix, Map, Ref, Block of those): the shared per-scalar scan.
    const Derived& m = values.derived();
    const Index inner = m.innerStride(), outer = m.outerStride();
    detail::check_finite_strided(m.data(), m.rows(), m.cols(), Derived::IsRowMajor ? outer : inner,
                                 Derived::IsRowMajor ? inner : outer, what);
  } else {
    if (values.allFinite()) return;
    for (Index col = 0; col < values.cols(); ++col)
      for (Index row = 0; row < values.rows(); ++row) {
        const auto v = values(row, col);
        if (!std::isfinite(v))
          detail::fail({what, ": non-finite value ", v, " at row ", row, ", column ", col, " (", values.rows(), "x",
                        values.cols(), ")"});
      }
  }
}

/// Throws pgrad::Error unless `values` is rows x cols; the message names `what` and both shapes.
template <class Derived>
void check_shape(const Eigen::DenseBase<Derived>& values, Index rows, Index cols, const char* what) {
  detail::check_sizes(values.rows(), values.cols(), rows, cols, what);
}

}  // namespace pgrad
