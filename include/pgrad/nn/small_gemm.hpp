#pragma once
// pgrad::nn::small_gemm: the register-blocked matrix product behind Dense's batched passes.
#include <algorithm>
#include <type_traits>
#include <utility>

#include <pgrad/core/packet_math.hpp>
#include <pgrad/core/types.hpp>

// PacketBlock<__m512, N>: GCC warns that the vector type's attributes are not part of the
// template argument, which is harmless here (Eigen silences the same warning for its own code).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace pgrad::nn {

/// What small_gemm starts each output element from: zero (C = A·B), the old value
/// (C += A·B), or a per-row bias (C = A·B + bias·1ᵀ).
enum class GemmInit { zero, accumulate, bias };

/// How small_gemm reads its B operand from a column-major matrix M (leading dimension ldb):
/// as B = M (k x n) or as B = Mᵀ (M is n x k).
enum class GemmB { plain, transposed };

namespace gemm_detail {

using Eigen::internal::padd;
using Eigen::internal::pload1;
using Eigen::internal::ploadu;
using Eigen::internal::pmadd;
using Eigen::internal::pset1;
using Eigen::internal::pstoreu;

template <class S>
using Packet = typename Eigen::internal::packet_traits<S>::type;
template <class S>
constexpr Index packet_size = Eigen::internal::unpacket_traits<Packet<S>>::size;

/// small_gemm's register tile for Scalar S: an output block of `packets` packets of rows by
/// `columns` columns lives in vector registers while the inner dimension streams past, and each
/// step of it also holds `packets` packets of A and one broadcast element of B (plus a product
/// where there is no fused multiply-add). Six columns, then as many packets as fit the
/// instruction set's vector registers: 4 x 6 with 32 (AVX-512, NEON), 2 x 6 with 16 (AVX2, SSE),
/// 1 x 6 without SIMD. The shapes were chosen with examples/benchmarks/nn_bench on AVX-512, AVX2
/// and SSE builds (docs/performance.md); the tile shape never changes a result.
template <class S>
struct Tile {
  static constexpr int registers = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS;  // may use sizeof: not for #if
  static constexpr int columns = 6;
  static constexpr int packets = std::max(1, (registers - 2) / (columns + 1));
};

/// Operands of one product. A is column-major (lda between columns); element (l, j) of B is
/// b[l * b_inner + j * b_outer]: b_inner = 1 for a plain column-major B, b_outer = 1 for the
/// transpose of one.
template <class S>
struct GemmArgs {
  Index m, n, k;
  const S* a;
  Index lda;
  const S* b;
  Index b_inner, b_outer;
  S* c;
  Index ldc;
  GemmInit init;
  const S* bias;
};

/// The inner loop of a tile of R packets of rows by N columns (see tile), from the starting
/// values `acc` of its accumulators to C. Accumulator I = j·R + r holds packet r of column j;
/// each is a variable of its own (a parameter here, and this function always inlined), not an
/// element of an array: GCC keeps a local array of packets in memory, around the loop (AVX-512:
/// slow when k is small) or inside it (AVX2: half speed).
template <class S, int R, std::size_t... I, class... P>
EIGEN_ALWAYS_INLINE void tile_loop(const GemmArgs<S>& g, Index row, Index col, std::index_sequence<I...>, P... acc) {
  constexpr Index size = packet_size<S>;
  const Index k = g.k, lda = g.lda, b_inner = g.b_inner, b_outer = g.b_outer;
  const S* a = g.a + row;
  const S* b = g.b + col * b_outer;
  for (Index l = 0; l < k; ++l, a += lda, b += b_inner) {
    Packet<S> a_packets[R];
    for (int r = 0; r < R; ++r) a_packets[r] = ploadu<Packet<S>>(a + r * size);
    ((acc = pmadd(a_packets[I % R], pload1<Packet<S>>(b + static_cast<Index>(I / R) * b_outer), acc)), ...);
  }
  S* const c = g.c + row + col * g.ldc;
  (pstoreu(c + static_cast<Index>(I / R) * g.ldc + static_cast<Index>(I % R) * size, acc), ...);
}

/// The starting value of accumulator i (packet i % R of column i / R) of the tile at (row, col).
/// Always inlined: as a lambda GCC called it once per accumulator, 4% of CartPole PPO's time.
template <class S, int R>
EIGEN_ALWAYS_INLINE Packet<S> tile_start(const GemmArgs<S>& g, Index row, Index col, std::size_t i) {
  constexpr Index size = packet_size<S>;
  const Index column = col + static_cast<Index>(i / R), offset = row + static_cast<Index>(i % R) * size;
  if (g.init == GemmInit::accumulate) return ploadu<Packet<S>>(g.c + offset + column * g.ldc);
  if (g.init == GemmInit::bias) return ploadu<Packet<S>>(g.bias + offset);
  return pset1<Packet<S>>(S(0));
}

/// C[rows, cols] for a tile of R packets of rows (from `row`) by N columns (from `col`). Each
/// element is one fused multiply-add chain over l = 0..k-1 in order, whatever the tile shape.
template <class S, int R, int N, std::size_t... I>
inline void tile(const GemmArgs<S>& g, Index row, Index col, std::index_sequence<I...> accumulators) {
  tile_loop<S, R>(g, row, col, accumulators, tile_start<S, R>(g, row, col, I)...);
}

template <class S, int R, int N>
inline void tile(const GemmArgs<S>& g, Index row, Index col) {
  tile<S, R, N>(g, row, col, std::make_index_sequence<static_cast<std::size_t>(R * N)>{});
}

/// The last N or fewer columns (from `col`) of a panel of R packets of rows, as one narrower tile.
template <class S, int R, int N>
inline void last_columns(const GemmArgs<S>& g, Index row, Index col) {
  if constexpr (N > 0) {
    if (g.n - col == N) return tile<S, R, N>(g, row, col);
    last_columns<S, R, N - 1>(g, row, col);
  }
}

/// All columns for R packets of rows starting at `row`: full tiles, then the column remainder.
template <class S, int R>
inline void row_panel(const GemmArgs<S>& g, Index row) {
  constexpr int N = Tile<S>::columns;
  Index col = 0;
  for (; col + N <= g.n; col += N) tile<S, R, N>(g, row, col);
  last_columns<S, R, N - 1>(g, row, col);
}

/// The last `packets` (R or fewer) whole packets of rows from `row`, as one shorter panel.
template <class S, int R>
inline void last_row_packets(const GemmArgs<S>& g, Index row, Index packets) {
  if constexpr (R > 0) {
    if (packets == R) return row_panel<S, R>(g, row);
    last_row_packets<S, R - 1>(g, row, packets);
  }
}

/// Rows past the last whole packet that no narrow-row path below takes (a wide layer whose
/// output count is not a multiple of the packet size): those rows of A are copied into a
/// zero-padded block of one packet of rows and run on the packet tiles, into a scratch block of
/// C, in chunks of columns and of the inner dimension. A chunk of the inner dimension continues
/// the previous one's sums from the scratch block, so every element is still one in-order chain
/// of fused multiply-adds over l, as on the tiles, whatever the batch.
template <class S>
void remainder_rows(const GemmArgs<S>& g, Index first_row) {
  constexpr Index size = packet_size<S>;
  constexpr Index column_chunk = 64, depth_chunk = 128;
  alignas(64) S a_block[size * depth_chunk];   // a_block[i + l * size] = A(row + i, l0 + l), 0 past `rows`
  alignas(64) S c_block[size * column_chunk];  // c_block[i + j * size]: C(row + i, col + j) being summed
  for (Index row = first_row; row < g.m; row += size) {  // one group unless packets are 1 wide
    const Index rows = std::min(size, g.m - row);
    for (Index col = 0; col < g.n; col += column_chunk) {
      const Index cols = std::min(column_chunk, g.n - col);
      for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < size; ++i) {
          S start = S(0);
          if (i < rows && g.init == GemmInit::accumulate) start = g.c[row + i + (col + j) * g.ldc];
          if (i < rows && g.init == GemmInit::bias) start = g.bias[row + i];
          c_block[i + j * size] = start;
        }
      for (Index l0 = 0; l0 < g.k; l0 += depth_chunk) {
        const Index depth = std::min(depth_chunk, g.k - l0);
        for (Index l = 0; l < depth; ++l)
          for (Index i = 0; i < size; ++i) a_block[i + l * size] = i < rows ? g.a[row + i + (l0 + l) * g.lda] : S(0);
        row_panel<S, 1>(GemmArgs<S>{size, cols, depth, a_block, size, g.b + l0 * g.b_inner + col * g.b_outer,
                                    g.b_inner, g.b_outer, c_block, size, GemmInit::accumulate, nullptr},
                        0);
      }
      for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < rows; ++i) g.c[row + i + (col + j) * g.ldc] = c_block[i + j * size];
    }
  }
}

