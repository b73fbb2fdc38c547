// small_gemm against Eigen's product: every tile shape and remainder, both B layouts, all three
// starting values, padded leading dimensions, float and double.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <pgrad/core/packet_math.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/nn/small_gemm.hpp>

using pgrad::Index;
using pgrad::Matrix;
using pgrad::Vector;
using pgrad::nn::GemmB;
using pgrad::nn::GemmInit;
using pgrad::nn::small_gemm;
using pgrad::nn::transpose;

namespace {

template <class S>
Matrix<S> random_matrix(Index rows, Index cols, pgrad::Rng& rng) {
  Matrix<S> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal<S>();
  return m;
}

// C = A·B (+ C or + bias) through small_gemm, with each operand stored inside a larger matrix so
// that the leading dimensions exceed the logical row counts by `pad`, compared with Eigen's product.
template <class S>
void check_product(Index m, Index n, Index k, GemmB layout, GemmInit init, pgrad::Rng& rng, double tolerance,
                   Index pad = 3) {
  const Matrix<S> a_store = random_matrix<S>(m + pad, k, rng);
  const auto a = a_store.topRows(m);
  const Matrix<S> b_store = layout == GemmB::plain ? random_matrix<S>(k + pad, n, rng) : random_matrix<S>(n + pad, k, rng);
  const Matrix<S> b = layout == GemmB::plain ? Matrix<S>(b_store.topRows(k)) : Matrix<S>(b_store.topRows(n).transpose());
  const Vector<S> bias = Vector<S>::NullaryExpr(m, [&] { return rng.normal<S>(); });
  Matrix<S> c_store = random_matrix<S>(m + pad, n, rng);
  const Matrix<S> c_before = c_store.topRows(m), padding_before = c_store.bottomRows(pad);

  small_gemm<S>(m, n, k, a_store.data(), a_store.rows(), b_store.data(), b_store.rows(), layout, c_store.data(),
                c_store.rows(), init, bias.data());

  Matrix<S> expected = a * b;
  if (init == GemmInit::accumulate) expected += c_before;
  if (init == GemmInit::bias) expected.colwise() += bias;
  const double scale = 1.0 + static_cast<double>(expected.cwiseAbs().maxCoeff());
  INFO("m=" << m << " n=" << n << " k=" << k << " transposed B=" << (layout == GemmB::transposed)
            << " init=" << static_cast<int>(init));
  CHECK(static_cast<double>((c_store.topRows(m) - expected).cwiseAbs().maxCoeff()) <= tolerance * scale);
  // The padding rows below C are untouched.
  CHECK(c_store.bottomRows(pad) == padding_before);
}

template <class S>
void check_all_shapes(double tolerance) {
  pgrad::Rng rng(17);
  // Row counts around multiples of every packet size (1, 2, 4, 8, 16) and of the 4-packet panel;
  // column counts past the 6-wide tile and past a packet (the transposed narrow-row path needs
  // n >= packet); inner sizes including 1 and one with whole packets plus a tail.
  for (Index m : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70})
    for (Index n : {1, 2, 3, 5, 6, 7, 12, 13, 17, 40})
      for (Index k : {1, 4, 9, 40})
        for (GemmB layout : {GemmB::plain, GemmB::transposed})
          for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias})
            check_product<S>(m, n, k, layout, init, rng, tolerance);
}

}  // namespace

TEST_CASE("small_gemm matches Eigen's product for every tile and remainder shape (float)", "[nn][gemm]") {
  check_all_shapes<float>(1e-5);
}

TEST_CASE("small_gemm matches Eigen's product for every tile and remainder shape (double)", "[nn][gemm]") {
  check_all_shapes<double>(1e-13);
}

