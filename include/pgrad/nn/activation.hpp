#pragma once
// Element-wise activations and their derivatives, on whole batches.
#include <type_traits>

#include <pgrad/core/error.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/tanh.hpp>

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

/// y = f(z), in place. tanh is Eigen's vectorised one in float and nn::tanh_in_place in double
/// (Eigen 3.4 computes a double tanh one std::tanh at a time).
template <class S>
void apply_activation(Activation activation, Matrix<S>& z) {
  switch (activation) {
    case Activation::identity: return;
    case Activation::tanh:
      if constexpr (std::is_same_v<S, double>)
        tanh_in_place(z.data(), z.size());
      else
        z.array() = z.array().tanh();
      return;
    case Activation::relu: z.array() = z.array().max(S(0)); return;
  }
}

/// grad *= f'(z), written in terms of the output y = f(z) (all three derivatives can be):
/// tanh' = 1 - y^2, relu' = [y > 0], identity' = 1. ReLU's keeps grad where y > 0 and writes 0
/// elsewhere, a packet at a time with a compare mask (Eigen 3.4 does not vectorise a select,
/// which made it a fifth of a ReLU network's backward).
template <class S>
void multiply_by_activation_derivative(Activation activation, const Matrix<S>& y, Matrix<S>& grad) {
  switch (activation) {
    case Activation::identity: return;
    case Activation::tanh:
      grad.array() *= S(1) - y.array().square();
      return;
    case Activation::relu: {
      using Packet = typename Eigen::internal::packet_traits<S>::type;
      constexpr Index size = Eigen::internal::packet_traits<S>::size;
      const S* out = y.data();
      S* g = grad.data();
      const Index n = grad.size();
      Index i = 0;
      if constexpr (size > 1) {
        const Packet zero = Eigen::internal::pset1<Packet>(S(0));
        for (; i + size <= n; i += size) {
          const Packet positive = Eigen::internal::pcmp_lt(zero, Eigen::internal::ploadu<Packet>(out + i));
          Eigen::internal::pstoreu(g + i, Eigen::internal::pand(positive, Eigen::internal::ploadu<Packet>(g + i)));
        }
      }
      for (; i < n; ++i) g[i] = out[i] > S(0) ? g[i] : S(0);
      return;
    }
  }
}

}  // namespace pgrad::nn
