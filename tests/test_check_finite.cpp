// check_finite on every layout it scans in packets (whole matrices, column blocks with a stride,
// row-major views): every non-finite value at every position is found and named, and the largest
// finite values pass.
#include <catch2/catch.hpp>

#include <pgrad/core/check.hpp>

#include <limits>

using pgrad::Index;

namespace {
template <class S>
void check_layouts() {
  const S bad_values[] = {std::numeric_limits<S>::quiet_NaN(), std::numeric_limits<S>::infinity(),
                          -std::numeric_limits<S>::infinity()};
  for (Index rows : {1, 3, 4, 17, 64})
    for (Index cols : {1, 2, 5}) {
      pgrad::Matrix<S> m = pgrad::Matrix<S>::Constant(rows + 2, cols + 1, std::numeric_limits<S>::max());
      m(0, 0) = std::numeric_limits<S>::lowest();
      CHECK_NOTHROW(pgrad::check_finite(m, "whole"));
      CHECK_NOTHROW(pgrad::check_finite(m.topRows(rows), "block"));
      CHECK_NOTHROW(pgrad::check_finite(m.transpose(), "row-major"));
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j)
          for (S bad : bad_values) {
            const S kept = m(i, j);
            m(i, j) = bad;
            INFO(rows << "x" << cols << " at (" << i << ", " << j << ") value " << bad);
            CHECK_THROWS_WITH(pgrad::check_finite(m, "whole"), Catch::Contains("whole: non-finite"));
            CHECK_THROWS_WITH(pgrad::check_finite(m.topRows(rows), "block"),
                              Catch::Contains("row " + std::to_string(i) + ", column " + std::to_string(j)));
            CHECK_THROWS_WITH(pgrad::check_finite(m.transpose(), "row-major"), Catch::Contains("non-finite"));
            m(i, j) = kept;
          }
    }
}
}  // namespace

TEST_CASE("check_finite finds NaN and infinities anywhere and passes the largest finite values", "[check]") {
  check_layouts<float>();
  check_layouts<double>();
}