TEST_CASE("small_gemm matches Eigen's product on wide layers with a row remainder", "[nn][gemm]") {
  // Inner sizes past the narrow paths' scratch and past one depth chunk (128), batches past one
  // column chunk (64), and transposed products with fewer columns than a packet (a weight
  // gradient dW += dY Xᵀ of a layer fed by 3 observations): the padded-tile remainder path.
  pgrad::Rng rng(29);
  for (Index m : {3, 20, 300})
    for (Index n : {3, 70})
      for (Index k : {300, 129})
        for (GemmB layout : {GemmB::plain, GemmB::transposed})
          for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias}) {
            check_product<float>(m, n, k, layout, init, rng, 1e-5);
            check_product<double>(m, n, k, layout, init, rng, 1e-13);
          }
}

// Narrow rows with a transposed B over more columns than one scratch block holds (a head's weight
// gradient over a wide layer): every element against Eigen, and the bits of every whole packet of
// columns the same as when that packet is computed on its own, wherever the blocks begin and end.
// (With one row, a transposed product's last n % packet columns are dot products in another
// order, and with fewer columns than a packet the bias or C starts the chain instead of being
// added after it: those bits depend on n.)
template <class S>
void check_transposed_narrow_rows_past_one_block(double tolerance) {
  pgrad::Rng rng(53);
  constexpr Index size = pgrad::nn::gemm_detail::packet_size<S>;
  for (const Index m : {Index(1), Index(3), std::max(Index(2), size - 1)})
    for (const Index k : {1, 9}) {
      // two full blocks of columns and a third of a few columns (fewer than a packet)
      const Index n = 2 * (pgrad::nn::gemm_detail::narrow_scratch / m) + 5;
      for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias})
        check_product<S>(m, n, k, GemmB::transposed, init, rng, tolerance, 0);
      INFO("rows: " << m << ", inner size " << k << ", columns " << n);
      const Matrix<S> dy = random_matrix<S>(m, k, rng), x = random_matrix<S>(n, k, rng);
      const Vector<S> bias = Vector<S>::NullaryExpr(m, [&] { return rng.normal<S>(); });
      Matrix<S> all(m, n), part(m, size);
      small_gemm<S>(m, n, k, dy.data(), m, x.data(), n, GemmB::transposed, all.data(), m, GemmInit::bias, bias.data());
      Index differing_packets = 0;
      for (Index first = 0; first + size <= n - n % size; first += size) {
        small_gemm<S>(m, size, k, dy.data(), m, x.data() + first, n, GemmB::transposed, part.data(), m,
                      GemmInit::bias, bias.data());
        if (part != all.middleCols(first, size)) ++differing_packets;
      }
      CHECK(differing_packets == 0);
    }
}

template <class S>
void check_column_bits_whatever_the_batch() {
  pgrad::Rng rng(3);
  // packet tiles, a value head (one row), policy heads narrower than a packet (at batch 1 those
  // with at least half a packet of rows read A in place: 2 and 3 rows in double on AVX2, 6 in
  // float, 9 in float on AVX-512), a wide remainder
  for (const Index m : {64, 1, 2, 3, 6, 9, 300})
    for (const Index k : {m == 300 ? 400 : 64, 17, 3, 1}) {  // whole packets, a tail, only a tail, one
      INFO("rows: " << m << ", inner size " << k);
      const Index n = 21;  // two groups of eight columns and five more
      const Matrix<S> w = random_matrix<S>(m, k, rng), x = random_matrix<S>(k, n, rng);
      const Vector<S> bias = Vector<S>::NullaryExpr(m, [&] { return rng.normal<S>(); });
      Matrix<S> batch(m, n), single(m, 1), four(m, 4);
      small_gemm<S>(m, n, k, w.data(), m, x.data(), k, GemmB::plain, batch.data(), m, GemmInit::bias, bias.data());
      for (Index j = 0; j < n; ++j) {
        small_gemm<S>(m, 1, k, w.data(), m, x.col(j).data(), k, GemmB::plain, single.data(), m, GemmInit::bias,
                      bias.data());
        CHECK(single.col(0) == batch.col(j));
      }
      for (Index j = 0; j + 4 <= n; j += 4) {  // a rollout's batch of four environments
        small_gemm<S>(m, 4, k, w.data(), m, x.col(j).data(), k, GemmB::plain, four.data(), m, GemmInit::bias,
                      bias.data());
        CHECK(four == batch.middleCols(j, 4));
      }
    }
}

