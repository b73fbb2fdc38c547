// Learning tests on CartPole-v1 with fixed seeds: each algorithm must reach a deterministic
// evaluation mean >= 475 over 100 episodes, on three seeds. Release build: seconds each.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/evaluate.hpp>

#include "seed_rates.hpp"

using Env = pgrad::envs::CartPole<float>;

namespace {

template <class Algorithm>
double evaluation_after_training(Algorithm& algorithm, long long steps, std::uint64_t seed,
                                 const pgrad::algo::UpdateCallback& on_update = {}) {
  algorithm.learn(steps, on_update);
  return pgrad::evaluate_policy(algorithm.policy(), Env{}, 100, seed).mean_return;
}

}  // namespace

TEST_CASE("PPO solves CartPole within 150k steps on three seeds", "[learning][ppo]") {
  for (std::uint64_t seed : {1, 2, 3}) {
    pgrad::algo::Ppo<Env> ppo(Env{}, pgrad::algo::presets::cartpole_ppo_fast(), seed);
    INFO("seed " << seed);
    CHECK(evaluation_after_training(ppo, 150000, seed) >= 475.0);
  }
}

TEST_CASE("PPO with CleanRL's defaults solves CartPole in 500k steps", "[learning][ppo]") {
  pgrad::algo::Ppo<Env> ppo(Env{}, pgrad::algo::PpoConfig{}, 1);
  CHECK(evaluation_after_training(ppo, 500000, 1) >= 475.0);
}

TEST_CASE("A2C solves CartPole on three seeds", "[learning][a2c]") {
  for (std::uint64_t seed : {1, 2, 3}) {
    pgrad::algo::A2c<Env> a2c(Env{}, pgrad::algo::A2cConfig{}, seed);
    INFO("seed " << seed);
    CHECK(evaluation_after_training(a2c, 500000, seed) >= 475.0);
  }
}

TEST_CASE("TRPO solves CartPole within 200k steps on at least three of seeds 1-6", "[learning][trpo]") {
  // Without annealing, TRPO's policy keeps moving once solved: training stops when the last 100
  // episodes average 475, as the example does (SB3's StopTrainingOnRewardThreshold); the
  // deterministic evaluation then sometimes falls short. Measured: 6 of 6 seeds on the AVX-512
  // build, 4 of 6 on the x86-64-v3 (AVX2) build (425 and 345 on seeds 1 and 3).
  std::string log;
  const int solved = pgrad_test::seeds_reaching(475.0, 3, 6, [](std::uint64_t seed) {
    pgrad::algo::Trpo<Env> trpo(Env{}, pgrad::algo::presets::cartpole_trpo(), seed);
    return evaluation_after_training(trpo, 200000, seed, pgrad::stop_at_return(475.0));
  }, log);
  INFO(log);
  CHECK(solved >= 3);
}

TEST_CASE("REINFORCE solves CartPole on three seeds", "[learning][reinforce]") {
  // As the tutorial, training stops once the recent episodes average the reward threshold.
  const auto stop_when_solved = [](const pgrad::algo::UpdateReport& r) { return r.mean_return < 475.0; };
  const auto config = pgrad::algo::presets::cartpole_reinforce();
  for (std::uint64_t seed : {1, 2, 3}) {
    pgrad::algo::Reinforce<Env> reinforce(Env{}, config, seed);
    INFO("seed " << seed);
    CHECK(evaluation_after_training(reinforce, 300000, seed, stop_when_solved) >= 475.0);
  }
}

TEST_CASE("the same seed gives bit-identical parameters whatever the thread count", "[learning][determinism]") {
  using Stepping = pgrad::envs::ParallelStepping;
  auto train = [](std::uint64_t seed, int threads, Stepping stepping) {
    pgrad::algo::PpoConfig config;
    config.num_threads = threads;  // the run's thread budget
    pgrad::algo::Ppo<Env> ppo(Env{}, config, seed);
    ppo.collector().env().set_parallel_stepping(stepping);
    ppo.learn(20000);
    return pgrad::Vector<float>(ppo.policy().flat_parameters());
  };
  const auto first = train(7, 1, Stepping::automatic);
  CHECK(train(7, 1, Stepping::automatic) == first);
  CHECK(train(7, 2, Stepping::automatic) == first);  // values in the background, critic on worker 1
  CHECK(train(7, 2, Stepping::always) == first);     // environments on both threads
  CHECK(train(7, 3, Stepping::always) == first);
  CHECK(train(8, 1, Stepping::automatic) != first);
}

namespace {
// Trains REINFORCE with `config` until `stop` says so; returns the episode at which the mean of
// the last 25 episodes first reached 475 (0: never).
long long episodes_to_threshold(const pgrad::algo::ReinforceConfig& config, std::uint64_t seed,
                                const pgrad::algo::UpdateCallback& stop) {
  pgrad::algo::Reinforce<Env> reinforce(Env{}, config, seed);
  long long reached = 0;
  reinforce.learn(1000000, [&](const pgrad::algo::UpdateReport& report) {
    if (reached == 0 && report.episode_log->mean_return(25) >= 475.0) reached = report.episodes;
    return stop(report);
  });
  return reached;
}
}  // namespace

// The tutorials are not tuned: each reaches its threshold on most seeds, not all (as in their
// PyTorch originals), so these tests count the seeds 1-10 that do.
TEST_CASE("DataCamp's REINFORCE tutorial (dropout, PyTorch init) reaches its threshold within 500 episodes on most seeds",
          "[learning][reinforce]") {
  const auto stop = pgrad::all_of(pgrad::stop_at_return(475.0, 1, 25), pgrad::stop_after_episodes(500));
  int reaching = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const long long reached = episodes_to_threshold(pgrad::algo::presets::cartpole_reinforce_datacamp(), seed, stop);
    if (reached > 0 && reached <= 500) ++reaching;
  }
  CHECK(reaching >= 5);  // measured here: 7 of 10 (seeds 1, 5-10; 128 to 406 episodes)
}

TEST_CASE("The PyTorch article's REINFORCE reaches the threshold within its 1000 episodes on most seeds",
          "[learning][reinforce]") {
  int reaching = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const long long reached = episodes_to_threshold(pgrad::algo::presets::cartpole_reinforce_article(), seed,
                                                    pgrad::stop_after_episodes(1000));
    if (reached > 0 && reached <= 1000) ++reaching;
  }
  CHECK(reaching >= 8);  // measured here: 10 of 10 (129 to 524 episodes)
}
