#pragma once
// pgrad::dist::detail::exp_in_place / log_in_place: Eigen's vectorised exp and log applied to every
// entry of a batch, whatever its position, so that a sample's distribution does not depend on the
// batch it is in.
#include <pgrad/core/types.hpp>

namespace pgrad::dist::detail {

/// Applies `op` (a function of one Eigen packet) to data[0, size): whole packets in place, then
/// the entries after the last whole packet through one packet padded with 1. Every entry thus goes
/// through the same vectorised code: an Eigen expression such as `m.array().exp()` would compute
/// those last entries with std::exp, which rounds differently, so that an entry's bits would
/// depend on where it sits in the batch (on the batch's size, and on the instruction set).
template <class S, class PacketOp>
void packet_map_in_place(S* data, Index size, const PacketOp& op) {
  using Packet = typename Eigen::internal::packet_traits<S>::type;
  constexpr Index lanes = Eigen::internal::packet_traits<S>::size;
  Index i = 0;
  for (; i + lanes <= size; i += lanes)
    Eigen::internal::pstoreu(data + i, op(Eigen::internal::ploadu<Packet>(data + i)));
  if (i == size) return;
  S padded[lanes];
  for (Index l = 0; l < lanes; ++l) padded[l] = i + l < size ? data[i + l] : S(1);
  Eigen::internal::pstoreu(padded, op(Eigen::internal::ploadu<Packet>(padded)));
  for (Index l = 0; i + l < size; ++l) data[i + l] = padded[l];
}

/// x <- exp(x) for every entry of a plain matrix or vector (Eigen's pexp).
template <class M>
void exp_in_place(M& m) {
  using Packet = typename Eigen::internal::packet_traits<typename M::Scalar>::type;
  packet_map_in_place(m.data(), m.size(), [](const Packet& p) { return Eigen::internal::pexp(p); });
}

/// x <- log(x) for every entry of a plain matrix or vector (Eigen's plog).
template <class M>
void log_in_place(M& m) {
  using Packet = typename Eigen::internal::packet_traits<typename M::Scalar>::type;
  packet_map_in_place(m.data(), m.size(), [](const Packet& p) { return Eigen::internal::plog(p); });
}

}  // namespace pgrad::dist::detail