TEST_CASE("small_gemm's narrow rows with a transposed B past one scratch block of columns", "[nn][gemm]") {
  check_transposed_narrow_rows_past_one_block<float>(1e-5);
  check_transposed_narrow_rows_past_one_block<double>(1e-13);
}

TEST_CASE("small_gemm gives each column the same bits whatever the batch around it", "[nn][gemm]") {
  check_column_bits_whatever_the_batch<float>();
  check_column_bits_whatever_the_batch<double>();
}

// packet::predux_eight against Eigen's predux on each packet, bit for bit, on lanes whose
// magnitudes span 2^-40..2^40 (so that adding them in another order rounds differently).
template <class S>
void check_predux_eight() {
  using Packet = typename Eigen::internal::packet_traits<S>::type;
  constexpr int size = Eigen::internal::packet_traits<S>::size;
  pgrad::Rng rng(11);
  int sequential_differs = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    S lanes[8 * size];
    for (S& lane : lanes) lane = std::ldexp(rng.uniform<S>(S(-1), S(1)), static_cast<int>(rng.below(81)) - 40);
    Packet columns[8];
    for (int j = 0; j < 8; ++j) columns[j] = Eigen::internal::ploadu<Packet>(lanes + j * size);
    S sums[8];
    pgrad::packet::predux_eight(columns, sums);
    for (int j = 0; j < 8; ++j) {
      const S expected = Eigen::internal::predux(columns[j]);
      REQUIRE(std::memcmp(&sums[j], &expected, sizeof(S)) == 0);
      S sequential = lanes[j * size];
      for (int e = 1; e < size; ++e) sequential += lanes[j * size + e];
      sequential_differs += sequential != expected;
    }
  }
  // The inputs tell orders apart: in-order sums differ from predux's in many columns.
  if (size > 2) CHECK(sequential_differs > 1000);
}

TEST_CASE("predux_eight adds eight packets exactly as Eigen's predux adds each", "[nn][gemm]") {
  check_predux_eight<float>();
  check_predux_eight<double>();
}

TEST_CASE("transpose matches Eigen's for every block and edge shape", "[nn][gemm]") {
  pgrad::Rng rng(8);
  for (Index rows : {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 33, 64, 70})
    for (Index cols : {1, 2, 5, 8, 16, 17, 31, 64, 65}) {
      INFO(rows << "x" << cols);
      const Matrix<float> a = random_matrix<float>(rows, cols, rng);
      Matrix<float> at(cols, rows);
      transpose(a.data(), rows, cols, at.data());
      CHECK(at == a.transpose());
      const Matrix<double> b = random_matrix<double>(rows, cols, rng);
      Matrix<double> bt(cols, rows);
      transpose(b.data(), rows, cols, bt.data());
      CHECK(bt == b.transpose());
    }
}

namespace {

// The register-tile shape of this build's instruction set (gemm_detail::Tile), in rows and columns.
template <class S>
struct BuildTile {
  static constexpr Index packet = pgrad::nn::gemm_detail::packet_size<S>;
  static constexpr Index packets = pgrad::nn::gemm_detail::Tile<S>::packets;
  static constexpr Index columns = pgrad::nn::gemm_detail::Tile<S>::columns;
};

template <class S>
void check_tile_remainders(double tolerance) {
  using T = BuildTile<S>;
  pgrad::Rng rng(41);
  for (Index packets = 0; packets <= 2 * T::packets + 1; ++packets)
    for (Index extra : {Index(0), Index(1), T::packet - 1}) {
      const Index m = packets * T::packet + extra;
      if (m == 0) continue;
      for (Index n = 1; n <= 2 * T::columns + 1; ++n)
        for (Index k : {1, 7})
          for (GemmB layout : {GemmB::plain, GemmB::transposed})
            for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias})
              check_product<S>(m, n, k, layout, init, rng, tolerance);
    }
}

