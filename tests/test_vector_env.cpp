// VectorEnv: same-step auto-reset against independently stepped copies, reproducibility under a
// seed and across thread counts, error propagation from worker threads, validation, episode
// reports, and no allocation per step.
//
// Eigen's run-time allocation guard is switched on for this file (its assertion throws here), and
// global operator new is counted, so the no-allocation test can fail.
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include "eigen_no_malloc.hpp"  // before anything that includes Eigen

#include <catch2/catch.hpp>

#include <chrono>

#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {
std::atomic<bool> counting_allocations{false};
std::atomic<long> allocations{0};
}  // namespace

// All the replaceable non-aligned forms, so that every one pairs malloc with free (sanitizers
// check the pairing). Aligned forms keep the library's own matching pair.
namespace {
void* counted_malloc(std::size_t size) {
  if (counting_allocations.load()) ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
// Through a volatile pointer so GCC does not pair the inlined free() with `new` expressions
// (-Wmismatched-new-delete); the pairing is correct: every operator new here uses malloc.
void (*volatile release_memory)(void*) = std::free;
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void operator delete(void* p) noexcept { release_memory(p); }
void operator delete[](void* p) noexcept { release_memory(p); }
void operator delete(void* p, std::size_t) noexcept { release_memory(p); }
void operator delete[](void* p, std::size_t) noexcept { release_memory(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release_memory(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release_memory(p); }

using pgrad::Index;
using pgrad::IndexRowVector;
using pgrad::Matrix;
using pgrad::Rng;
using Stepping = pgrad::envs::ParallelStepping;
using namespace pgrad::envs;
using Catch::Matchers::Contains;

namespace {

// CartPole whose copy `id` throws at its `fail_at`-th step (a pgrad::Error or, with `foreign`, a
// std::runtime_error), for the exception-propagation tests.
struct FailingCartPole {
  using Scalar = float;
  using Observation = CartPole<float>::Observation;
  using Action = Index;
  CartPole<float> env{};
  int id = 0, fail_id = -1, fail_at = -1, steps = 0;
  bool foreign = false;

  Box<float> observation_space() const { return env.observation_space(); }
  Discrete action_space() const { return env.action_space(); }
  Observation reset(Rng& rng) { return env.reset(rng); }
  StepResult<Observation> step(const Action& a) {
    if (id == fail_id && ++steps == fail_at) {
      if (foreign) throw std::runtime_error("foreign failure in copy " + std::to_string(id));
      throw pgrad::Error("boom in copy " + std::to_string(id));
    }
    return env.step(a);
  }
};

// Pendulum whose copy `bad_id` returns a NaN reward (or observation) on its first step.
struct NaNPendulum {
  using Scalar = double;
  using Observation = Pendulum<double>::Observation;
  using Action = Pendulum<double>::Action;
  Pendulum<double> env{};
  int id = 0, bad_id = -1;
  bool bad_observation = false;

  Box<double> observation_space() const { return env.observation_space(); }
  Box<double> action_space() const { return env.action_space(); }
  Observation reset(Rng& rng) { return env.reset(rng); }
  StepResult<Observation> step(const Action& a) {
    auto r = env.step(a);
    if (id == bad_id) {
      if (bad_observation)
        r.observation[1] = std::numeric_limits<double>::quiet_NaN();
      else
        r.reward = std::numeric_limits<double>::quiet_NaN();
    }
    return r;
  }
};

template <class Env>
void require_same_batches(const VectorEnv<Env>& a, const VectorEnv<Env>& b) {
  REQUIRE(a.observations() == b.observations());
  REQUIRE(a.final_observations() == b.final_observations());
  REQUIRE(a.rewards() == b.rewards());
  REQUIRE((a.terminated() == b.terminated()).all());
  REQUIRE((a.truncated() == b.truncated()).all());
  REQUIRE(a.finished_episodes().size() == b.finished_episodes().size());
  for (std::size_t k = 0; k < a.finished_episodes().size(); ++k) {
    REQUIRE(a.finished_episodes()[k].env_index == b.finished_episodes()[k].env_index);
    REQUIRE(a.finished_episodes()[k].episode_return == b.finished_episodes()[k].episode_return);
    REQUIRE(a.finished_episodes()[k].length == b.finished_episodes()[k].length);
  }
}

}  // namespace

TEST_CASE("VectorEnv auto-reset keeps the final observation and flags", "[vector_env]") {
  // The reference: N CartPoles stepped by hand, copy i resetting from its environment stream.
  const Index n = 4;
  const std::uint64_t seed = 11;
  VectorEnv<CartPole<double>> venv(n, CartPole<double>{}, seed);
  std::vector<CartPole<double>> ref(static_cast<std::size_t>(n));
  std::vector<Rng> streams;
  std::vector<int> lengths(static_cast<std::size_t>(n), 0);
  for (Index i = 0; i < n; ++i) streams.push_back(pgrad::stream_rng(seed, pgrad::Stream::environment, i));

  const auto& first = venv.reset();
  REQUIRE(first.rows() == 4);
  REQUIRE(first.cols() == n);
  for (Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    REQUIRE(first.col(i) == ref[k].reset(streams[k]));
  }

  Rng actions(1);
  IndexRowVector a(n);
  int endings = 0;
  for (int t = 0; t < 300; ++t) {
    for (Index i = 0; i < n; ++i) a[i] = (t + i) % 4 == 0 ? 0 : 1;  // mostly right: falls soon
    venv.step(a);
    std::size_t finished = 0;
    for (Index i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const auto r = ref[k].step(a[i]);
      ++lengths[k];
      REQUIRE(venv.rewards()[i] == r.reward);
      REQUIRE(venv.terminated()[i] == r.terminated);
      REQUIRE(venv.truncated()[i] == r.truncated);
      REQUIRE(venv.final_observations().col(i) == r.observation);
      if (r.done()) {
        ++endings;
        const auto next = ref[k].reset(streams[k]);
        REQUIRE(venv.observations().col(i) == next);
        REQUIRE(venv.observations().col(i) != venv.final_observations().col(i));
        REQUIRE(finished < venv.finished_episodes().size());
        const auto& episode = venv.finished_episodes()[finished++];
        CHECK(episode.env_index == i);
        CHECK(episode.length == lengths[k]);
        CHECK(episode.episode_return == lengths[k]);  // +1 per step
        lengths[k] = 0;
      } else {
        REQUIRE(venv.observations().col(i) == r.observation);
      }
    }
    REQUIRE(venv.finished_episodes().size() == finished);
  }
  CHECK(endings > 20);
}

TEST_CASE("VectorEnv keeps truncated flags and final observations at the time limit", "[vector_env]") {
  const Index n = 3;
  VectorEnv<Pendulum<float>> venv(n, Pendulum<float>(5), 2);
  venv.reset();
  Matrix<float> torques = Matrix<float>::Zero(1, n);
  for (int t = 1; t <= 5; ++t) {
    venv.step(torques);
    for (Index i = 0; i < n; ++i) {
      CHECK(venv.truncated()[i] == (t == 5));
      CHECK_FALSE(venv.terminated()[i]);
    }
  }
  REQUIRE(venv.finished_episodes().size() == 3);
  for (Index i = 0; i < n; ++i) {
    CHECK(venv.finished_episodes()[static_cast<std::size_t>(i)].length == 5);
    CHECK((venv.final_observations().col(i) - venv.observations().col(i)).norm() > 0);
  }
  venv.step(torques);
  CHECK_FALSE(venv.truncated().any());
  CHECK(venv.finished_episodes().empty());
}

TEST_CASE("VectorEnv with the same seed gives identical batches", "[vector_env]") {
  VectorEnv<CartPole<float>> a(6, CartPole<float>{}, 42), b(6, CartPole<float>{}, 42), c(6, CartPole<float>{}, 43);
  a.reset();
  b.reset();
  c.reset();
  CHECK(a.observations() != c.observations());
  Rng actions(3);
  IndexRowVector act(6);
  for (int t = 0; t < 200; ++t) {
    for (Index i = 0; i < 6; ++i) act[i] = static_cast<Index>(actions.below(2));
    a.step(act);
    b.step(act);
    require_same_batches(a, b);
  }
  // reset(seed) restarts the streams.
  const Matrix<float> again = a.reset(42);
  VectorEnv<CartPole<float>> fresh(6, CartPole<float>{}, 42);
  CHECK(again == fresh.reset());
}

TEST_CASE("VectorEnv results are identical with 1 2 and 3 threads", "[vector_env]") {
  SECTION("CartPole") {
    VectorEnv<CartPole<float>> one(7, CartPole<float>{}, 5, 1), two(7, CartPole<float>{}, 5, 2),
        three(7, CartPole<float>{}, 5, 3);
    CHECK(two.num_threads() == 2);
    two.set_parallel_stepping(Stepping::always);
    three.set_parallel_stepping(Stepping::always);
    CHECK(two.steps_in_parallel());
    one.reset();
    two.reset();
    three.reset();
    Rng actions(9);
    IndexRowVector act(7);
    for (int t = 0; t < 500; ++t) {
      for (Index i = 0; i < 7; ++i) act[i] = static_cast<Index>(actions.below(2));
      one.step(act);
      two.step(act);
      three.step(act);
      require_same_batches(one, two);
      require_same_batches(one, three);
    }
  }
  SECTION("Pendulum") {
    VectorEnv<Pendulum<double>> one(5, Pendulum<double>(50), 5, 1), two(5, Pendulum<double>(50), 5, 2);
    two.set_parallel_stepping(Stepping::always);
    one.reset();
    two.reset();
    Rng actions(9);
    Matrix<double> act(1, 5);
    for (int t = 0; t < 300; ++t) {
      for (Index i = 0; i < 5; ++i) act(0, i) = actions.uniform(-3.0, 3.0);
      one.step(act);
      two.step(act);
      require_same_batches(one, two);
    }
  }
  SECTION("more threads than copies") {
    VectorEnv<CartPole<float>> venv(2, CartPole<float>{}, 5, 8);
    CHECK(venv.num_threads() == 2);
    venv.reset();
    venv.step(IndexRowVector::Zero(2));
  }
}

namespace {
/// CartPole whose step takes at least `step_time` seconds (a stand-in for an expensive simulator).
struct SlowCartPole : CartPole<float> {
  double step_time = 0;
  auto step(const Action& action) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < step_time) {
    }
    return CartPole<float>::step(action);
  }
};
}  // namespace

TEST_CASE("VectorEnv steps slow environments on the workers and cheap ones on the caller", "[vector_env]") {
  for (double step_time : {0.0, 5e-5}) {
    SlowCartPole prototype;
    prototype.step_time = step_time;
    VectorEnv<SlowCartPole> envs(2, prototype, 3, 2);
    envs.reset();
    CHECK_FALSE(envs.steps_in_parallel());  // decided after the first timed steps
    for (int t = 0; t < 10; ++t) envs.step(IndexRowVector::Zero(2));
    INFO("step time " << step_time);
    CHECK(envs.steps_in_parallel() == (step_time > 0));
  }
  VectorEnv<CartPole<float>> single(2, CartPole<float>{}, 3, 1);  // no workers: never in parallel
  single.set_parallel_stepping(Stepping::always);
  CHECK_FALSE(single.steps_in_parallel());
}

TEST_CASE("VectorEnv propagates an exception from a worker thread to the caller", "[vector_env]") {
  for (const int threads : {1, 2}) {
    std::vector<FailingCartPole> copies(6);
    for (int i = 0; i < 6; ++i) {
      copies[static_cast<std::size_t>(i)].id = i;
      copies[static_cast<std::size_t>(i)].fail_id = 5;  // the last copy: a worker's partition with 2 threads
      copies[static_cast<std::size_t>(i)].fail_at = 3;
    }
    VectorEnv<FailingCartPole> venv(copies, 1, threads);
    venv.set_parallel_stepping(Stepping::always);
    venv.reset();
    const IndexRowVector act = IndexRowVector::Zero(6);
    venv.step(act);
    venv.step(act);
    CHECK_THROWS_MATCHES(venv.step(act), pgrad::Error, Catch::Matchers::Message("pgrad: boom in copy 5"));
    // After an exception the batch is inconsistent: stepping needs a reset.
    CHECK_THROWS_WITH(venv.step(act), Contains("reset"));
    venv.reset();
    CHECK_NOTHROW(venv.step(act));

    // Other exception types keep their type too.
    copies[5].foreign = true;
    copies[5].steps = 0;
    copies[5].fail_at = 1;
    VectorEnv<FailingCartPole> foreign(copies, 1, threads);
    foreign.set_parallel_stepping(Stepping::always);
    foreign.reset();
    CHECK_THROWS_AS(foreign.step(act), std::runtime_error);
  }
}

TEST_CASE("VectorEnv validates actions and values naming the copy", "[vector_env]") {
  VectorEnv<CartPole<float>> cart(3, CartPole<float>{}, 1, 2);
  CHECK_THROWS_WITH(cart.step(IndexRowVector::Zero(3)), Contains("reset"));
  cart.reset();
  CHECK_THROWS_WITH(cart.step(IndexRowVector::Zero(2)), Contains("1x3") && Contains("1x2"));
  IndexRowVector bad = IndexRowVector::Zero(3);
  bad[1] = 2;
  CHECK_THROWS_WITH(cart.step(bad), Contains("action 2 for copy 1"));

  VectorEnv<Pendulum<float>> pendulum(3, Pendulum<float>{}, 1);
  pendulum.reset();
  CHECK_THROWS_WITH(pendulum.step(Matrix<float>::Zero(2, 3)), Contains("1x3") && Contains("2x3"));
  Matrix<float> torques = Matrix<float>::Zero(1, 3);
  torques(0, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(pendulum.step(torques), Contains("copy 2"));

  for (const bool bad_observation : {false, true}) {
    std::vector<NaNPendulum> copies(4);
    for (int i = 0; i < 4; ++i) {
      copies[static_cast<std::size_t>(i)].id = i;
      copies[static_cast<std::size_t>(i)].bad_id = 3;
      copies[static_cast<std::size_t>(i)].bad_observation = bad_observation;
    }
    VectorEnv<NaNPendulum> venv(copies, 1, 2);
    venv.reset();
    CHECK_THROWS_WITH(venv.step(Matrix<double>::Zero(1, 4)),
                      Contains("copy 3") && Contains(bad_observation ? "observation" : "reward"));
  }

  CHECK_THROWS_AS(VectorEnv<CartPole<float>>(0, CartPole<float>{}, 1), pgrad::Error);
  CHECK_THROWS_AS(VectorEnv<CartPole<float>>(2, CartPole<float>{}, 1, 0), pgrad::Error);
  CHECK_THROWS_AS(VectorEnv<CartPole<float>>(std::vector<CartPole<float>>{}, 1), pgrad::Error);
}

TEST_CASE("VectorEnv reports raw returns from RecordEpisodeStatistics under NormalizeReward",
          "[vector_env]") {
  using Recorded = RecordEpisodeStatistics<CartPole<double>>;
  using Env = NormalizeReward<Recorded>;
  VectorEnv<Env> venv(3, Env(Recorded(CartPole<double>{})), 7, 2);
  // Without the recorder the report sums the rewards the copy returns (normalised here).
  VectorEnv<NormalizeReward<CartPole<double>>> plain(3, NormalizeReward<CartPole<double>>(CartPole<double>{}), 7, 2);
  venv.reset();
  plain.reset();
  std::vector<double> sums(3, 0.0);
  int checked = 0;
  for (int t = 0; t < 200; ++t) {
    const IndexRowVector act = IndexRowVector::Constant(3, t % 3 == 0 ? 0 : 1);
    venv.step(act);
    plain.step(act);
    REQUIRE(venv.rewards() == plain.rewards());
    for (Index i = 0; i < 3; ++i) sums[static_cast<std::size_t>(i)] += plain.rewards()[i];
    REQUIRE(venv.finished_episodes().size() == plain.finished_episodes().size());
    for (std::size_t k = 0; k < venv.finished_episodes().size(); ++k) {
      const auto& raw = venv.finished_episodes()[k];
      const auto& normalised = plain.finished_episodes()[k];
      CHECK(raw.length == normalised.length);
      CHECK(raw.episode_return == raw.length);  // CartPole: +1 per step
      CHECK(normalised.episode_return ==
            Approx(sums[static_cast<std::size_t>(normalised.env_index)]).epsilon(1e-12));
      CHECK(normalised.episode_return != Approx(raw.length));
      sums[static_cast<std::size_t>(normalised.env_index)] = 0.0;
      ++checked;
    }
  }
  CHECK(checked > 10);
}

TEST_CASE("VectorEnv exposes its spaces and copies", "[vector_env]") {
  VectorEnv<Pendulum<float>> venv(4, Pendulum<float>(77), 3, 2);
  CHECK(venv.num_envs() == 4);
  CHECK(venv.observation_size() == 3);
  CHECK(venv.action_size() == 1);
  CHECK(venv.observation_space().size() == 3);
  CHECK(venv.action_space().high[0] == 2.f);
  CHECK(venv.env(3).max_episode_steps() == 77);
  CHECK_THROWS_WITH(venv.env(4), Contains("index 4"));
  CHECK(VectorEnv<CartPole<float>>(2, CartPole<float>{}, 0).action_space().n == 2);
}

TEST_CASE("VectorEnv allocates nothing per step", "[vector_env]") {
  VectorEnv<CartPole<float>> cart(8, CartPole<float>{}, 3, 2);
  VectorEnv<Pendulum<float>> pendulum(8, Pendulum<float>(20), 3, 2);
  cart.reset();
  pendulum.reset();
  IndexRowVector act = IndexRowVector::Ones(8);
  Matrix<float> torques = Matrix<float>::Constant(1, 8, 0.5f);
  cart.step(act);  // warm up
  pendulum.step(torques);
  int endings = 0;
  allocations = 0;
  counting_allocations = true;
  Eigen::internal::set_is_malloc_allowed(false);
  try {
    for (int t = 0; t < 400; ++t) {
      cart.step(act);
      pendulum.step(torques);
      endings += static_cast<int>(cart.finished_episodes().size() + pendulum.finished_episodes().size());
    }
  } catch (...) {
    Eigen::internal::set_is_malloc_allowed(true);
    counting_allocations = false;
    throw;
  }
  Eigen::internal::set_is_malloc_allowed(true);
  counting_allocations = false;
  CHECK(allocations.load() == 0);
  CHECK(endings > 100);  // auto-resets happened inside the measured loop
}
