// Rng: reproducible streams and sampler moments.
#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>

#include <cmath>
#include <vector>

using pgrad::Rng;

TEST_CASE("same seed gives the same stream and different seeds or streams differ", "[random]") {
  Rng a(42), b(42), c(43), d(42, 1);
  bool any_diff_seed = false, any_diff_stream = false;
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.next_u64();
    REQUIRE(x == b.next_u64());
    any_diff_seed |= x != c.next_u64();
    any_diff_stream |= x != d.next_u64();
  }
  CHECK(any_diff_seed);
  CHECK(any_diff_stream);
}

TEST_CASE("known first outputs pin the generator across compilers", "[random]") {
  // xoshiro256++ with state words from SplitMix64: the first output for seed 0 must never
  // change, or every saved run would silently diverge.
  Rng rng(0);
  const auto first = rng.next_u64();
  Rng again(0);
  CHECK(again.next_u64() == first);
  Rng::State state{1, 2, 3, 4};
  rng.set_state(state);
  // Reference value of xoshiro256++ from state {1,2,3,4}: rotl(1+4, 23) + 1 = 41943041.
  CHECK(rng.next_u64() == 41943041ull);
}

template <class Draw>
void check_moments(Draw draw, double mean, double variance, int n = 1000000) {
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = draw();
    sum += x;
    sum_sq += x * x;
  }
  const double m = sum / n, v = sum_sq / n - m * m;
  // Standard error of the mean sqrt(var/n); of the variance about sqrt(2 var^2 / n) for a
  // normal and sqrt((mu4 - var^2)/n) in general; 4 standard errors either way.
  CHECK(std::abs(m - mean) < 4 * std::sqrt(variance / n));
  CHECK(std::abs(v - variance) < 4 * std::sqrt(2.0 * variance * variance / n));
}

TEST_CASE("uniform and normal samplers have the right mean and variance", "[random]") {
  Rng rng(123);
  check_moments([&] { return rng.uniform<double>(); }, 0.5, 1.0 / 12.0);
  check_moments([&] { return static_cast<double>(rng.uniform<float>()); }, 0.5, 1.0 / 12.0);
  check_moments([&] { return rng.normal<double>(); }, 0.0, 1.0);
  check_moments([&] { return static_cast<double>(rng.normal<float>(2.0f, 3.0f)); }, 2.0, 9.0);
}

TEST_CASE("uniform stays in [0 1) and below(n) covers [0 n)", "[random]") {
  Rng rng(5);
  for (int i = 0; i < 100000; ++i) {
    const float u = rng.uniform<float>();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
  }
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
  for (int c : counts) CHECK(std::abs(c - 10000) < 4 * std::sqrt(10000.0 * 6 / 7));
  CHECK_THROWS_AS(rng.below(0), pgrad::Error);
}

TEST_CASE("split and shuffle are reproducible", "[random]") {
  Rng a(9), b(9);
  Rng child_a = a.split(), child_b = b.split();
  CHECK(child_a == child_b);
  CHECK(child_a != a);
  std::vector<int> x{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, y = x;
  pgrad::shuffle(x.begin(), x.end(), a);
  pgrad::shuffle(y.begin(), y.end(), b);
  CHECK(x == y);
  std::vector<int> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}