/// Largest scratch copy (elements, on the stack) the narrow-row paths make; bigger problems go to
/// remainder_rows.
constexpr Index narrow_scratch = 4096;

/// Stores finished sums along row i of C: C(i, first + j) = sums[j], sums[j] + C(i, first + j) or
/// sums[j] + bias(i) for j < count (the choice made once, outside the loop). Where C is one
/// contiguous row (ldc == 1: a value head) the same additions run in packets, `Count` (the
/// count, when the caller knows it at compile time) letting Eigen unroll them: a one-row head's
/// forward over 64 columns, 152 -> 131 ns in float and 241 -> 217 ns in double on AVX2 with the
/// vector stores of predux_eight (docs/performance.md, sixth round).
template <class S, int Count = Eigen::Dynamic>
inline void store_row(const GemmArgs<S>& g, Index i, Index first, Index count, const S* sums) {
  S* c = g.c + i + first * g.ldc;
  const Index ldc = g.ldc;
  if (ldc == 1) {  // C is one contiguous row (a one-row head): the same additions, in packets
    Eigen::Map<Eigen::Matrix<S, Count, 1>> c_row(c, count);
    const Eigen::Map<const Eigen::Matrix<S, Count, 1>> sums_row(sums, count);
    if (g.init == GemmInit::accumulate)
      c_row += sums_row;
    else if (g.init == GemmInit::bias)
      c_row = sums_row.array() + g.bias[i];
    else
      c_row = sums_row;
    return;
  }
  if (g.init == GemmInit::accumulate) {
    for (Index j = 0; j < count; ++j) c[j * ldc] += sums[j];
  } else if (g.init == GemmInit::bias) {
    const S bias = g.bias[i];
    for (Index j = 0; j < count; ++j) c[j * ldc] = sums[j] + bias;
  } else {
    for (Index j = 0; j < count; ++j) c[j * ldc] = sums[j];
  }
}

