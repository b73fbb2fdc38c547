#pragma once
// Weight initialisers: orthogonal with gain (Saxe et al. 2014), Xavier/Glorot uniform (Glorot &
// Bengio 2010) and He/Kaiming uniform (He et al. 2015). Biases start at zero.
#include <cmath>

#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/mlp.hpp>

namespace pgrad::nn {

/// Fills W (rows x cols) with gain·Q, Q a random orthogonal matrix: WᵀW = gain²·I when rows >=
/// cols, WWᵀ = gain²·I otherwise. As torch.nn.init.orthogonal_: QR of a Gaussian matrix, with the
/// signs of R's diagonal folded into Q so the distribution is uniform (Haar). Computed in double.
template <class Derived>
void orthogonal(Eigen::MatrixBase<Derived>& weight, Rng& rng, double gain) {
  const Index rows = weight.rows(), cols = weight.cols();
  const bool wide = rows < cols;
  const Index tall_rows = wide ? cols : rows, tall_cols = wide ? rows : cols;
  Eigen::MatrixXd gaussian(tall_rows, tall_cols);
  for (Index j = 0; j < tall_cols; ++j)
    for (Index i = 0; i < tall_rows; ++i) gaussian(i, j) = rng.normal<double>();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(tall_rows, tall_cols);
  const Eigen::MatrixXd r = qr.matrixQR().topRows(tall_cols).template triangularView<Eigen::Upper>();
  for (Index j = 0; j < tall_cols; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  q *= gain;
  using S = typename Derived::Scalar;
  if (wide)
    weight = q.transpose().template cast<S>();
  else
    weight = q.template cast<S>();
}

/// CleanRL's layer_init for a whole network: orthogonal weights with `hidden_gain` on every layer
/// but the last (√2 for tanh/ReLU hidden layers), `output_gain` on the last (0.01 for a policy
/// head, 1.0 for a value head), zero biases.
template <class S>
void init_orthogonal(Mlp<S>& net, Rng& rng, double hidden_gain, double output_gain) {
  for (Index l = 0; l < net.num_layers(); ++l) {
    auto w = net.weight(l);
    orthogonal(w, rng, l + 1 == net.num_layers() ? output_gain : hidden_gain);
    net.bias(l).setZero();
  }
}

/// Xavier/Glorot uniform: W ~ U(-a, a), a = gain·√(6 / (fan_in + fan_out)); zero biases.
template <class S>
void init_xavier_uniform(Mlp<S>& net, Rng& rng, double gain = 1.0) {
  for (Index l = 0; l < net.num_layers(); ++l) {
    auto w = net.weight(l);
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(w.rows() + w.cols()));
    for (Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<S>(rng.uniform(-bound, bound));
    net.bias(l).setZero();
  }
}

/// He/Kaiming uniform for ReLU: W ~ U(-a, a), a = √(6 / fan_in); zero biases.
template <class S>
void init_he_uniform(Mlp<S>& net, Rng& rng) {
  for (Index l = 0; l < net.num_layers(); ++l) {
    auto w = net.weight(l);
    const double bound = std::sqrt(6.0 / static_cast<double>(w.cols()));
    for (Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<S>(rng.uniform(-bound, bound));
    net.bias(l).setZero();
  }
}

}  // namespace pgrad::nn
