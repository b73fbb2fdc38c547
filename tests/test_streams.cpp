// Random streams: every (purpose, index) of a seed starts a different generator, RandomStreams
// refuses to hand one out twice, and every consumer of a training run draws from its own
// stream: weight initialisation, action sampling, minibatch shuffling and each environment
// copy (the old derivation gave environment copies 1 and 2 the initialisation's and the
// shuffle's numbers), evaluation and check_env included.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/envs/cartpole.hpp>

using pgrad::Stream;

namespace {

const Stream all_purposes[] = {Stream::weight_init, Stream::action_sampling, Stream::environment,
                               Stream::minibatch_shuffle, Stream::evaluation, Stream::evaluation_actions,
                               Stream::check_env};

/// The first outputs of a generator: its state is what tells streams apart.
std::vector<std::uint64_t> first_draws(pgrad::Rng rng) {
  std::vector<std::uint64_t> draws(4);
  for (auto& d : draws) d = rng.next_u64();
  return draws;
}

template <class Algorithm>
void check_distinct_streams(const Algorithm& algorithm, std::size_t expected_count) {
  const auto& taken = algorithm.streams().taken();
  CHECK(taken.size() == expected_count);
  CHECK(std::set<std::uint64_t>(taken.begin(), taken.end()).size() == taken.size());
  std::set<std::vector<std::uint64_t>> starts;
  for (std::uint64_t id : taken) starts.insert(first_draws(pgrad::Rng(algorithm.streams().seed(), id)));
  CHECK(starts.size() == taken.size());
}

}  // namespace

TEST_CASE("every purpose and index of a seed gives a different generator", "[random][streams]") {
  std::set<std::uint64_t> ids;
  std::set<std::vector<std::uint64_t>> starts;
  std::size_t count = 0;
  for (Stream purpose : all_purposes)
    for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3},
                                std::uint64_t{1000}, pgrad::max_stream_index}) {
      ids.insert(pgrad::stream_id(purpose, index));
      starts.insert(first_draws(pgrad::stream_rng(42, purpose, index)));
      ++count;
    }
  CHECK(ids.size() == count);
  CHECK(starts.size() == count);
  // The collisions of the old derivation (Rng(seed, i) for environment copy i, Rng(seed, 1) for
  // initialisation, Rng(seed, 2) for shuffling) are gone.
  CHECK(pgrad::stream_rng(42, Stream::environment, 1) != pgrad::stream_rng(42, Stream::weight_init));
  CHECK(pgrad::stream_rng(42, Stream::environment, 2) != pgrad::stream_rng(42, Stream::minibatch_shuffle));
  CHECK_THROWS_WITH(pgrad::stream_id(Stream::environment, pgrad::max_stream_index + 1), Catch::Contains("2^48"));
}

TEST_CASE("RandomStreams hands each stream out once", "[random][streams]") {
  pgrad::RandomStreams streams(7);
  const pgrad::Rng first = streams.take(Stream::environment, 3);
  CHECK(first == pgrad::stream_rng(7, Stream::environment, 3));
  CHECK_NOTHROW(streams.take(Stream::environment, 4));
  CHECK_THROWS_WITH(streams.take(Stream::environment, 3), Catch::Contains("already handed"));
  CHECK(streams.taken().size() == 2);
}

TEST_CASE("every consumer of a training run has a stream of its own", "[random][streams][algo]") {
  using Env = pgrad::envs::CartPole<float>;
  pgrad::algo::PpoConfig ppo_config;
  ppo_config.num_envs = 6;
  const pgrad::algo::Ppo<Env> ppo(Env{}, ppo_config, 5);
  check_distinct_streams(ppo, 3 + 6);  // weights, sampling, shuffling, 6 copies
  const pgrad::algo::A2c<Env> a2c(Env{}, pgrad::algo::A2cConfig{}, 5);
  check_distinct_streams(a2c, 2 + 8);
  const pgrad::algo::Reinforce<Env> reinforce(Env{}, pgrad::algo::ReinforceConfig{}, 5);
  check_distinct_streams(reinforce, 2 + 1);
  const pgrad::algo::Trpo<Env> trpo(Env{}, pgrad::algo::TrpoConfig{}, 5);
  check_distinct_streams(trpo, 3 + 1);  // weights, sampling, the critic's shuffling, 1 copy
  // A second VectorEnv on the same streams would share the copies' streams: refused.
  pgrad::RandomStreams streams(5);
  pgrad::ThreadPool pool(1);
  pgrad::envs::VectorEnv<Env> envs(2, Env{}, streams, pool);
  CHECK_THROWS_WITH(pgrad::envs::VectorEnv<Env>(2, Env{}, streams, pool), Catch::Contains("already handed"));
}