/// Fewer rows than a packet with a plain B (a head's forward, Y = W X + b): every element is a
/// dot product of a row of A (copied contiguous first) with a column of B, summed in packets in
/// a fixed order and then the scalar tail, eight columns at a time for independent chains.
template <class S>
void narrow_rows_plain_b(const GemmArgs<S>& g, Index row) {
  using P = Packet<S>;
  constexpr Index size = packet_size<S>;
  constexpr int columns = 8;
  const Index rows = g.m - row, k = g.k, whole = k - k % size;
  alignas(64) S scratch[narrow_scratch];  // a_rows[i * k + l] = A(row + i, l)
  const bool contiguous = rows == 1 && g.lda == 1;  // one row of A, already contiguous (a value head)
  const S* a_rows = contiguous ? g.a + row : scratch;
  if (!contiguous)  // a row at a time, four strided reads per step (most of a 2- or 6-row head's
                    // time at batch 1 went to this copy when it ran a column at a time)
    for (Index i = 0; i < rows; ++i) {
      const S* a_row = g.a + row + i;
      S* to = scratch + i * k;
      Index l = 0;
      for (; l + 4 <= k; l += 4) {
        const S x0 = a_row[l * g.lda], x1 = a_row[(l + 1) * g.lda], x2 = a_row[(l + 2) * g.lda],
                x3 = a_row[(l + 3) * g.lda];
        to[l] = x0, to[l + 1] = x1, to[l + 2] = x2, to[l + 3] = x3;
      }
      for (; l < k; ++l) to[l] = a_row[l * g.lda];
    }
  // Columns col .. col + count - 1 (count <= N) as N independent chains. Chains past `count` sum
  // the last of those columns again and are not stored, so the last 1-7 columns of C take one of
  // three widths (8, 4, 1) instead of seven: each width is a copy of this loop in every program
  // (compile time), and a column's sum does not depend on the width it is summed in. `count` is a
  // std::integral_constant where it is known (whole groups of 8, one column), so that those
  // groups index B as before, without the clamp.
  auto columns_from = [&](Index col, auto count, auto width) {
    constexpr int N = decltype(width)::value;
    const Index last = static_cast<Index>(count) - 1;
    const auto b_column = [&](int j) { return g.b + (col + std::min<Index>(j, last)) * g.b_outer; };
    for (Index i = 0; i < rows; ++i) {
      const S* a = a_rows + i * k;
      P acc[N];
      for (int j = 0; j < N; ++j) acc[j] = pset1<P>(S(0));
      for (Index l = 0; l < whole; l += size) {
        const P a_packet = ploadu<P>(a + l);
        for (int j = 0; j < N; ++j) acc[j] = pmadd(a_packet, ploadu<P>(b_column(j) + l), acc[j]);
      }
      S sums[N];
      if constexpr (N == 8)
        packet::predux_eight(acc, sums);
      else
        for (int j = 0; j < N; ++j) sums[j] = Eigen::internal::predux(acc[j]);
      if (whole < k)
        for (int j = 0; j < N; ++j) {
          const S* b = b_column(j);
          for (Index l = whole; l < k; ++l) sums[j] += a[l] * b[l];
        }
      if (static_cast<Index>(count) == N)
        store_row<S, N>(g, row + i, col, N, sums);
      else
        store_row(g, row + i, col, static_cast<Index>(count), sums);
    }
  };
  Index col = 0;
  for (; col + columns <= g.n; col += columns)
    columns_from(col, std::integral_constant<Index, columns>{}, std::integral_constant<int, columns>{});
  // The last 1-7 columns together, as independent chains (one at a time, each dot product waited
  // for the previous: the rollout's batch of 4 spent most of a head's time there).
  const Index rest = g.n - col;
  if (rest > 4)
    columns_from(col, rest, std::integral_constant<int, 8>{});
  else if (rest > 1)
    columns_from(col, rest, std::integral_constant<int, 4>{});
  else if (rest == 1)
    columns_from(col, std::integral_constant<Index, 1>{}, std::integral_constant<int, 1>{});
}

