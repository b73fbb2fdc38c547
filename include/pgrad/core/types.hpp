#pragma once
// Eigen aliases over a Scalar. Batches are column-major: one column per sample.
#include <Eigen/Core>

#include <algorithm>

namespace pgrad {

using Index = Eigen::Index;

/// features x batch, column-major (one column per sample).
template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
/// A column vector (one sample, or a flat parameter vector).
template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
/// A row vector (one value per sample of a batch: log-probs, values, rewards).
template <class Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
/// Integer row vector (one discrete action per sample).
using IndexRowVector = Eigen::Matrix<Index, 1, Eigen::Dynamic>;

/// Boolean flags per sample (1 x batch) or per environment and step (N x T).
using BoolRowVector = Eigen::Array<bool, 1, Eigen::Dynamic>;
using BoolMatrix = Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic>;

/// Read-only view of any matrix expression with the right scalar (no copy for plain matrices).
template <class Scalar>
using MatrixCRef = Eigen::Ref<const Matrix<Scalar>>;
template <class Scalar>
using VectorCRef = Eigen::Ref<const Vector<Scalar>>;
template <class Scalar>
using RowVectorCRef = Eigen::Ref<const RowVector<Scalar>>;

/// to = from, resizing `to` only when the shape changes: one flat copy when from's columns are
/// contiguous, else one per column. (Eigen's assignment from a Ref with a run-time stride peels
/// and loops per column, which cost 2-4% of CartPole PPO for its 4-row observation batches.)
template <class Scalar>
void copy_matrix(const MatrixCRef<Scalar>& from, Matrix<Scalar>& to) {
  to.resize(from.rows(), from.cols());
  if (from.outerStride() == from.rows() || from.cols() <= 1) {
    std::copy_n(from.data(), from.size(), to.data());
    return;
  }
  for (Index j = 0; j < from.cols(); ++j)
    std::copy_n(from.data() + j * from.outerStride(), from.rows(), to.data() + j * from.rows());
}

}  // namespace pgrad
