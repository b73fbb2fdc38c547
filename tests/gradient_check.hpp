#pragma once
// Central finite differences for the gradient tests (double precision).
#include <Eigen/Dense>

#include <algorithm>
#include <functional>

#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad_test {

/// A rows x cols matrix of standard normal draws from rng.
inline pgrad::Matrix<double> random_matrix(pgrad::Index rows, pgrad::Index cols, pgrad::Rng& rng) {
  pgrad::Matrix<double> m(rows, cols);
  for (pgrad::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal<double>();
  return m;
}

/// Numerical gradient of f at x by central differences: (f(x + h·e_i) - f(x - h·e_i)) / 2h.
inline Eigen::VectorXd numerical_gradient(const std::function<double(const Eigen::VectorXd&)>& f,
                                          Eigen::VectorXd x, double h = 1e-6) {
  Eigen::VectorXd g(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = f(x);
    x[i] = saved - h;
    const double down = f(x);
    x[i] = saved;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/// ‖a − b‖ / max(‖a‖, ‖b‖, tiny): the relative error of a whole gradient.
template <class A, class B>
double relative_error(const A& a, const B& b) {
  const double scale = std::max({a.norm(), b.norm(), 1e-300});
  return (a - b).norm() / scale;
}

}  // namespace pgrad_test