// C computed at once and one packet of rows at a time (one-packet panels, and the narrow rows on
// their own) must agree bit for bit; so must C computed column by column (one-column tiles) when
// the columns are a batch (plain B). With a transposed B (a weight gradient, whose columns are
// inputs, not samples) the narrow rows start their chain from zero and add C or the bias at the
// end once there are at least a packet of columns, so there the column count may change them.
template <class S>
void check_same_bits_whatever_the_tile() {
  using T = BuildTile<S>;
  pgrad::Rng rng(43);
  const Index m = (2 * T::packets + 1) * T::packet + 3, n = 2 * T::columns + 1, k = 37;
  for (GemmB layout : {GemmB::plain, GemmB::transposed}) {
    INFO("transposed B: " << (layout == GemmB::transposed));
    const Matrix<S> a = random_matrix<S>(m, k, rng);
    const Matrix<S> b = layout == GemmB::plain ? random_matrix<S>(k, n, rng) : random_matrix<S>(n, k, rng);
    const Vector<S> bias = Vector<S>::NullaryExpr(m, [&] { return rng.normal<S>(); });
    const bool plain = layout == GemmB::plain;
    Matrix<S> whole(m, n), by_column(m, n), by_rows(m, n);
    small_gemm<S>(m, n, k, a.data(), m, b.data(), b.rows(), layout, whole.data(), m, GemmInit::bias, bias.data());
    for (Index j = 0; j < n; ++j)
      small_gemm<S>(m, 1, k, a.data(), m, plain ? b.col(j).data() : b.data() + j, b.rows(), layout,
                    by_column.col(j).data(), m, GemmInit::bias, bias.data());
    for (Index row = 0; row < m; row += T::packet) {
      const Index rows = std::min(T::packet, m - row);
      small_gemm<S>(rows, n, k, a.data() + row, m, b.data(), b.rows(), layout, by_rows.data() + row, m, GemmInit::bias,
                    bias.data() + row);
    }
    if (plain) CHECK(by_column == whole);
    CHECK(by_rows == whole);
  }
}

}  // namespace

TEST_CASE("small_gemm matches Eigen's product on every remainder of this build's register tile", "[nn][gemm]") {
  INFO("float tile " << BuildTile<float>::packets << "x" << BuildTile<float>::columns << ", double tile "
                     << BuildTile<double>::packets << "x" << BuildTile<double>::columns);
  check_tile_remainders<float>(1e-5);
  check_tile_remainders<double>(1e-13);
}

TEST_CASE("small_gemm matches Eigen's product for a single unpadded row (a value head)", "[nn][gemm]") {
  // One row of A and C with leading dimension 1: A's row and C's row are read and written in place.
  pgrad::Rng rng(47);
  for (Index n : {1, 3, 17, 64})
    for (Index k : {1, 7, 64, 70})
      for (GemmB layout : {GemmB::plain, GemmB::transposed})
        for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias}) {
          check_product<float>(1, n, k, layout, init, rng, 1e-5, 0);
          check_product<double>(1, n, k, layout, init, rng, 1e-13, 0);
        }
  // An inner size past the narrow paths' scratch block (a value head over a wide layer): still
  // read in place, with each column's bits independent of the batch.
  const Index wide = pgrad::nn::gemm_detail::narrow_scratch + 905;
  for (Index n : {1, 5, 64})
    for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias}) {
      check_product<float>(1, n, wide, GemmB::plain, init, rng, 1e-5, 0);
      check_product<double>(1, n, wide, GemmB::plain, init, rng, 1e-13, 0);
    }
  const Matrix<float> w = random_matrix<float>(1, wide, rng), x = random_matrix<float>(wide, 21, rng);
  Matrix<float> batch(1, 21), single(1, 1);
  small_gemm<float>(1, 21, wide, w.data(), 1, x.data(), wide, GemmB::plain, batch.data(), 1, GemmInit::zero);
  for (Index j = 0; j < 21; ++j) {
    small_gemm<float>(1, 1, wide, w.data(), 1, x.col(j).data(), wide, GemmB::plain, single.data(), 1, GemmInit::zero);
    CHECK(single(0, 0) == batch(0, j));
  }
}

