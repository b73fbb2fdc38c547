#pragma once
// Element-wise activations and their derivatives, on whole batches.
#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::nn {

/// The activation applied after a dense layer: identity(z) = z, tanh(z), relu(z) = max(z, 0).
enum class Activation { identity, tanh, relu };

inline const char* to_string(Activation activation) {
  switch (activation) {
    case Activation::identity: return "identity";
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
  }
  return "?";
}

/// y = f(z), in place.
template <class Derived>
void apply_activation(Activation activation, Eigen::MatrixBase<Derived>& z) {
  switch (activation) {
    case Activation::identity: return;
    case Activation::tanh: z.derived().array() = z.derived().array().tanh(); return;
    case Activation::relu: z.derived().array() = z.derived().array().max(typename Derived::Scalar(0)); return;
  }
}

/// grad *= f'(z), written in terms of the output y = f(z) (all three derivatives can be):
/// tanh' = 1 - y^2, relu' = [y > 0], identity' = 1.
template <class DerivedY, class DerivedG>
void multiply_by_activation_derivative(Activation activation, const Eigen::MatrixBase<DerivedY>& y,
                                       Eigen::MatrixBase<DerivedG>& grad) {
  using S = typename DerivedG::Scalar;
  switch (activation) {
    case Activation::identity: return;
    case Activation::tanh:
      grad.derived().array() *= S(1) - y.derived().array().square();
      return;
    case Activation::relu:
      grad.derived().array() = (y.derived().array() > S(0)).select(grad.derived().array(), S(0));
      return;
  }
}

}  // namespace pgrad::nn
