#pragma once
// pgrad::dist::detail::eigen_order_sum: a column sum added up in exactly the order of Eigen's
// sum(), so that plain loops reproduce `expression.colwise().sum()` bit for bit.
#include <pgrad/core/types.hpp>

namespace pgrad::dist::detail {

/// Σ term(i) for i < size (size >= 1), added in the order in which Eigen 3.4's sum() adds up one
/// column of a dense expression (Redux.h, LinearVectorizedTraversal without unrolling): columns
/// shorter than a packet from aligned_start on are added one by one from term(0); longer ones
/// accumulate whole packets lane by lane (two interleaved accumulators when there are two packets
/// or more), reduce them with Eigen's predux, then add the entries before aligned_start and after
/// the last whole packet one by one. aligned_start is 0 for a column of an expression and
/// Eigen::internal::first_default_aligned(data, size) for a column of a plain matrix. Without
/// vectorization Eigen adds sequentially, and so does this.
///
/// Each lane performs the same floating-point operations as the packet it stands for, so the
/// result equals Eigen's whatever the compiler vectorises; term(i) should compute its value with
/// one operation per statement, as Eigen's element-wise evaluation does (see test_diag_gaussian).
template <class S, class Term>
S eigen_order_sum(Index size, Index aligned_start, const Term& term) {
  using Packet = typename Eigen::internal::packet_traits<S>::type;
  constexpr Index packet_size = Eigen::internal::packet_traits<S>::size;
  const Index aligned_size = ((size - aligned_start) / packet_size) * packet_size;
  if (!Eigen::internal::packet_traits<S>::Vectorizable || packet_size == 1 || aligned_size == 0) {
    S sum = term(0);
    for (Index i = 1; i < size; ++i) sum += term(i);
    return sum;
  }
  const Index aligned_size2 = ((size - aligned_start) / (2 * packet_size)) * (2 * packet_size);
  const Index aligned_end = aligned_start + aligned_size, aligned_end2 = aligned_start + aligned_size2;
  S first[packet_size], second[packet_size];
  for (Index l = 0; l < packet_size; ++l) first[l] = term(aligned_start + l);
  if (aligned_size > packet_size) {
    for (Index l = 0; l < packet_size; ++l) second[l] = term(aligned_start + packet_size + l);
    for (Index i = aligned_start + 2 * packet_size; i < aligned_end2; i += 2 * packet_size) {
      for (Index l = 0; l < packet_size; ++l) first[l] += term(i + l);
      for (Index l = 0; l < packet_size; ++l) second[l] += term(i + packet_size + l);
    }
    for (Index l = 0; l < packet_size; ++l) first[l] += second[l];
    if (aligned_end > aligned_end2)
      for (Index l = 0; l < packet_size; ++l) first[l] += term(aligned_end2 + l);
  }
  S sum = Eigen::internal::predux(Eigen::internal::ploadu<Packet>(first));
  for (Index i = 0; i < aligned_start; ++i) sum += term(i);
  for (Index i = aligned_end; i < size; ++i) sum += term(i);
  return sum;
}

}  // namespace pgrad::dist::detail
