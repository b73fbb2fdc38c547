#pragma once
// Observation and action spaces: Discrete(n), MultiDiscrete(nvec) and Box(low, high).
#include <limits>
#include <utility>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::envs {

/// The actions {0, 1, ..., n-1}. Actions of a Discrete space are pgrad::Index values.
struct Discrete {
  Index n = 0;

  explicit Discrete(Index count) : n(count) {
    PGRAD_REQUIRE(count > 0, "Discrete: n must be positive, got ", count);
  }
  bool contains(Index action) const { return action >= 0 && action < n; }
  /// Uniform over the n actions.
  Index sample(Rng& rng) const { return static_cast<Index>(rng.below(static_cast<std::uint64_t>(n))); }
};

/// K independent discrete choices, component k among {0, ..., nvec[k] − 1} (Gymnasium's
/// MultiDiscrete, e.g. nvec = {3, 5, 2}). Actions are Eigen column vectors of K pgrad::Index
/// values; an action mask has Σ nvec flags, component k's in [offset(k), offset(k) + nvec[k]).
struct MultiDiscrete {
  std::vector<Index> nvec;

  explicit MultiDiscrete(std::vector<Index> sizes) : nvec(std::move(sizes)) {
    PGRAD_REQUIRE(!nvec.empty(), "MultiDiscrete: nvec is empty (need at least one component)");
    for (std::size_t k = 0; k < nvec.size(); ++k)
      PGRAD_REQUIRE(nvec[k] > 0, "MultiDiscrete: nvec[", k, "] must be positive, got ", nvec[k]);
  }
  /// K, the number of components (the rows of an action).
  Index size() const { return static_cast<Index>(nvec.size()); }
  /// Σ nvec: the flags of an action mask (and the logits of a policy).
  Index total() const {
    Index sum = 0;
    for (Index n : nvec) sum += n;
    return sum;
  }
  template <class Derived>
  bool contains(const Eigen::MatrixBase<Derived>& action) const {
    if (action.size() != size()) return false;
    for (Index k = 0; k < size(); ++k)
      if (action[k] < 0 || action[k] >= nvec[static_cast<std::size_t>(k)]) return false;
    return true;
  }
  /// Uniform over each component, independently.
  Eigen::Matrix<Index, Eigen::Dynamic, 1> sample(Rng& rng) const {
    Eigen::Matrix<Index, Eigen::Dynamic, 1> action(size());
    for (Index k = 0; k < size(); ++k)
      action[k] = static_cast<Index>(rng.below(static_cast<std::uint64_t>(nvec[static_cast<std::size_t>(k)])));
    return action;
  }
};

/// The box low <= x <= high per dimension; bounds may be infinite.
template <class Scalar>
struct Box {
  Vector<Scalar> low;
  Vector<Scalar> high;

  Box(Vector<Scalar> lower, Vector<Scalar> upper) : low(std::move(lower)), high(std::move(upper)) {
    PGRAD_REQUIRE(low.size() == high.size() && low.size() > 0, "Box: low has ", low.size(),
                  " entries, high has ", high.size());
    for (Index i = 0; i < low.size(); ++i)
      PGRAD_REQUIRE(!std::isnan(low[i]) && !std::isnan(high[i]) && low[i] <= high[i],
                    "Box: dimension ", i, " has low ", low[i], " > high ", high[i]);
  }
  /// The same bound on every one of `size` dimensions.
  static Box uniform(Index size, Scalar lower, Scalar upper) {
    return Box(Vector<Scalar>::Constant(size, lower), Vector<Scalar>::Constant(size, upper));
  }
  /// The unbounded box of `size` dimensions.
  static Box unbounded(Index size) {
    const Scalar inf = std::numeric_limits<Scalar>::infinity();
    return uniform(size, -inf, inf);
  }

  Index size() const { return low.size(); }
  bool is_bounded() const { return low.allFinite() && high.allFinite(); }

  template <class Derived>
  bool contains(const Eigen::MatrixBase<Derived>& x) const {
    return x.size() == size() && x.allFinite() && (x.array() >= low.array()).all() &&
           (x.array() <= high.array()).all();
  }

  /// Like Gymnasium's Box.sample: uniform on bounded dimensions, exponential on half-bounded
  /// ones, standard normal on unbounded ones.
  Vector<Scalar> sample(Rng& rng) const {
    Vector<Scalar> x(size());
    for (Index i = 0; i < size(); ++i) {
      const bool has_low = std::isfinite(low[i]), has_high = std::isfinite(high[i]);
      if (has_low && has_high)
        x[i] = low[i] + (high[i] - low[i]) * rng.uniform<Scalar>();
      else if (has_low)
        x[i] = low[i] - std::log1p(-rng.uniform<Scalar>());
      else if (has_high)
        x[i] = high[i] + std::log1p(-rng.uniform<Scalar>());
      else
        x[i] = rng.normal<Scalar>();
    }
    return x;
  }
};

}  // namespace pgrad::envs