/// narrow_rows_plain_b's result for one column of B at a time, without copying the rows of A
/// (at batch 1 that copy was most of a 2- to 9-row head's time): packet e accumulates
/// A(rows, l) · B(l, j) over l = e, e + size, e + 2·size, ... as one fused multiply-add chain
/// from zero, so that lane i of packet e is exactly lane e of the packet narrow_rows_plain_b sums
/// for row i. After transposing the packets, predux of packet i gives row i's element with the
/// same bits. Needs the inner dimension in whole packets (narrow_rows_plain_b adds a scalar tail).
template <class S>
void narrow_rows_by_columns(const GemmArgs<S>& g, Index row) {
  using P = Packet<S>;
  constexpr int size = static_cast<int>(packet_size<S>);
  const Index rows = g.m - row, k = g.k, lda = g.lda;
  // A packet at A(row, l) reads size - rows elements past the column; the last columns, where that
  // would read past A's last element, are read from zero-padded copies instead.
  const Index a_end = (k - 1) * lda + g.m;  // elements of A from g.a
  const Index in_place = row + size <= a_end ? std::min(k, (a_end - row - size) / lda + 1) : 0;
  alignas(64) S padded[size * size];  // at most size columns lack a full packet after them
  for (Index l = in_place; l < k; ++l)
    for (Index i = 0; i < size; ++i) padded[(l - in_place) * size + i] = i < rows ? g.a[row + i + l * lda] : S(0);
  for (Index j = 0; j < g.n; ++j) {
    const S* b = g.b + j * g.b_outer;
    Eigen::internal::PacketBlock<P, size> sums;
    for (int e = 0; e < size; ++e) sums.packet[e] = pset1<P>(S(0));
    for (Index l0 = 0; l0 < k; l0 += size)
      for (int e = 0; e < size; ++e) {
        const Index l = l0 + e;
        const S* a = l < in_place ? g.a + row + l * lda : padded + (l - in_place) * size;
        sums.packet[e] = pmadd(ploadu<P>(a), pset1<P>(b[l]), sums.packet[e]);
      }
    Eigen::internal::ptranspose(sums);  // packet i: row i's lanes
    for (Index i = 0; i < rows; ++i) {
      const S sum = Eigen::internal::predux(sums.packet[i]);
      store_row(g, row + i, j, 1, &sum);
    }
  }
}

