#pragma once
// pgrad::Rng: the one random generator. No global state anywhere in pgrad: every random draw
// takes an Rng explicitly, so a run is reproducible from its seed.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <pgrad/core/error.hpp>

namespace pgrad {

namespace detail {
/// SplitMix64 (Steele, Lea, Flood 2014): turns any 64-bit value into a well-mixed one. Used to
/// seed and to derive independent streams.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
__extension__ typedef unsigned __int128 uint128;
}  // namespace detail

/// xoshiro256++ (Blackman & Vigna 2019) seeded through SplitMix64, with pgrad's own uniform,
/// normal and integer samplers, so the same seed gives the same numbers with any compiler and
/// standard library (std:: distributions differ between implementations).
///
/// Rng(seed, stream) gives statistically independent generators for different streams of one
/// seed: VectorEnv uses stream i for environment copy i.
class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0) { reseed(seed, stream); }

  /// Restarts the generator as Rng(seed, stream).
  void reseed(std::uint64_t seed, std::uint64_t stream = 0) {
    std::uint64_t mix = seed;
    const std::uint64_t seed_hash = detail::splitmix64(mix);
    std::uint64_t sm = seed_hash ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    for (auto& word : state_) word = detail::splitmix64(sm);
  }

  /// The next 64 random bits.
  std::uint64_t next_u64() {
    const std::uint64_t result = detail::rotl(state_[0] + state_[3], 23) + state_[0];
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = detail::rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1): the top 24 (float) or 53 (double) bits, exactly representable.
  template <class Scalar = double>
  Scalar uniform() {
    if constexpr (std::numeric_limits<Scalar>::digits <= 24)
      return static_cast<Scalar>(next_u64() >> 40) * Scalar(0x1.0p-24);
    else
      return static_cast<Scalar>(next_u64() >> 11) * Scalar(0x1.0p-53);
  }

  /// Uniform in [low, high).
  template <class Scalar>
  Scalar uniform(Scalar low, Scalar high) {
    return low + (high - low) * uniform<Scalar>();
  }

  /// Standard normal N(0, 1) by the Marsaglia polar method, computed in double. One value per
  /// call (the pair's second value is discarded so the state is just the four words).
  template <class Scalar = double>
  Scalar normal() {
    double u, v, s;
    do {
      u = 2.0 * uniform<double>() - 1.0;
      v = 2.0 * uniform<double>() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return static_cast<Scalar>(u * std::sqrt(-2.0 * std::log(s) / s));
  }

  /// Normal with the given mean and standard deviation.
  template <class Scalar>
  Scalar normal(Scalar mean, Scalar stddev) {
    return mean + stddev * normal<Scalar>();
  }

  /// Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    PGRAD_REQUIRE(n > 0, "Rng::below: n must be positive");
    detail::uint128 m = static_cast<detail::uint128>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<detail::uint128>(next_u64()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// A new generator seeded from this one's next output: an independent child stream.
  Rng split() { return Rng(next_u64(), 0x5EED5EED5EED5EEDull); }

  /// The full state, for checkpoints; set_state restores it exactly.
  const State& state() const { return state_; }
  void set_state(const State& state) {
    PGRAD_REQUIRE(state[0] | state[1] | state[2] | state[3], "Rng::set_state: all-zero state is invalid");
    state_ = state;
  }

  friend bool operator==(const Rng& a, const Rng& b) { return a.state_ == b.state_; }
  friend bool operator!=(const Rng& a, const Rng& b) { return !(a == b); }

 private:
  State state_{};
};

/// Fisher–Yates shuffle of [first, last) with the given generator (std::shuffle is not
/// reproducible across standard libraries).
template <class RandomIt>
void shuffle(RandomIt first, RandomIt last, Rng& rng) {
  // A local copy of the generator: its state stays in registers (the swaps could alias rng's
  // words as far as the compiler knows, so it reloaded them on every draw).
  Rng local = rng;
  const auto n = last - first;
  for (auto i = n - 1; i > 0; --i) {
    const auto j = static_cast<decltype(i)>(local.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(first[i], first[j]);
  }
  rng = local;
}

}  // namespace pgrad
