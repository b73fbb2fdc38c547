#pragma once
// Mlp<S>: a multi-layer perceptron with hand-written, batched backprop.
#include <array>
#include <initializer_list>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/activation.hpp>
#include <pgrad/nn/dense.hpp>
#include <pgrad/nn/parameters.hpp>

namespace pgrad::nn {

/// A stack of Dense layers built from a list of sizes, e.g. {4, 64, 64, 2}: every layer but the
/// last is followed by `hidden` activation, the last by `output` activation. All weights and
/// biases live in one flat Parameters vector (layer by layer, W then b).
///
/// forward(X) keeps what backward needs (the input and every layer's output); backward(dY)
/// accumulates every dW, db and returns dX. predict(X, Y) is the inference path: it keeps no
/// backward state and, once the batch size is fixed, allocates nothing. Cost per sample:
/// 2·Σ in·out flops forward, twice that backward.
///
/// Dropout: forward, predict and forward_tangent take optional masks for the hidden layers
/// (nn::Dropout; hidden_units() rows, one column per sample, layer 0's units first): a hidden
/// layer's activated output is multiplied by its rows of the mask before the next layer, and
/// backward multiplies its gradient by the same rows. Without masks the network is the
/// evaluation-mode one.
template <class S>
class Mlp {
 public:
  using Scalar = S;

  Mlp(std::vector<Index> sizes, Activation hidden, Activation output) : sizes_(std::move(sizes)),
      hidden_(hidden), output_(output) {
    PGRAD_REQUIRE(sizes_.size() >= 2, "Mlp: needs at least an input and an output size, got ",
                  sizes_.size(), " sizes");
    Index offset = 0;
    for (std::size_t l = 0; l + 1 < sizes_.size(); ++l) {
      layers_.emplace_back(sizes_[l], sizes_[l + 1], offset);
      offset += layers_.back().parameter_count();
    }
    params_ = Parameters<S>(offset);
    outputs_.resize(layers_.size());
    grad_inputs_.resize(layers_.size());
    tangents_.resize(layers_.size());
    dropped_.resize(layers_.size());
    transposed_weights_.resize(layers_.size());
  }

  Index input_size() const { return sizes_.front(); }
  Index output_size() const { return sizes_.back(); }
  const std::vector<Index>& sizes() const { return sizes_; }
  Index num_layers() const { return static_cast<Index>(layers_.size()); }
  const Dense<S>& layer(Index l) const { return layers_.at(static_cast<std::size_t>(l)); }
  Activation hidden_activation() const { return hidden_; }
  Activation output_activation() const { return output_; }
  Activation activation_of(Index l) const { return l + 1 == num_layers() ? output_ : hidden_; }
  /// The units of all hidden layers: the rows of a dropout mask.
  Index hidden_units() const {
    Index units = 0;
    for (std::size_t l = 1; l + 1 < sizes_.size(); ++l) units += sizes_[l];
    return units;
  }

  Parameters<S>& parameters() { return params_; }
  const Parameters<S>& parameters() const { return params_; }
  void zero_grad() { params_.zero_grad(); }

  Eigen::Map<Matrix<S>> weight(Index l) { return layer(l).weight(params_.value); }
  Eigen::Map<const Matrix<S>> weight(Index l) const { return layer(l).weight(params_.value); }
  Eigen::Map<Vector<S>> bias(Index l) { return layer(l).bias(params_.value); }
  Eigen::Map<const Vector<S>> bias(Index l) const { return layer(l).bias(params_.value); }
  Eigen::Map<Matrix<S>> weight_grad(Index l) { return layer(l).weight(params_.grad); }
  Eigen::Map<Vector<S>> bias_grad(Index l) { return layer(l).bias(params_.grad); }