/// Row i of narrow_rows_rank_one on packets of type P: C(i, j) = A(i, 0)·B(0, j) + start, a
/// packet of columns at a time, C's row read and written in place when ContiguousC (ldc == 1,
/// B's row contiguous too: a value head), else gathered and scattered at its stride, as is B's
/// row when B is plain; the last columns in a zero-padded packet.
template <class S, class P, bool ContiguousC>
void rank_one_row(const GemmArgs<S>& g, Index i) {
  constexpr Index size = Eigen::internal::unpacket_traits<P>::size;
  const Index ldc = ContiguousC ? 1 : g.ldc, b_stride = ContiguousC ? 1 : g.b_outer;
  const auto load_b = [&](Index j) {
    if constexpr (ContiguousC) return ploadu<P>(g.b + j);
    return b_stride == 1 ? ploadu<P>(g.b + j) : Eigen::internal::pgather<S, P>(g.b + j * b_stride, b_stride);
  };
  const auto load_c = [&](const S* from) {
    if constexpr (ContiguousC) return ploadu<P>(from);
    return Eigen::internal::pgather<S, P>(from, ldc);
  };
  const auto store_c = [&](S* to, const P& sums) {
    if constexpr (ContiguousC)
      pstoreu(to, sums);
    else
      Eigen::internal::pscatter<S, P>(to, sums, ldc);
  };
  const P a = pset1<P>(g.a[i]);
  const S fixed_start = g.init == GemmInit::bias ? g.bias[i] : S(0);  // unless accumulating
  S* c = g.c + i;
  const Index whole = g.n / size * size;
  if (g.init == GemmInit::accumulate) {
    for (Index j = 0; j < whole; j += size) store_c(c + j * ldc, pmadd(a, load_b(j), load_c(c + j * ldc)));
  } else {
    const P start = pset1<P>(fixed_start);
    for (Index j = 0; j < whole; j += size) store_c(c + j * ldc, pmadd(a, load_b(j), start));
  }
  const Index tail = g.n - whole;
  if (tail == 0) return;
  alignas(64) S b_tail[size] = {}, c_tail[size] = {};
  for (Index j = 0; j < tail; ++j) {
    b_tail[j] = g.b[(whole + j) * b_stride];
    c_tail[j] = g.init == GemmInit::accumulate ? c[(whole + j) * ldc] : fixed_start;
  }
  pstoreu(c_tail, pmadd(a, ploadu<P>(b_tail), ploadu<P>(c_tail)));
  for (Index j = 0; j < tail; ++j) c[(whole + j) * ldc] = c_tail[j];
}

/// Fewer rows than a packet with an inner dimension of one (a head's weight gradient by one
/// sample, dW += dy xᵀ): C(i, j) = A(i, 0)·B(0, j) + start (C, the bias or zero) as one fused
/// multiply-add per element, the tiles' chain for k = 1, so neither n nor the row count decides
/// the rounding; row by row (rank_one_row). Strided rows go through AVX's half-width packets on
/// AVX-512, whose gather and scatter instructions took longer than AVX's element loads and
/// stores. Before, one or two rows (and off AVX-512 any number) took the transposed route, which
/// rounds A·B, then adds C: on AVX2, 2 x 64 in float 61 -> 47 ns, a 6-row head's 6 x 64 166 ->
/// 125 ns (Eigen 159-166); docs/performance.md, seventh round.
template <class S>
void narrow_rows_rank_one(const GemmArgs<S>& g, Index row) {
  if (g.m - row == 1 && g.ldc == 1 && g.b_outer == 1) return rank_one_row<S, Packet<S>, true>(g, row);
  // strided rows of C
  using Strided = std::conditional_t<packet::has_masked_lanes<S>,
                                     typename Eigen::internal::unpacket_traits<Packet<S>>::half, Packet<S>>;
  for (Index i = row; i < g.m; ++i) rank_one_row<S, Strided, false>(g, i);
}

/// narrow_rows_rank_one for three to size - 1 rows where the first lanes of a packet load and
/// store as one masked instruction (packet::has_masked_lanes: AVX-512): a column of C at a time,
/// the same multiply-add per element. The sums of a chunk of columns go to a scratch block first
/// and into C after: a masked load of C's next column waited about 20 cycles for the masked store
/// before it (their packets overlap). Against the transposed route it replaced, a 6-row head's
/// 6 x 64 took half the time (145 -> 73 ns in double); with one or two rows it was the slower one
/// (2 x 64 in float: 105 ns against 50).
template <class S>
void masked_rows_rank_one(const GemmArgs<S>& g, Index row) {
  using P = Packet<S>;
  constexpr Index size = packet_size<S>, column_chunk = 64;
  const Index rows = g.m - row, ldc = g.ldc;
  const P a = packet::load_first<P>(g.a + row, rows);
  const P bias = g.init == GemmInit::bias ? packet::load_first<P>(g.bias + row, rows) : pset1<P>(S(0));
  alignas(64) S sums[size * column_chunk];  // sums[i + j * size] = C(row + i, col + j)
  for (Index col = 0; col < g.n; col += column_chunk) {
    const Index columns = std::min(column_chunk, g.n - col);
    S* c = g.c + row + col * ldc;
    const S* b = g.b + col * g.b_outer;
    for (Index j = 0; j < columns; ++j) {
      const P start = g.init == GemmInit::accumulate ? packet::load_first<P>(c + j * ldc, rows) : bias;
      pstoreu(sums + j * size, pmadd(a, pset1<P>(b[j * g.b_outer]), start));
    }
    for (Index j = 0; j < columns; ++j) packet::store_first(c + j * ldc, ploadu<P>(sums + j * size), rows);
  }
}

