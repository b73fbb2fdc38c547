// pgrad::copy_matrix: a whole matrix, a block with a stride (a few rows of a taller matrix, and
// columns of a wider one), one column and an empty matrix all arrive unchanged, and the target
// keeps its storage when the shape does not change.
#include <catch2/catch.hpp>

#include <pgrad/core/types.hpp>

TEST_CASE("copy_matrix copies whole matrices, strided blocks, single columns and empty ones", "[core]") {
  const pgrad::Matrix<float> source = pgrad::Matrix<float>::Random(7, 9);
  pgrad::Matrix<float> target;
  pgrad::copy_matrix<float>(source, target);
  CHECK(target == source);
  const float* storage = target.data();
  pgrad::copy_matrix<float>(source * 2.0f, target);  // an expression, same shape: no reallocation
  CHECK(target == source * 2.0f);
  CHECK(target.data() == storage);
  pgrad::copy_matrix<float>(source.topRows(4), target);  // 4 rows, stride 7
  CHECK(target == source.topRows(4));
  pgrad::copy_matrix<float>(source.block(2, 3, 3, 5), target);
  CHECK(target == source.block(2, 3, 3, 5));
  pgrad::copy_matrix<float>(source.col(6), target);
  CHECK(target == source.col(6));
  pgrad::copy_matrix<float>(source.leftCols(0), target);
  CHECK(target.rows() == 7);
  CHECK(target.cols() == 0);
}
