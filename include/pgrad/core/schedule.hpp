#pragma once
// pgrad::Schedule: a hyperparameter as a function of training progress.
#include <cmath>
#include <utility>
#include <vector>

#include <pgrad/core/error.hpp>

namespace pgrad {

/// A value v(p) of training progress p in [0, 1] (the fraction of the training run done):
/// constant(v), linear(start, end) from p = 0 to p = 1 (CleanRL's learning-rate annealing is
/// linear(lr, 0)), or piecewise-linear through points (p_k, v_k) with p ascending, constant
/// before the first point and after the last. Used for the learning rate, PPO's clip range and
/// the entropy coefficient.
class Schedule {
 public:
  using Point = std::pair<double, double>;  ///< (progress, value)

  static Schedule constant(double value) { return Schedule({{0.0, value}}); }
  static Schedule linear(double start, double end) { return Schedule({{0.0, start}, {1.0, end}}); }
  static Schedule piecewise(std::vector<Point> points) { return Schedule(std::move(points)); }

  /// v(p); p outside [0, 1] is clamped.
  double operator()(double progress) const {
    const double p = std::min(1.0, std::max(0.0, progress));
    if (p <= points_.front().first) return points_.front().second;
    for (std::size_t k = 1; k < points_.size(); ++k) {
      const auto& [p1, v1] = points_[k];
      if (p <= p1) {
        const auto& [p0, v0] = points_[k - 1];
        return p1 == p0 ? v1 : v0 + (v1 - v0) * (p - p0) / (p1 - p0);
      }
    }
    return points_.back().second;
  }

  const std::vector<Point>& points() const { return points_; }

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

  std::vector<Point> points_;
};

}  // namespace pgrad