template <class S>
void small_gemm_tiles(const GemmArgs<S>& g);

/// Fewer rows than a packet with a transposed B (a head's weight gradient, dW += dY Xᵀ): the
/// transposed product Cᵀ = Bᵀ Aᵀ has the long side as rows, so it runs on the packet tiles into
/// a scratch block, which is then added (or stored) into C; as many columns at a time as the
/// block holds, in whole packets. Columns are independent, so the chunks give every element the
/// bits it has in one pass. (Past one block these products went to remainder_rows, whose tiles
/// read B across its rows at a stride of n: a value head's weight gradient over 8192 inputs and
/// 64 samples took 6x Eigen's time in float on AVX2, 13x on AVX-512; now 0.99-1.19x.)
template <class S>
void narrow_rows_transposed_b(const GemmArgs<S>& g, Index row) {
  constexpr Index size = packet_size<S>;
  // whole packets of the transposed product's rows, so that each column takes the route (tiles or
  // its narrow rows) it takes in one pass
  const Index rows = g.m - row;
  const Index column_chunk = g.n * rows <= narrow_scratch ? g.n : narrow_scratch / rows / size * size;
  alignas(64) S transposed[narrow_scratch];  // transposed[j + i * cols]: C(row + i, col + j) before init
  for (Index col = 0; col < g.n; col += column_chunk) {
    const Index cols = std::min(column_chunk, g.n - col);
    // Bᵀ is column-major (n x k, leading dimension b_inner); Aᵀ is A read as a transposed B.
    small_gemm_tiles(GemmArgs<S>{cols, rows, g.k, g.b + col, g.b_inner, g.a + row, g.lda, 1, transposed, cols,
                                 GemmInit::zero, nullptr});
    for (Index i = 0; i < rows; ++i) store_row(g, row + i, col, cols, transposed + i * cols);
  }
}

/// The rows from `row` on, fewer than a packet: a narrow-row path when its scratch fits or is
/// not needed (one contiguous row of A; for a transposed B, when the transposed problem has at
/// least a packet of rows, in chunks of columns), else the padded tiles of remainder_rows (a
/// value head over 8192 inputs ran there at 0.2-0.5 of Eigen's speed: one useful lane of each
/// packet). A single column with at least half a packet of rows (a 6-row head at
/// batch 1 in float on AVX2, 2 rows in double) reads A in place: 2.3x faster there, and slower
/// where most lanes would be padding or from two columns on (nn_bench, docs/performance.md). An
/// inner dimension of one is an outer product, row by row (narrow_rows_rank_one) or, from three
/// rows where the build has masked packets, column by column (masked_rows_rank_one).
template <class S>
void narrow_rows(const GemmArgs<S>& g, Index row) {
  constexpr Index size = packet_size<S>;
  const Index rows = g.m - row;
  if (g.k == 1) {
    if constexpr (packet::has_masked_lanes<S>) {
      if (rows >= 3) return masked_rows_rank_one(g, row);
    }
    return narrow_rows_rank_one(g, row);
  }
  const bool one_row_in_place = rows == 1 && g.lda == 1;  // a value head: no copy, any inner size
  if (g.b_inner == 1 && (one_row_in_place || rows * g.k <= narrow_scratch)) {
    if (g.n == 1 && rows >= 2 && 2 * rows >= size && g.k % size == 0)
      narrow_rows_by_columns(g, row);
    else
      narrow_rows_plain_b(g, row);
  } else if (g.b_outer == 1 && g.n >= packet_size<S>)
    narrow_rows_transposed_b(g, row);
  else
    remainder_rows(g, row);
}

