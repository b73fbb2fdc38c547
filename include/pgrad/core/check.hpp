#pragma once
// Input checks that turn silent NaNs and size mismatches into pgrad::Error.
//
// Checks are on by default. Define PGRAD_DISABLE_CHECKS to compile the finite-value checks
// out of hot paths (size checks always stay: they guard against undefined behaviour).
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

/// Throws pgrad::Error naming `what` and the first offending entry when `values` holds a NaN or
/// an infinity. Cost: one pass over the values.
template <class Derived>
void check_finite(const Eigen::DenseBase<Derived>& values, const char* what) {
  if (values.allFinite()) return;
  for (Index col = 0; col < values.cols(); ++col)
    for (Index row = 0; row < values.rows(); ++row) {
      const auto v = values(row, col);
      if (!std::isfinite(v))
        detail::fail(what, ": non-finite value ", v, " at row ", row, ", column ", col, " (",
                     values.rows(), "x", values.cols(), ")");
    }
}

/// Throws pgrad::Error unless `values` is rows x cols; the message names `what` and both shapes.
template <class Derived>
void check_shape(const Eigen::DenseBase<Derived>& values, Index rows, Index cols, const char* what) {
  PGRAD_REQUIRE(values.rows() == rows && values.cols() == cols, what, ": expected ", rows, "x",
                cols, ", got ", values.rows(), "x", values.cols());
}

}  // namespace pgrad
