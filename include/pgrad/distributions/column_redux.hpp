#pragma once
// pgrad::dist::detail::eigen_order_redux: a column reduction (sum, max) carried out in exactly
// the order of Eigen's redux, so that plain loops reproduce `expression.colwise().sum()` and
// `.colwise().maxCoeff()` bit for bit without instantiating Eigen's expression machinery.
#include <pgrad/core/types.hpp>

namespace pgrad::dist::detail {

/// func-reduction of term(i) for i < size (size >= 1) — func an Eigen binary functor such as
/// Eigen::internal::scalar_sum_op<S, S> or scalar_max_op<S, S> — in the order in which Eigen 3.4's
/// redux reduces one column of a dense object with packet access (Redux.h,
/// LinearVectorizedTraversal without unrolling): when at least one whole packet fits from
/// aligned_start on, whole packets are combined with func's packet operation (two interleaved
/// accumulators when there are two packets or more), reduced with func's predux, and the entries
/// before aligned_start and after the last whole packet are then folded in one by one; otherwise
/// (and without vectorization) the entries are folded in order from term(0). aligned_start is 0
/// for a column of an expression and Eigen::internal::first_default_aligned(data, size) for a
/// column of a plain matrix. (A column without packet access, such as one of a Select, is always
/// folded in order: reduce it with a plain loop.)
///
/// The packets are Eigen's own, loaded from the terms, so the result equals Eigen's on every
/// architecture. term(i) should compute its value with one operation per statement, as Eigen's
/// element-wise evaluation does, and not end with a multiplication (Eigen may fuse that one into
/// the accumulation); see test_diag_gaussian and test_categorical.
template <class S, class Func, class Term>
S eigen_order_redux(Index size, Index aligned_start, const Func& func, const Term& term) {
  using Packet = typename Eigen::internal::packet_traits<S>::type;
  constexpr Index packet_size = Eigen::internal::packet_traits<S>::size;
  constexpr bool vectorized = Eigen::internal::packet_traits<S>::Vectorizable &&
                              Eigen::internal::functor_traits<Func>::PacketAccess && packet_size > 1;
  const Index aligned_size = ((size - aligned_start) / packet_size) * packet_size;
  if (!vectorized || aligned_size == 0) {
    S result = term(0);
    for (Index i = 1; i < size; ++i) result = func(result, term(i));
    return result;
  }
  const Index aligned_size2 = ((size - aligned_start) / (2 * packet_size)) * (2 * packet_size);
  const Index aligned_end = aligned_start + aligned_size, aligned_end2 = aligned_start + aligned_size2;
  S lanes[packet_size];
  const auto packet_at = [&](Index start) {
    for (Index l = 0; l < packet_size; ++l) lanes[l] = term(start + l);
    return Eigen::internal::ploadu<Packet>(lanes);
  };
  Packet first = packet_at(aligned_start);
  if (aligned_size > packet_size) {
    Packet second = packet_at(aligned_start + packet_size);
    for (Index i = aligned_start + 2 * packet_size; i < aligned_end2; i += 2 * packet_size) {
      first = func.packetOp(first, packet_at(i));
      second = func.packetOp(second, packet_at(i + packet_size));
    }
    first = func.packetOp(first, second);
    if (aligned_end > aligned_end2) first = func.packetOp(first, packet_at(aligned_end2));
  }
  S result = func.predux(first);
  for (Index i = 0; i < aligned_start; ++i) result = func(result, term(i));
  for (Index i = aligned_end; i < size; ++i) result = func(result, term(i));
  return result;
}

/// a + b and a·b as functions of their own, as Eigen's scalar functors compute them: a loop that
/// nests these calls the way an expression nests its operations gives the compiler the same
/// code to contract (fused multiply-add) and vectorise as the expression did.
template <class S>
inline S add(const S& a, const S& b) {
  return a + b;
}
template <class S>
inline S multiply(const S& a, const S& b) {
  return a * b;
}

/// Σ term(i) in Eigen's order (see eigen_order_redux).
template <class S, class Term>
S eigen_order_sum(Index size, Index aligned_start, const Term& term) {
  return eigen_order_redux<S>(size, aligned_start, Eigen::internal::scalar_sum_op<S, S>(), term);
}

}  // namespace pgrad::dist::detail
