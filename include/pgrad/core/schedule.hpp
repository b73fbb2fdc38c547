#pragma once
// pgrad::Schedule: a hyperparameter as a function of training progress.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <pgrad/core/error.hpp>

namespace pgrad {

/// A value v(p) of training progress p in [0, 1] (the fraction of the training run done):
/// constant(v) (or just a number: `config.ent_coef = 0.01;`), linear(start, end) from p = 0 to
/// p = 1 (CleanRL's learning-rate annealing is linear(lr, 0): v(p) = (1 - p)·lr exactly), or
/// piecewise-linear through points (p_k, v_k) with p ascending, constant before the first point
/// and after the last. Every scheduled hyperparameter of every algorithm is one of these; the
/// algorithm evaluates it once per update at that update's progress.
class Schedule {
 public:
  using Point = std::pair<double, double>;  ///< (progress, value)

  /// The constant `value`: a number converts to a Schedule.
  Schedule(double value) : Schedule(std::vector<Point>{{0.0, value}}) {}  // NOLINT(google-explicit-constructor)

  static Schedule constant(double value) { return Schedule(value); }
  static Schedule linear(double start, double end) { return Schedule({{0.0, start}, {1.0, end}}); }
  static Schedule piecewise(std::vector<Point> points) { return Schedule(std::move(points)); }

  /// v(p); p outside [0, 1] is clamped. Between points p0 < p1 the value is
  /// (1 - t)·v0 + t·v1 with t = (p - p0) / (p1 - p0).
  double operator()(double progress) const {
    const double p = std::min(1.0, std::max(0.0, progress));
    if (p <= points_.front().first) return points_.front().second;
    for (std::size_t k = 1; k < points_.size(); ++k) {
      const auto& [p1, v1] = points_[k];
      if (p <= p1) {
        const auto& [p0, v0] = points_[k - 1];
        if (p1 == p0) return v1;
        const double t = (p - p0) / (p1 - p0);
        return (1.0 - t) * v0 + t * v1;
      }
    }
    return points_.back().second;
  }

  const std::vector<Point>& points() const { return points_; }
  /// The smallest and largest value the schedule takes (at its points).
  double min() const { return extreme(true); }
  double max() const { return extreme(false); }

 private:
  explicit Schedule(std::vector<Point> points) : points_(std::move(points)) {
    PGRAD_REQUIRE(!points_.empty(), "Schedule: needs at least one point");
    for (std::size_t k = 0; k < points_.size(); ++k) {
      const auto& [p, v] = points_[k];
      PGRAD_REQUIRE(std::isfinite(v), "Schedule: value ", k, " is not finite (", v, ")");
      PGRAD_REQUIRE(p >= 0.0 && p <= 1.0, "Schedule: progress ", k, " = ", p, " is outside [0, 1]");
      PGRAD_REQUIRE(k == 0 || p >= points_[k - 1].first, "Schedule: progress values must ascend, point ", k,
                    " (", p, ") comes before point ", k - 1, " (", points_[k - 1].first, ")");
    }
  }

  double extreme(bool smallest) const {
    double value = points_.front().second;
    for (const auto& point : points_)
      value = smallest ? std::min(value, point.second) : std::max(value, point.second);
    return value;
  }

  std::vector<Point> points_;
};

}  // namespace pgrad
