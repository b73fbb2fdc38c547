#pragma once
// pgrad::nn::Dropout: inverted dropout masks, as torch.nn.Dropout in training mode.
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::nn {

/// Inverted dropout (Srivastava et al. 2014, as torch.nn.Dropout): in training, each unit is
/// zeroed with probability p and the others are scaled by 1/(1 - p), so the expected output is
/// the input; in evaluation it is the identity. A mask is a matrix of 0 and 1/(1 - p), one entry
/// per unit and sample, drawn once and then applied to the forward (y ⊙ mask) and to the
/// backward (dy ⊙ mask) of the same pass; Mlp takes masks for its hidden layers.
template <class S>
class Dropout {
 public:
  /// p in [0, 1): the probability that a unit is dropped.
  explicit Dropout(double p = 0) : p_(p) {
    PGRAD_REQUIRE(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got ", p);
  }

  double p() const { return p_; }
  bool active() const { return p_ > 0; }
  /// 1/(1 - p): the value of a kept unit in a mask.
  S scale() const { return static_cast<S>(1.0 / (1.0 - p_)); }

  /// Draws a rows x cols mask from rng: each entry, column by column, is 0 when a uniform draw
  /// in [0, 1) is below p, scale() otherwise. Allocates only when the shape changes.
  void draw(Rng& rng, Index rows, Index cols, Matrix<S>& mask) const {
    mask.resize(rows, cols);
    const S keep = scale();
    for (Index i = 0; i < mask.size(); ++i) mask.data()[i] = rng.uniform<double>() < p_ ? S(0) : keep;
  }

 private:
  double p_;
};

}  // namespace pgrad::nn
