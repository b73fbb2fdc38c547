#pragma once
// Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_).
#include <cmath>
#include <initializer_list>

#include <pgrad/core/error.hpp>
#include <pgrad/nn/parameters.hpp>

namespace pgrad::nn {

/// Scales every gradient by max_norm / (‖g‖ + 1e-6) when that factor is below 1, where ‖g‖ is the
/// global norm over all blocks; returns ‖g‖ before clipping. A NaN or infinite norm throws
/// pgrad::Error (a silent NaN would destroy the parameters on the next step).
template <class S>
S clip_grad_norm(std::initializer_list<Parameters<S>*> blocks, S max_norm) {
  PGRAD_REQUIRE(max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  double sum = 0;
  for (const Parameters<S>* p : blocks) sum += static_cast<double>(p->grad.squaredNorm());
  const S norm = static_cast<S>(std::sqrt(sum));
  PGRAD_REQUIRE(std::isfinite(norm), "clip_grad_norm: gradient norm is ", norm,
                " (NaN or Inf in a gradient)");
  const S coefficient = max_norm / (norm + S(1e-6));
  if (coefficient < S(1))
    for (Parameters<S>* p : blocks) p->grad *= coefficient;
  return norm;
}

}  // namespace pgrad::nn
