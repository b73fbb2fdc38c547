#pragma once
// The determinism check of the learning tests: a run's parameters are the same bits for 1, 2 and
// 3 threads, and another seed gives other parameters (so the comparison can fail).
#include <catch2/catch.hpp>

#include <cstdint>

namespace pgrad_test {

/// train(seed, threads) returns the trained parameters (a vector comparable with ==).
template <class Train>
void check_same_parameters_for_thread_counts(const Train& train) {
  const auto first = train(std::uint64_t{5}, 1);
  CHECK(train(std::uint64_t{5}, 2) == first);
  CHECK(train(std::uint64_t{5}, 3) == first);
  CHECK(train(std::uint64_t{6}, 1) != first);
}

}  // namespace pgrad_test
