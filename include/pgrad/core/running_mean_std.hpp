#pragma once
// pgrad::RunningMeanStd: per-feature running mean and variance of a stream of batches.
#include <cmath>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

/// Running per-feature mean and (population) variance of every sample seen so far, merged batch
/// by batch with Chan, Golub & LeVeque's parallel formula (1979):
///
///   delta = mean_b - mean,  n' = n + n_b,
///   mean' = mean + delta * n_b / n',
///   var'  = (var * n + var_b * n_b + delta^2 * n * n_b / n') / n'.
///
/// As in Gymnasium and Stable-Baselines3 the statistics start at mean 0, variance 1 and a
/// pseudo-count `epsilon` (1e-4 by default), so the first batch dominates but nothing divides by
/// zero. The count is kept in double whatever Scalar is (a float count stops growing at 2^24);
/// the normalisation wrappers use RunningMeanStd<double>, like those libraries (float64).
///
/// Cost: O(features x batch) per update, no allocation after construction.
template <class Scalar = double>
class RunningMeanStd {
 public:
  /// Statistics over `size` features, starting at mean 0, variance 1, count `epsilon`.
  explicit RunningMeanStd(Index size = 0, double epsilon = 1e-4)
      : mean_(Vector<Scalar>::Zero(size)),
        var_(Vector<Scalar>::Ones(size)),
        batch_mean_(size),
        batch_var_(size),
        delta_(size),
        count_(epsilon) {
    PGRAD_REQUIRE(size >= 0, "RunningMeanStd: size must be >= 0, got ", size);
    PGRAD_REQUIRE(std::isfinite(epsilon) && epsilon >= 0.0,
                  "RunningMeanStd: epsilon must be finite and >= 0, got ", epsilon);
  }

  Index size() const { return mean_.size(); }
  const Vector<Scalar>& mean() const { return mean_; }
  /// Population variance (divides by the count, like numpy's var with ddof = 0).
  const Vector<Scalar>& var() const { return var_; }
  double count() const { return count_; }

  /// Merges a batch of samples, one per column (size() x batch). An empty batch is a no-op.
  template <class Derived>
  void update(const Eigen::MatrixBase<Derived>& batch) {
    PGRAD_REQUIRE(batch.rows() == size(), "RunningMeanStd::update: batch has ", batch.rows(),
                  " rows, the statistics have ", size(), " features");
    const Index n = batch.cols();
    if (n == 0) return;
    if constexpr (checks_enabled()) check_finite(batch, "RunningMeanStd::update: batch");
    if (n == 1) {
      // One sample: batch mean is the sample, batch variance 0.
      const double total = count_ + 1.0;
      delta_ = batch.col(0).template cast<Scalar>() - mean_;
      mean_ += delta_ * static_cast<Scalar>(1.0 / total);
      var_ = (var_ * static_cast<Scalar>(count_) +
              delta_.cwiseAbs2() * static_cast<Scalar>(count_ / total)) /
             static_cast<Scalar>(total);
      count_ = total;
      return;
    }
    // Two passes over the batch: its mean, then its centred second moment.
    batch_mean_ = batch.template cast<Scalar>().rowwise().sum() / static_cast<Scalar>(n);
    batch_var_.setZero();
    for (Index j = 0; j < n; ++j)
      batch_var_ += (batch.col(j).template cast<Scalar>() - batch_mean_).cwiseAbs2();
    batch_var_ /= static_cast<Scalar>(n);
    merge(static_cast<double>(n));
  }

  /// Merges a batch given by its moments (mean, population variance, number of samples).
  void update_from_moments(const VectorCRef<Scalar>& batch_mean, const VectorCRef<Scalar>& batch_var,
                           double batch_count) {
    check_shape(batch_mean, size(), 1, "RunningMeanStd::update_from_moments: batch_mean");
    check_shape(batch_var, size(), 1, "RunningMeanStd::update_from_moments: batch_var");
    PGRAD_REQUIRE(std::isfinite(batch_count) && batch_count >= 0.0,
                  "RunningMeanStd::update_from_moments: batch_count must be finite and >= 0, got ",
                  batch_count);
    check_finite(batch_mean, "RunningMeanStd::update_from_moments: batch_mean");
    check_finite(batch_var, "RunningMeanStd::update_from_moments: batch_var");
    PGRAD_REQUIRE((batch_var.array() >= Scalar(0)).all(),
                  "RunningMeanStd::update_from_moments: negative batch variance");
    if (batch_count == 0.0) return;
    batch_mean_ = batch_mean;
    batch_var_ = batch_var;
    merge(batch_count);
  }

  /// Replaces the statistics (for checkpoints, or to share them between normalisers).
  void set(const VectorCRef<Scalar>& mean, const VectorCRef<Scalar>& var, double count) {
    PGRAD_REQUIRE(mean.size() == var.size(), "RunningMeanStd::set: mean has ", mean.size(),
                  " entries, var has ", var.size());
    check_finite(mean, "RunningMeanStd::set: mean");
    check_finite(var, "RunningMeanStd::set: var");
    PGRAD_REQUIRE((var.array() >= Scalar(0)).all(), "RunningMeanStd::set: negative variance");
    PGRAD_REQUIRE(std::isfinite(count) && count >= 0.0,
                  "RunningMeanStd::set: count must be finite and >= 0, got ", count);
    mean_ = mean;
    var_ = var;
    count_ = count;
    batch_mean_.resize(mean.size());
    batch_var_.resize(mean.size());
    delta_.resize(mean.size());
  }

  /// Checkpoints: mean, variance and count, bit for bit (load_state: all finite, var and count >= 0).
  void save_state(Writer& w) const {
    w.section("RunningMeanStd");
    w.matrix(mean_);
    w.matrix(var_);
    w.f64(count_);
  }
  void load_state(Reader& r) {
    r.section("RunningMeanStd");
    Vector<Scalar> mean, var;
    r.matrix(mean, "RunningMeanStd mean", size(), 1);  // finite, or it throws
    r.matrix(var, "RunningMeanStd var", size(), 1);
    PGRAD_REQUIRE((var.array() >= Scalar(0)).all(), r.source(), ": corrupt RunningMeanStd var: negative entries");
    const double count = r.finite<double>("RunningMeanStd count");
    PGRAD_REQUIRE(count >= 0, r.source(), ": corrupt RunningMeanStd count ", count, " (must be >= 0)");
    set(mean, var, count);
  }

 private:
  // Chan et al.'s merge of (mean_, var_, count_) with (batch_mean_, batch_var_, batch_count).
  void merge(double batch_count) {
    const double total = count_ + batch_count;
    delta_ = batch_mean_ - mean_;
    mean_ += delta_ * static_cast<Scalar>(batch_count / total);
    var_ = (var_ * static_cast<Scalar>(count_) + batch_var_ * static_cast<Scalar>(batch_count) +
            delta_.cwiseAbs2() * static_cast<Scalar>(count_ * batch_count / total)) /
           static_cast<Scalar>(total);
    count_ = total;
  }

  Vector<Scalar> mean_, var_;
  Vector<Scalar> batch_mean_, batch_var_, delta_;  // work buffers
  double count_;
};

}  // namespace pgrad
