#pragma once
// Dense<S>: the affine layer y = W x + b over a batch, with hand-written backward.
#include <pgrad/core/check.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/parameters.hpp>
#include <pgrad/nn/small_gemm.hpp>

namespace pgrad::nn {

/// A fully connected layer Y = W X + b·1ᵀ on a batch X (in x batch) giving Y (out x batch).
/// W (out x in, column-major) and b (out) live in a flat Parameters vector at `offset`: W first,
/// then b. The layer itself holds only its shape, so networks copy and move freely.
///
/// backward: dW += dY Xᵀ, db += dY·1, dX = Wᵀ dY. Cost: 2·in·out·batch flops each way. All three
/// products go through small_gemm, which reads X, Xᵀ and (a stored copy of) Wᵀ in place.
template <class S>
class Dense {
 public:
  Dense(Index in, Index out, Index offset = 0) : in_(in), out_(out), offset_(offset) {
    PGRAD_REQUIRE(in > 0 && out > 0, "Dense: sizes must be positive, got in=", in, " out=", out);
  }

  Index input_size() const { return in_; }
  Index output_size() const { return out_; }
  /// Number of parameters: out·in + out.
  Index parameter_count() const { return out_ * in_ + out_; }
  Index offset() const { return offset_; }

  Eigen::Map<Matrix<S>> weight(Vector<S>& flat) const { return {flat.data() + offset_, out_, in_}; }
  Eigen::Map<const Matrix<S>> weight(const Vector<S>& flat) const { return {flat.data() + offset_, out_, in_}; }
  Eigen::Map<Vector<S>> bias(Vector<S>& flat) const { return {flat.data() + offset_ + out_ * in_, out_}; }
  Eigen::Map<const Vector<S>> bias(const Vector<S>& flat) const {
    return {flat.data() + offset_ + out_ * in_, out_};
  }

  /// Y = W X + b (Y resized only when its shape changes).
  void forward(const Parameters<S>& params, const MatrixCRef<S>& x, Matrix<S>& y) const {
    PGRAD_REQUIRE(x.rows() == in_, "Dense::forward: input has ", x.rows(), " rows but the layer expects ",
                  in_, " (batch of ", x.cols(), ")");
    y.resize(out_, x.cols());
    small_gemm<S>(out_, x.cols(), in_, weight(params.value).data(), out_, x.data(), x.outerStride(), GemmB::plain,
                  y.data(), out_, GemmInit::bias, bias(params.value).data());
  }

  /// The forward-mode derivative of forward (Pearlmutter's R-operator): Ẏ = Ẇ X + ḃ·1ᵀ + W Ẋ for a
  /// change `direction` of the parameters (a flat vector laid out as params, read at this
  /// layer's offset) and Ẋ of the input (x_tangent; nullptr when the input does not change).
  void forward_tangent(const Parameters<S>& params, const S* direction, const MatrixCRef<S>& x,
                       const Matrix<S>* x_tangent, Matrix<S>& y_tangent) const {
    const Index batch = x.cols();
    y_tangent.resize(out_, batch);
    small_gemm<S>(out_, batch, in_, direction + offset_, out_, x.data(), x.outerStride(), GemmB::plain,
                  y_tangent.data(), out_, GemmInit::bias, direction + offset_ + out_ * in_);
    if (x_tangent == nullptr) return;
    PGRAD_REQUIRE(x_tangent->rows() == in_ && x_tangent->cols() == batch, "Dense::forward_tangent: input tangent is ",
                  x_tangent->rows(), "x", x_tangent->cols(), ", the input ", in_, "x", batch);
    small_gemm<S>(out_, batch, in_, weight(params.value).data(), out_, x_tangent->data(), in_, GemmB::plain,
                  y_tangent.data(), out_, GemmInit::accumulate);
  }

  /// Accumulates dW += dY Xᵀ and db += row sums of dY into params.grad; writes dX = Wᵀ dY when
  /// grad_x is given, using transposed_weight to hold Wᵀ. `x` is the input of the matching forward.
  void backward(Parameters<S>& params, const MatrixCRef<S>& x, const MatrixCRef<S>& grad_y, Matrix<S>* grad_x,
                Matrix<S>& transposed_weight) const {
    PGRAD_REQUIRE(grad_y.rows() == out_ && grad_y.cols() == x.cols(), "Dense::backward: gradient is ",
                  grad_y.rows(), "x", grad_y.cols(), " but the output is ", out_, "x", x.cols());
    const Index batch = x.cols();
    small_gemm<S>(out_, in_, batch, grad_y.data(), grad_y.outerStride(), x.data(), x.outerStride(),
                  GemmB::transposed, weight(params.grad).data(), out_, GemmInit::accumulate);
    bias(params.grad) += grad_y.rowwise().sum();
    if (grad_x) {
      transposed_weight.resize(in_, out_);
      transpose(weight(params.value).data(), out_, in_, transposed_weight.data());
      grad_x->resize(in_, batch);
      small_gemm<S>(in_, batch, out_, transposed_weight.data(), in_, grad_y.data(), grad_y.outerStride(),
                    GemmB::plain, grad_x->data(), in_, GemmInit::zero);
    }
  }

 private:
  Index in_, out_, offset_;
};

}  // namespace pgrad::nn
