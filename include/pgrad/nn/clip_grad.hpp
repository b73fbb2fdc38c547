#pragma once
// Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_).
#include <cmath>
#include <initializer_list>

#include <pgrad/core/error.hpp>
#include <pgrad/nn/parameters.hpp>

namespace pgrad::nn {

/// The norm and the scale of a global-norm clip (as torch.nn.utils.clip_grad_norm_), from the
/// sum of the squared gradient entries: norm = √sum, scale = max_norm / (norm + 1e-6) when that
/// is below 1, else 1. A NaN or infinite norm throws pgrad::Error (a silent NaN would destroy the
/// parameters on the next step).
template <class S>
struct GradientClip {
  S norm, scale;
};
template <class S>
GradientClip<S> gradient_clip(double squared_sum, S max_norm) {
  PGRAD_REQUIRE(max_norm > 0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  const S norm = static_cast<S>(std::sqrt(squared_sum));
  PGRAD_REQUIRE(std::isfinite(norm), "clip_grad_norm: gradient norm is ", norm,
                " (NaN or Inf in a gradient)");
  const S coefficient = max_norm / (norm + S(1e-6));
  return {norm, coefficient < S(1) ? coefficient : S(1)};
}

/// Scales every gradient by max_norm / (‖g‖ + 1e-6) when that factor is below 1, where ‖g‖ is the
/// global norm over all blocks; returns ‖g‖ before clipping (see gradient_clip).
template <class S>
S clip_grad_norm(std::initializer_list<Parameters<S>*> blocks, S max_norm) {
  double sum = 0;
  for (const Parameters<S>* p : blocks) sum += static_cast<double>(p->grad.squaredNorm());
  const GradientClip<S> clip = gradient_clip(sum, max_norm);
  if (clip.scale < S(1))
    for (Parameters<S>* p : blocks) p->grad *= clip.scale;
  return clip.norm;
}

}  // namespace pgrad::nn