/// The rows of C in whole packets on the register tiles (rows past the last whole packet are left).
template <class S>
void packet_rows(const GemmArgs<S>& g) {
  constexpr Index size = packet_size<S>;
  constexpr int R = Tile<S>::packets;
  Index row = 0;
  // One or two columns (a batch of one, a head's weight gradient): taller panels, for more
  // independent chains (a column's chain waits four cycles or so per multiply-add).
  if (g.n == 1)
    for (; row + 4 * R * size <= g.m; row += 4 * R * size) tile<S, 4 * R, 1>(g, row, 0);
  if (g.n <= 2)
    for (; row + 2 * R * size <= g.m; row += 2 * R * size) last_columns<S, 2 * R, 2>(g, row, 0);
  for (; row + R * size <= g.m; row += R * size) row_panel<S, R>(g, row);
  last_row_packets<S, R - 1>(g, row, (g.m - row) / size);
}

/// C's rows from `row`, one packet per element of `a` (A's packets there, each a variable of its
/// own as in tile_loop), for an inner dimension of one (a weight gradient over one sample: an
/// outer product): each element is the one fused multiply-add A(i, 0)·B(0, j) + start, as on the
/// tiles, with A held in registers while the columns pass. The tiles' set-up per six columns cost
/// more than the work here: a 64 x 64 weight gradient by one sample took 1.4x as long on AVX2.
/// The start is chosen once per column here, not per packet through tile_start: that took 1.5x
/// as long (64 x 64 by one sample: 120 -> 184 ns in float on AVX-512, 420 -> 663 in double on AVX2).
template <class S, std::size_t... I, class... P>
EIGEN_ALWAYS_INLINE void rank_one_columns(const GemmArgs<S>& g, Index row, std::index_sequence<I...>, P... a) {
  constexpr Index size = packet_size<S>;
  for (Index j = 0; j < g.n; ++j) {
    const Packet<S> b = pset1<Packet<S>>(g.b[j * g.b_outer]);
    S* c = g.c + row + j * g.ldc;
    if (g.init == GemmInit::accumulate)
      (pstoreu(c + I * size, pmadd(a, b, ploadu<Packet<S>>(c + I * size))), ...);
    else if (g.init == GemmInit::bias)
      (pstoreu(c + I * size, pmadd(a, b, ploadu<Packet<S>>(g.bias + row + I * size))), ...);
    else
      (pstoreu(c + I * size, pmadd(a, b, pset1<Packet<S>>(S(0)))), ...);
  }
}

/// rank_one_columns for the packets of rows I... from `row`, A's packets loaded once.
template <class S, std::size_t... I>
void rank_one_panel(const GemmArgs<S>& g, Index row, std::index_sequence<I...> packets) {
  rank_one_columns<S>(g, row, packets, ploadu<Packet<S>>(g.a + row + static_cast<Index>(I) * packet_size<S>)...);
}

/// packet_rows for an inner dimension of one: panels of four packets of rows, then the rest.
template <class S>
void packet_rows_rank_one(const GemmArgs<S>& g) {
  constexpr Index size = packet_size<S>;
  Index row = 0;
  for (; row + 4 * size <= g.m; row += 4 * size) rank_one_panel(g, row, std::make_index_sequence<4>{});
  switch ((g.m - row) / size) {
    case 3: return rank_one_panel(g, row, std::make_index_sequence<3>{});
    case 2: return rank_one_panel(g, row, std::make_index_sequence<2>{});
    case 1: return rank_one_panel(g, row, std::make_index_sequence<1>{});
    default: return;
  }
}

/// Inner dimension taken at a time by the packet rows when C has more than one tile of columns (a
/// weight gradient over a long batch): a panel's rows of A for one chunk stay in cache while its
/// tiles sweep the columns, instead of all of A streaming from L2 or L3 once per column tile (a
/// 64x64 double weight gradient over 2048 samples: 51 -> 58 GFLOP/s on AVX2; 256 against 128,
/// 512 and no chunks in docs/performance.md).
constexpr Index depth_chunk = 256;

/// Inner dimension taken at a time when C is one column over more than one panel of rows (a
/// head's weight gradient over a long batch, computed transposed as Xᵀ's product with dYᵀ): the
/// panels each read their rows of all of A's columns, at a stride; in chunks, every panel reads
/// the same 64 columns of A (32 KB in double for 64 rows) before the next, so A streams through
/// once in order. 1 x 64 weight gradient over 2048 samples in double: 12.5 -> 9.9 us on AVX2
/// (Eigen 9.7), 21.8 -> 15.1 us on SSE (Eigen 14.5); chunks of 128 or 256 gained less.
constexpr Index single_column_depth = 64;