  /// Training forward on a batch (input_size x batch); returns output_size x batch and keeps the
  /// activations for backward. Throws pgrad::Error on a wrong row count, or a NaN/Inf input
  /// while checks are enabled (see pgrad::check_finite).
  const Matrix<S>& forward(const MatrixCRef<S>& input, const Matrix<S>* dropout_masks = nullptr) {
    check_input(input, "Mlp::forward input");
    check_masks(dropout_masks, input.cols(), "Mlp::forward");
    copy_matrix(input, input_);
    has_masks_ = dropout_masks != nullptr;
    if (has_masks_) masks_ = *dropout_masks;
    for (Index l = 0; l < num_layers(); ++l) {
      const auto i = static_cast<std::size_t>(l);
      Matrix<S>& y = outputs_[i];
      layer(l).forward(params_, layer_input(l), y);
      apply_activation(activation_of(l), y);
      if (has_masks_ && l + 1 < num_layers()) dropped_[i] = y.cwiseProduct(mask_rows(masks_, l));
    }
    has_forward_state_ = true;
    return outputs_.back();
  }

  /// Backward of the last forward: accumulates parameter gradients (call zero_grad() first to
  /// start afresh) and returns dL/dinput (input_size x batch). With want_input_gradient = false
  /// the first layer's dX is skipped (a network fed by observations needs none) and
  /// input_gradient() throws until the next backward that computes it.
  const Matrix<S>& backward(const MatrixCRef<S>& grad_output, bool want_input_gradient = true) {
    PGRAD_REQUIRE(has_forward_state_, "Mlp::backward called without a preceding forward");
    check_shape(grad_output, output_size(), input_.cols(), "Mlp::backward gradient");
    copy_matrix(grad_output, output_delta_);
    for (Index l = num_layers() - 1; l >= 0; --l) {
      const auto i = static_cast<std::size_t>(l);
      // dL/dz of layer l, formed in place in the buffer holding dL/dy (the next layer's dX).
      Matrix<S>& delta = (l + 1 == num_layers()) ? output_delta_ : grad_inputs_[i + 1];
      if (has_masks_ && l + 1 < num_layers()) delta.array() *= mask_rows(masks_, l).array();
      multiply_by_activation_derivative(activation_of(l), outputs_[i], delta);
      const Matrix<S>& x = layer_input(l);
      Matrix<S>* grad_x = (l > 0 || want_input_gradient) ? &grad_inputs_[i] : nullptr;
      layer(l).backward(params_, x, delta, grad_x, transposed_weights_[i]);
    }
    has_input_gradient_ = want_input_gradient;
    return grad_inputs_.front();
  }

  /// The forward-mode derivative of the last forward (Pearlmutter's R-operator): how the output
  /// changes for a change `direction` of the parameters (a flat vector laid out as parameters())
  /// and `input_tangent` of the input (nullptr: the input is fixed). Layer by layer,
  ///   ż_l = Ẇ_l h_{l-1} + ḃ_l + W_l ḣ_{l-1},   ḣ_l = f'(z_l) ⊙ ż_l,   ḣ_0 = input_tangent (or 0),
  /// so the result is J·direction (+ J_x·input_tangent), output_size x batch: the Jacobian of the
  /// outputs times a vector without forming it. It leaves the forward's state for backward.
  const Matrix<S>& forward_tangent(const VectorCRef<S>& direction, const Matrix<S>* input_tangent = nullptr) {
    PGRAD_REQUIRE(has_forward_state_, "Mlp::forward_tangent called without a preceding forward");
    PGRAD_REQUIRE(direction.size() == params_.size(), "Mlp::forward_tangent: direction has ", direction.size(),
                  " entries, the network ", params_.size(), " parameters");
    const Matrix<S>* x_tangent = input_tangent;
    for (Index l = 0; l < num_layers(); ++l) {
      const auto i = static_cast<std::size_t>(l);
      layer(l).forward_tangent(params_, direction.data(), layer_input(l), x_tangent, tangents_[i]);
      multiply_by_activation_derivative(activation_of(l), outputs_[i], tangents_[i]);
      if (has_masks_ && l + 1 < num_layers()) tangents_[i].array() *= mask_rows(masks_, l).array();
      x_tangent = &tangents_[i];
    }
    return tangents_.back();
  }

