#pragma once
// Weight initialisers: orthogonal with gain (Saxe et al. 2014), Xavier/Glorot uniform (Glorot &
// Bengio 2010) and He/Kaiming uniform (He et al. 2015). Biases start at zero.
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/mlp.hpp>

namespace pgrad::nn {

namespace detail {
/// The thin Q factor of a Householder QR with R's diagonal made non-negative: on entry `a` holds
/// an m x n matrix (column-major, m >= n), on exit `q` holds the m x n matrix Q·diag(sign R_jj)
/// times `gain` (a is overwritten by the factorisation). That product does not depend on the QR
/// algorithm (the QR with a positive diagonal is unique), so it matches any Householder QR up to
/// rounding. Plain loops on doubles, O(m n²): init-time only, for matrices up to a few hundred wide.
inline void orthonormal_columns(std::vector<double>& a, Index m, Index n, double gain, std::vector<double>& q) {
  std::vector<double> tau(static_cast<std::size_t>(n));
  const auto at = [m](Index row, Index col) { return static_cast<std::size_t>(row + col * m); };
  // Reflection k: H_k = I - tau_k v vᵀ with v = (1, a(k+1.., k)) zeroing column k below the diagonal;
  // R_kk = beta is left in a(k, k).
  for (Index k = 0; k < n; ++k) {
    double* x = &a[at(k, k)];
    const Index length = m - k;
    double tail = 0;
    for (Index i = 1; i < length; ++i) tail += x[i] * x[i];
    const double x0 = x[0];
    double t = 0, beta = x0;
    if (tail > std::numeric_limits<double>::min()) {
      beta = std::sqrt(x0 * x0 + tail);
      if (x0 >= 0) beta = -beta;
      t = (beta - x0) / beta;
      const double scale = 1.0 / (x0 - beta);
      for (Index i = 1; i < length; ++i) x[i] *= scale;
    } else {
      for (Index i = 1; i < length; ++i) x[i] = 0;
    }
    x[0] = beta;
    tau[static_cast<std::size_t>(k)] = t;
    for (Index j = k + 1; j < n; ++j) {
      double* y = &a[at(k, j)];
      double dot = y[0];
      for (Index i = 1; i < length; ++i) dot += x[i] * y[i];
      dot *= t;
      y[0] -= dot;
      for (Index i = 1; i < length; ++i) y[i] -= dot * x[i];
    }
  }
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of I, last reflection first (column j
  // of the partial product is zero above row min(j, k), so H_k only touches columns k..n-1).
  q.assign(static_cast<std::size_t>(m * n), 0.0);
  for (Index j = 0; j < n; ++j) q[at(j, j)] = 1.0;
  for (Index k = n - 1; k >= 0; --k) {
    const double* x = &a[at(k, k)];
    const double t = tau[static_cast<std::size_t>(k)];
    const Index length = m - k;
    for (Index j = k; j < n; ++j) {
      double* y = &q[at(k, j)];
      double dot = y[0];
      for (Index i = 1; i < length; ++i) dot += x[i] * y[i];
      dot *= t;
      y[0] -= dot;
      for (Index i = 1; i < length; ++i) y[i] -= dot * x[i];
    }
  }
  for (Index j = 0; j < n; ++j) {
    const double factor = a[at(j, j)] < 0 ? -gain : gain;
    for (Index i = 0; i < m; ++i) q[at(i, j)] *= factor;
  }
}

/// gain·Q (rows x cols, column-major) for nn::orthogonal: Q from the QR of a Gaussian matrix
/// drawn with rng.normal<double>() in column-major order of its tall orientation.
inline std::vector<double> orthogonal_matrix(Index rows, Index cols, Rng& rng, double gain) {
  const bool wide = rows < cols;
  const Index tall_rows = wide ? cols : rows, tall_cols = wide ? rows : cols;
  std::vector<double> gaussian(static_cast<std::size_t>(tall_rows * tall_cols));
  for (double& g : gaussian) g = rng.normal<double>();
  std::vector<double> q;
  orthonormal_columns(gaussian, tall_rows, tall_cols, gain, q);
  if (!wide) return q;
  std::vector<double> transposed(q.size());  // the wide W is Qᵀ
  for (Index j = 0; j < tall_cols; ++j)
    for (Index i = 0; i < tall_rows; ++i)
      transposed[static_cast<std::size_t>(j + i * rows)] = q[static_cast<std::size_t>(i + j * tall_rows)];
  return transposed;
}
}  // namespace detail

/// Fills W (rows x cols) with gain·Q, Q a random orthogonal matrix: WᵀW = gain²·I when rows >=
/// cols, WWᵀ = gain²·I otherwise. As torch.nn.init.orthogonal_: QR of a Gaussian matrix, with the
/// signs of R's diagonal folded into Q so the distribution is uniform (Haar). Computed in double
/// (see detail::orthonormal_columns).
template <class Derived>
void orthogonal(Eigen::MatrixBase<Derived>& weight, Rng& rng, double gain) {
  const Index rows = weight.rows(), cols = weight.cols();
  const std::vector<double> w = detail::orthogonal_matrix(rows, cols, rng, gain);
  using S = typename Derived::Scalar;
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) weight.coeffRef(i, j) = static_cast<S>(w[static_cast<std::size_t>(i + j * rows)]);
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

/// PyTorch's default nn.Linear initialisation (kaiming_uniform_ with a = √5 on the weights, and
/// the biases alike): W and b ~ U(-1/√fan_in, 1/√fan_in), layer by layer, weights then biases.
template <class S>
void init_pytorch_default(Mlp<S>& net, Rng& rng) {
  for (Index l = 0; l < net.num_layers(); ++l) {
    auto w = net.weight(l);
    auto b = net.bias(l);
    const double bound = 1.0 / std::sqrt(static_cast<double>(w.cols()));
    for (Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<S>(rng.uniform(-bound, bound));
    for (Index i = 0; i < b.size(); ++i) b[i] = static_cast<S>(rng.uniform(-bound, bound));
  }
}

}  // namespace pgrad::nn
