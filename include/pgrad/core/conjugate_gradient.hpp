#pragma once
// pgrad::conjugate_gradient: solves A x = b for a symmetric positive-definite A given as a product.
#include <cmath>

#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

/// What conjugate_gradient reports: the steps taken and the final residual norm ‖b - A x‖.
struct ConjugateGradientResult {
  Index steps = 0;
  double residual = 0;
};

/// Conjugate gradient (Hestenes & Stiefel 1952) from x = 0 for A x = b, A symmetric positive
/// definite and known only through `product(v, out)` (out = A v): at most max_steps steps, fewer
/// once ‖r‖² ≤ tolerance. TRPO solves (F + λI) x = g with it, F the Fisher matrix. The vectors
/// r, p and A p live in `scratch` (three vectors, reused between calls: no allocation once sized).
template <class S, class Product>
ConjugateGradientResult conjugate_gradient(const Product& product, const Vector<S>& b, Vector<S>& x,
                                           Index max_steps, double tolerance, Vector<S> (&scratch)[3]) {
  PGRAD_REQUIRE(max_steps >= 1, "conjugate_gradient: max_steps must be positive, got ", max_steps);
  Vector<S>& r = scratch[0];
  Vector<S>& p = scratch[1];
  Vector<S>& ap = scratch[2];
  x.setZero(b.size());
  r = b;
  p = b;
  double rr = static_cast<double>(r.squaredNorm());
  ConjugateGradientResult result;
  while (result.steps < max_steps && rr > tolerance) {
    product(p, ap);
    const double pap = static_cast<double>(p.dot(ap));
    PGRAD_REQUIRE(std::isfinite(pap) && pap > 0, "conjugate_gradient: pᵀAp = ", pap,
                  " (the matrix is not positive definite, or a product is NaN)");
    const S alpha = static_cast<S>(rr / pap);
    x += alpha * p;
    r -= alpha * ap;
    const double rr_next = static_cast<double>(r.squaredNorm());
    p = r + static_cast<S>(rr_next / rr) * p;
    rr = rr_next;
    ++result.steps;
  }
  result.residual = std::sqrt(rr);
  return result;
}

}  // namespace pgrad
