#pragma once
// pgrad::Stream and pgrad::RandomStreams: every consumer of random numbers gets its own stream
// of the run's seed, named and derived here and nowhere else.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>

namespace pgrad {

/// What a random stream is for. Each purpose (and, where there are several consumers of one
/// purpose, each index) has a stream of its own, so that no two consumers ever draw the same
/// numbers, and a change in one (more environment copies, another minibatch size) leaves the
/// others' draws as they were.
enum class Stream : std::uint64_t {
  weight_init = 1,         ///< the policy's initial parameters
  action_sampling = 2,     ///< actions sampled during rollouts (one for the run; MPI ranks share it out)
  environment = 3,         ///< resets of environment copy `index` (numbered across all processes)
  minibatch_shuffle = 4,   ///< the order of samples in minibatches
  evaluation = 5,          ///< the reset of evaluation episode `index`
  evaluation_actions = 6,  ///< actions sampled in evaluation episode `index`
  check_env = 7,           ///< check_env's resets (`index`: the reset) and random actions
  dropout = 8,             ///< the policy's dropout masks, while acting and in training passes
};

/// The largest index a stream may have (48 bits: a purpose's indices never reach the next).
inline constexpr std::uint64_t max_stream_index = (std::uint64_t{1} << 48) - 1;

/// The stream number of (purpose, index) within a seed: the purpose in the top 16 bits, the
/// index in the low 48, so different pairs always get different numbers, and Rng(seed, number)
/// then starts from different states (Rng's seeding is injective in the stream number).
inline std::uint64_t stream_id(Stream purpose, std::uint64_t index = 0) {
  PGRAD_REQUIRE(index <= max_stream_index, "stream_id: index ", index, " is above 2^48 - 1");
  return (static_cast<std::uint64_t>(purpose) << 48) | index;
}

/// The generator of stream (purpose, index) of `seed`.
inline Rng stream_rng(std::uint64_t seed, Stream purpose, std::uint64_t index = 0) {
  return Rng(seed, stream_id(purpose, index));
}

/// The random streams of one training run, all derived from its seed by stream_rng. Hands out
/// each (purpose, index) at most once and throws pgrad::Error on a second request, so two
/// consumers can never share a stream; taken() lists what was handed out (tests check it).
class RandomStreams {
 public:
  explicit RandomStreams(std::uint64_t seed) : seed_(seed) {}

  std::uint64_t seed() const { return seed_; }

  /// The generator of (purpose, index); each pair once.
  Rng take(Stream purpose, std::uint64_t index = 0) {
    const std::uint64_t id = stream_id(purpose, index);
    PGRAD_REQUIRE(std::find(taken_.begin(), taken_.end(), id) == taken_.end(), "RandomStreams: stream ",
                  static_cast<std::uint64_t>(purpose), " index ", index, " of seed ", seed_,
                  " was already handed to another consumer");
    taken_.push_back(id);
    return Rng(seed_, id);
  }

  /// The stream numbers handed out so far, in order.
  const std::vector<std::uint64_t>& taken() const { return taken_; }

 private:
  std::uint64_t seed_;
  std::vector<std::uint64_t> taken_;
};

}  // namespace pgrad
