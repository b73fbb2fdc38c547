#pragma once
// Checks shared by the distribution tests: finite-difference Hessians for the Fisher metrics
// (double precision) and Pearson's chi-square statistic for sample frequencies.
#include <Eigen/Dense>

#include <functional>
#include <vector>

namespace pgrad_test {

/// Numerical Hessian of f at x: H_ab ≈ [f(x + h e_a + h e_b) − f(x + h e_a − h e_b)
/// − f(x − h e_a + h e_b) + f(x − h e_a − h e_b)] / 4h² (the diagonal with step 2h). Truncation
/// error O(h²), rounding error O(ε |f| / h²).
inline Eigen::MatrixXd numerical_hessian(const std::function<double(const Eigen::VectorXd&)>& f, Eigen::VectorXd x,
                                         double h = 1e-4) {
  const Eigen::Index n = x.size();
  Eigen::MatrixXd hessian(n, n);
  const auto at = [&](Eigen::Index a, double da, Eigen::Index b, double db) {
    const double saved_a = x[a], saved_b = x[b];
    x[a] += da;
    x[b] += db;
    const double value = f(x);
    x[a] = saved_a;
    x[b] = saved_b;
    return value;
  };
  for (Eigen::Index a = 0; a < n; ++a)
    for (Eigen::Index b = a; b < n; ++b) {
      const double value =
          (at(a, h, b, h) - at(a, h, b, -h) - at(a, -h, b, h) + at(a, -h, b, -h)) / (4 * h * h);
      hessian(a, b) = hessian(b, a) = value;
    }
  return hessian;
}

/// Pearson's statistic Σ (count − draws p)² / (draws p) over the cells with p > 0.
inline double chi_square(const std::vector<long>& counts, const Eigen::VectorXd& probs, long draws) {
  double chi2 = 0;
  for (Eigen::Index k = 0; k < probs.size(); ++k) {
    if (probs[k] == 0) continue;
    const double expected = static_cast<double>(draws) * probs[k];
    const double diff = static_cast<double>(counts[static_cast<std::size_t>(k)]) - expected;
    chi2 += diff * diff / expected;
  }
  return chi2;
}

}  // namespace pgrad_test
