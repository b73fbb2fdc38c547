#pragma once
// Parameters<S>: a network's parameters and their gradients as two flat vectors.
#include <pgrad/core/types.hpp>

namespace pgrad::nn {

/// All trainable numbers of one network (or one parameter vector such as a log-std) as one flat
/// vector `value`, with the gradient accumulated in `grad` (same size, same order). Optimizers,
/// gradient clipping and checkpoints work on these flat vectors.
template <class S>
struct Parameters {
  Vector<S> value;
  Vector<S> grad;

  Parameters() = default;
  explicit Parameters(Index size) : value(Vector<S>::Zero(size)), grad(Vector<S>::Zero(size)) {}

  Index size() const { return value.size(); }
  void zero_grad() { grad.setZero(); }
};

}  // namespace pgrad::nn