TEST_CASE("small_gemm gives the same bits whatever tile computes an element", "[nn][gemm]") {
  check_same_bits_whatever_the_tile<float>();
  check_same_bits_whatever_the_tile<double>();
}

// a·b + start as the tiles compute it: one fused multiply-add where the build has FMA, else a
// product rounded, then a sum rounded.
template <class S>
S tile_multiply_add(S a, S b, S start) {
#if defined(EIGEN_VECTORIZE_FMA)
  return std::fma(a, b, start);
#else
  const S product = a * b;
  return product + start;
#endif
}

template <class S>
void check_outer_products() {
  constexpr Index packet = pgrad::nn::gemm_detail::packet_size<S>;
  const double tolerance = std::is_same_v<S, float> ? 1e-5 : 1e-13;
  pgrad::Rng rng(53);
  // Every row count below a packet (and one past), across two chunks of 64 columns of the masked path.
  for (Index m = 1; m <= packet + 1; ++m)
    for (Index n : {1, 5, 64, 130})
      for (GemmB layout : {GemmB::plain, GemmB::transposed})
        for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias})
          check_product<S>(m, n, 1, layout, init, rng, tolerance);
  // Each element is one multiply-add from its start (C, the bias or zero), as on the tiles, for
  // every row count, both layouts of B, C and B padded or not (one row of C unpadded: a value
  // head's contiguous row; a padded plain B: B's row at a stride), whole packets of columns and
  // the last, partial one.
  for (Index pad : {0, 3})
    for (Index m = 1; m <= packet + 1; ++m)
      for (Index n : {Index{1}, Index{5}, 3 * packet + 5})
        for (GemmB layout : {GemmB::plain, GemmB::transposed})
          for (GemmInit init : {GemmInit::zero, GemmInit::accumulate, GemmInit::bias}) {
            const Matrix<S> a = random_matrix<S>(m, 1, rng), b_row = random_matrix<S>(1, n, rng);
            const bool plain = layout == GemmB::plain;
            Matrix<S> b_store = random_matrix<S>(plain ? 1 + pad : n + pad, plain ? n : 1, rng);
            if (plain)
              b_store.topRows(1) = b_row;
            else
              b_store.topRows(n) = b_row.transpose();
            const Vector<S> bias = random_matrix<S>(m, 1, rng);
            const Matrix<S> c_before = random_matrix<S>(m + pad, n, rng);
            Matrix<S> c = c_before;
            small_gemm<S>(m, n, 1, a.data(), m, b_store.data(), b_store.rows(), layout, c.data(), m + pad, init,
                          bias.data());
            Index as_on_the_tiles = 0;
            for (Index j = 0; j < n; ++j)
              for (Index i = 0; i < m; ++i) {
                const S start =
                    init == GemmInit::accumulate ? c_before(i, j) : init == GemmInit::bias ? bias(i) : S(0);
                as_on_the_tiles += c(i, j) == tile_multiply_add(a(i, 0), b_row(0, j), start);
              }
            INFO("m=" << m << " n=" << n << " pad=" << pad << " transposed B=" << (layout == GemmB::transposed)
                      << " init=" << static_cast<int>(init));
            CHECK(as_on_the_tiles == m * n);
            CHECK(c.bottomRows(pad) == c_before.bottomRows(pad));
          }
}

TEST_CASE("small_gemm's outer products (an inner dimension of one) on every narrow row count", "[nn][gemm]") {
  check_outer_products<float>();
  check_outer_products<double>();
}
