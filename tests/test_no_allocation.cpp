// The training loops of PPO, A2C and TRPO allocate no memory once their first updates have sized
// every buffer: every malloc in the process is counted (allocation_hooks.hpp) while later updates run.
#include <catch2/catch.hpp>

#if defined(__GLIBC__)
#include <cstdlib>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>

#include "allocation_hooks.hpp"

namespace {

// Runs `updates` updates and returns how many allocations happened after the first `warm_up`.
template <class Algorithm>
long allocations_after_warm_up(Algorithm& algorithm, long long steps_per_update, int warm_up, int updates) {
  int done = 0;
  allocations = 0;
  algorithm.learn(steps_per_update * updates, [&](const pgrad::algo::UpdateReport&) {
    if (++done == warm_up) counting = true;
    return true;
  });
  counting = false;
  REQUIRE(done == updates);
  return allocations.load();
}

}  // namespace

TEST_CASE("the allocation counter sees allocations", "[alloc]") {
  allocations = 0;
  counting = true;
  auto* volatile block = static_cast<int*>(std::malloc(64));
  pgrad::Matrix<float> matrix(7, 9);
  counting = false;
  std::free(block);
  CHECK(allocations.load() >= 2);
  CHECK(matrix.size() == 63);
#if defined(PGRAD_TEST_SANITIZER_HOOKS)
  CHECK(hooks_installed != 0);
#endif
}

TEST_CASE("PPO updates allocate nothing after the first (Categorical, 1 and 2 threads)", "[alloc][ppo]") {
  using Env = pgrad::envs::CartPole<float>;
  using Stepping = pgrad::envs::ParallelStepping;
  for (int threads : {1, 2})
    for (Stepping stepping : {Stepping::never, Stepping::always}) {
      pgrad::algo::PpoConfig config;
      config.num_steps = 64;
      config.num_threads = threads;
      pgrad::algo::Ppo<Env> ppo(Env{}, config, 3);
      ppo.collector().env().set_parallel_stepping(stepping);
      INFO("threads: " << threads << ", environments on the workers: " << (stepping == Stepping::always));
      CHECK(allocations_after_warm_up(ppo, config.batch_size(), 2, 8) == 0);
    }
}

TEST_CASE("PPO updates allocate nothing after the first (Gaussian, shared trunk, clipped values)", "[alloc][ppo]") {
  using Env = pgrad::envs::Pendulum<float>;
  pgrad::algo::PpoConfig config = pgrad::algo::PpoConfig::continuous_defaults();
  config.num_steps = 64;
  config.num_minibatches = 4;
  config.clip_value_loss = true;
  config.policy.shared_hidden = {32};
  config.policy.actor_hidden = {16};
  config.policy.critic_hidden = {16};
  config.num_threads = 2;
  pgrad::algo::Ppo<Env> ppo(Env{}, config, 4);
  CHECK(allocations_after_warm_up(ppo, config.batch_size(), 2, 6) == 0);
}

namespace {
// TRPO with 2 copies x 64 steps, critic minibatches of 32, 2 threads.
pgrad::algo::TrpoConfig small_trpo() {
  pgrad::algo::TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 64;
  config.critic_minibatch_size = 32;
  config.num_threads = 2;
  return config;
}
}  // namespace

TEST_CASE("PPO and TRPO updates allocate nothing after the first (squashed Gaussian and Beta, 2 threads)",
          "[alloc][ppo][trpo]") {
  using Env = pgrad::envs::Pendulum<float>;
  for (pgrad::BoxDistribution kind : {pgrad::BoxDistribution::squashed_gaussian, pgrad::BoxDistribution::beta}) {
    INFO(pgrad::box_distribution_name(kind));
    pgrad::algo::PpoConfig config = pgrad::algo::PpoConfig::continuous_defaults();
    config.num_steps = 64;
    config.num_minibatches = 4;
    config.num_threads = 2;
    config.policy.box_distribution = kind;
    pgrad::algo::Ppo<Env> ppo(Env{}, config, 4);
    CHECK(allocations_after_warm_up(ppo, config.batch_size(), 2, 6) == 0);
    pgrad::algo::TrpoConfig trpo = small_trpo();
    trpo.policy.box_distribution = kind;
    pgrad::algo::Trpo<Env> trpo_run(Env{}, trpo, 7);
    CHECK(allocations_after_warm_up(trpo_run, trpo.batch_size(), 2, 6) == 0);
  }
}

TEST_CASE("A2C updates allocate nothing after the first", "[alloc][a2c]") {
  using Env = pgrad::envs::CartPole<float>;
  pgrad::algo::A2cConfig config;
  pgrad::algo::A2c<Env> a2c(Env{}, config, 5);
  CHECK(allocations_after_warm_up(a2c, config.batch_size(), 2, 50) == 0);
}

TEST_CASE("TRPO updates allocate nothing after the first (Categorical and Gaussian with a trunk, 2 threads)",
          "[alloc][trpo]") {
  pgrad::algo::TrpoConfig config = small_trpo();
  pgrad::algo::Trpo<pgrad::envs::CartPole<float>> categorical(pgrad::envs::CartPole<float>{}, config, 6);
  CHECK(allocations_after_warm_up(categorical, config.batch_size(), 2, 6) == 0);
  config.policy.shared_hidden = {32};
  config.policy.actor_hidden = {16};
  config.policy.critic_hidden = {16};
  pgrad::algo::Trpo<pgrad::envs::Pendulum<float>> gaussian(pgrad::envs::Pendulum<float>{}, config, 7);
  CHECK(allocations_after_warm_up(gaussian, config.batch_size(), 2, 6) == 0);
}

#endif  // __GLIBC__