  /// dL/dinput from the last backward.
  const Matrix<S>& input_gradient() const {
    PGRAD_REQUIRE(has_input_gradient_, "Mlp::input_gradient: the last backward skipped the input gradient");
    return grad_inputs_.front();
  }

  /// Buffers for the hidden layers of one predict (ping-pong between layers).
  using PredictScratch = std::array<Matrix<S>, 2>;

  /// Inference: output = net(input), keeping no backward state. Once the batch size is fixed it
  /// does not allocate. Not thread-safe on one Mlp (it reuses internal scratch buffers).
  void predict(const MatrixCRef<S>& input, Matrix<S>& output) const { predict(input, output, scratch_); }

  /// predict with the caller's scratch: several threads may predict with one Mlp at once, each
  /// with its own scratch and output (while nothing changes the parameters).
  void predict(const MatrixCRef<S>& input, Matrix<S>& output, PredictScratch& scratch,
               const Matrix<S>* dropout_masks = nullptr) const {
    check_input(input, "Mlp::predict input");
    check_masks(dropout_masks, input.cols(), "Mlp::predict");
    for (Index l = 0; l < num_layers(); ++l) {
      Matrix<S>& y = (l + 1 == num_layers()) ? output : scratch[static_cast<std::size_t>(l % 2)];
      if (l == 0)
        layer(l).forward(params_, input, y);
      else
        layer(l).forward(params_, scratch[static_cast<std::size_t>((l - 1) % 2)], y);
      apply_activation(activation_of(l), y);
      if (dropout_masks && l + 1 < num_layers()) y.array() *= mask_rows(*dropout_masks, l).array();
    }
  }

 private:
  void check_input(const MatrixCRef<S>& input, const char* what) const {
    PGRAD_REQUIRE(input.rows() == input_size(), what, ": expected ", input_size(), " rows (the network's input size), got ",
                  input.rows(), " (batch of ", input.cols(), ")");
    if constexpr (checks_enabled()) check_finite(input, what);
  }
  void check_masks(const Matrix<S>* masks, Index batch, const char* what) const {
    if (masks == nullptr) return;
    PGRAD_REQUIRE(masks->rows() == hidden_units() && masks->cols() == batch, what, ": dropout masks are ",
                  masks->rows(), "x", masks->cols(), ", expected ", hidden_units(), "x", batch,
                  " (hidden units x batch)");
  }
  // Hidden layer l's rows of a dropout mask.
  auto mask_rows(const Matrix<S>& masks, Index l) const {
    Index first = 0;
    for (Index k = 1; k <= l; ++k) first += sizes_[static_cast<std::size_t>(k)];
    return masks.middleRows(first, sizes_[static_cast<std::size_t>(l + 1)]);
  }
  // What layer l of the last forward took in: the input, or the previous layer's output after
  // its dropout mask.
  const Matrix<S>& layer_input(Index l) const {
    if (l == 0) return input_;
    const auto i = static_cast<std::size_t>(l - 1);
    return has_masks_ ? dropped_[i] : outputs_[i];
  }

  std::vector<Index> sizes_;
  Activation hidden_, output_;
  std::vector<Dense<S>> layers_;
  Parameters<S> params_;
  // Training state kept by forward for backward, and backward's own buffers.
  Matrix<S> input_;
  std::vector<Matrix<S>> outputs_, grad_inputs_, tangents_;
  std::vector<Matrix<S>> dropped_;          // hidden outputs times their dropout masks
  Matrix<S> masks_;                         // the last forward's dropout masks (a copy)
  bool has_masks_ = false;
  std::vector<Matrix<S>> transposed_weights_;  // Wᵀ of each layer, for its dX
  Matrix<S> output_delta_;
  bool has_forward_state_ = false, has_input_gradient_ = false;
  mutable PredictScratch scratch_;  // predict's own scratch
};

}  // namespace pgrad::nn