/// packet_rows over chunks of `depth` of the inner dimension. A chunk continues the previous
/// one's sums from C, so every element is still one in-order chain of fused multiply-adds over l.
template <class S>
void packet_rows_in_chunks(const GemmArgs<S>& g, Index depth) {
  GemmArgs<S> chunk = g;
  for (Index l0 = 0; l0 < g.k; l0 += depth) {
    chunk.k = std::min(depth, g.k - l0);
    chunk.a = g.a + l0 * g.lda;
    chunk.b = g.b + l0 * g.b_inner;
    chunk.init = l0 == 0 ? g.init : GemmInit::accumulate;
    packet_rows(chunk);
  }
}

/// Whole packets of rows on the register tiles (in chunks of the inner dimension when that saves
/// reading A again, as outer products when the inner dimension is one), then the remaining rows.
template <class S>
void small_gemm_tiles(const GemmArgs<S>& g) {
  constexpr Index size = packet_size<S>;
  if (g.k == 1)
    packet_rows_rank_one(g);
  else if (g.n > Tile<S>::columns && g.k > depth_chunk)
    packet_rows_in_chunks(g, depth_chunk);
  else if (g.n == 1 && g.m > 4 * Tile<S>::packets * size && g.k > single_column_depth)
    packet_rows_in_chunks(g, single_column_depth);
  else
    packet_rows(g);
  const Index whole_rows = g.m / size * size;
  if (whole_rows < g.m) narrow_rows(g, whole_rows);  // never without SIMD (packets of one element)
}

}  // namespace gemm_detail

/// C (m x n, column-major, ldc) = A·B, A·B + C or A·B + bias·1ᵀ (see GemmInit), for the small,
/// fixed shapes of a network's layers (tens to hundreds of rows and columns), where a general
/// GEMM spends much of its time packing operands. A is column-major (m x k, lda); B is read from
/// a column-major matrix, as is or transposed (see GemmB), so Y = W X, dW += dY Xᵀ and
/// dX = Wᵀ dY (with Wᵀ stored) need no packing. Register tiles sized for the instruction set
/// (see gemm_detail::Tile: 4 packets x 6 columns on AVX-512, 2 x 6 on AVX2); every output element is one in-order chain of fused
/// multiply-adds over l, so a column's result does not depend on the batch it is in. Rows past
/// the last whole packet (all rows of a policy or value head) are computed as fixed-order dot
/// products, or as the transposed product on the tiles (see narrow_rows). C must not overlap A,
/// B or bias.
template <class S>
void small_gemm(Index m, Index n, Index k, const S* a, Index lda, const S* b, Index ldb, GemmB b_layout, S* c,
                Index ldc, GemmInit init, const S* bias = nullptr) {
  const bool plain = b_layout == GemmB::plain;
  gemm_detail::small_gemm_tiles(gemm_detail::GemmArgs<S>{m, n, k, a, lda, b, plain ? 1 : ldb, plain ? ldb : 1, c,
                                                         ldc, init, bias});
}

/// dst = srcᵀ: src is column-major rows x cols, dst column-major cols x rows. Square blocks of a
/// packet's size are transposed in registers (Eigen's ptranspose), the edges one element at a
/// time; Dense::backward uses it for the Wᵀ of its dX product.
template <class S>
void transpose(const S* src, Index rows, Index cols, S* dst) {
  using namespace gemm_detail;
  using P = Packet<S>;
  constexpr Index size = packet_size<S>;
  Index row = 0;
  if constexpr (size > 1) {
    for (; row + size <= rows; row += size) {
      Index col = 0;
      for (; col + size <= cols; col += size) {
        Eigen::internal::PacketBlock<P, static_cast<int>(size)> block;
        for (Index k = 0; k < size; ++k) block.packet[k] = ploadu<P>(src + row + (col + k) * rows);
        Eigen::internal::ptranspose(block);  // packet k now holds row `row + k`, columns col..
        for (Index k = 0; k < size; ++k) pstoreu(dst + col + (row + k) * cols, block.packet[k]);
      }
      for (; col < cols; ++col)
        for (Index r = row; r < row + size; ++r) dst[col + r * cols] = src[r + col * rows];
    }
  }
  for (Index col = 0; col < cols; ++col)
    for (Index r = row; r < rows; ++r) dst[col + r * cols] = src[r + col * rows];
}

}  // namespace pgrad::nn

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
