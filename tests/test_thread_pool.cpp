// ThreadPool: run() covers every share once and reports the lowest share's exception,
// fork_join runs both sides (also with one thread), a background task runs beside the caller
// and reports its exception at join, and misuse is refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pgrad/core/thread_pool.hpp>

#include "temp_path.hpp"

#include <unistd.h>

TEST_CASE("run calls the task once per thread and rethrows the lowest share's exception", "[threads]") {
  for (int threads : {1, 2, 3}) {
    pgrad::ThreadPool pool(threads);
    INFO("threads " << threads);
    std::vector<int> calls(static_cast<std::size_t>(threads), 0);
    auto count = [&](int t) { ++calls[static_cast<std::size_t>(t)]; };
    for (int k = 0; k < 100; ++k) pool.run(count);
    CHECK(calls == std::vector<int>(static_cast<std::size_t>(threads), 100));
    auto fail = [&](int t) {
      if (t == threads - 1) throw std::runtime_error("share " + std::to_string(t));
      if (t == 0 && threads > 2) throw std::logic_error("share 0");
    };
    CHECK_THROWS_WITH(pool.run(fail), threads > 2 ? "share 0" : "share " + std::to_string(threads - 1));
    CHECK_NOTHROW(pool.run(count));  // usable afterwards
  }
}

namespace {
/// Spins until `flag` is set; false after 10 s (a failed check instead of a hang).
bool wait_for(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!flag.load())
    if (std::chrono::steady_clock::now() > deadline) return false;
  return true;
}
}  // namespace

TEST_CASE("fork_join runs both sides, the second beside the first when there is a worker", "[threads]") {
  pgrad::ThreadPool one(1);
  std::thread::id first_thread, second_thread;
  one.fork_join([&] { first_thread = std::this_thread::get_id(); },
                [&] { second_thread = std::this_thread::get_id(); });
  CHECK(first_thread == std::this_thread::get_id());
  CHECK(second_thread == first_thread);
  // With a worker, first() can wait for second(): they run at the same time.
  pgrad::ThreadPool two(2);
  std::atomic<bool> second_started{false};
  bool saw_second = false;
  two.fork_join([&] { saw_second = wait_for(second_started); },
                [&] {
                  second_thread = std::this_thread::get_id();
                  second_started = true;
                });
  CHECK(saw_second);
  CHECK(second_thread != std::this_thread::get_id());
  for (pgrad::ThreadPool* pool : {&one, &two})
    CHECK_THROWS_WITH(pool->fork_join([] {}, [] { throw std::runtime_error("second"); }), "second");
}

TEST_CASE("a background task runs beside the caller until join, or at join", "[threads]") {
  pgrad::ThreadPool pool(2);
  std::atomic<bool> started{false}, go{false};
  std::atomic<int> done{0};
  auto work = [&] {
    started = true;
    wait_for(go);
    done = 1;
  };
  pool.start(work);
  CHECK(pool.busy());
  auto share = [](int) {};
  CHECK_THROWS_WITH(pool.run(share), Catch::Contains("background task"));
  CHECK_THROWS_WITH(pool.start(work), Catch::Contains("not joined"));
  CHECK(wait_for(started));  // running on the worker while this thread goes on
  go = true;
  pool.join();
  CHECK(done == 1);
  CHECK_FALSE(pool.busy());
  auto failing = [] { throw std::runtime_error("in the background"); };
  pool.start(failing);
  CHECK_THROWS_WITH(pool.join(), "in the background");
  CHECK_NOTHROW(pool.join());
  // Whoever runs it, a task offered and joined at once has run when join returns.
  for (int k = 0; k < 200; ++k) {
    int runs = 0;
    auto count = [&] { ++runs; };
    pool.start(count);
    pool.join();
    REQUIRE(runs == 1);
  }
}

TEST_CASE("ThreadPool refuses a size out of range", "[threads][errors]") {
  CHECK_THROWS_WITH(pgrad::ThreadPool(0), Catch::Contains("num_threads"));
  CHECK_THROWS_WITH(pgrad::ThreadPool(5000), Catch::Contains("num_threads"));
}

TEST_CASE("usable_cpus follows the affinity mask and the cgroup CPU quota", "[threads]") {
  const int all = pgrad::usable_cpus();
  CHECK(all >= 1);
  CHECK(all <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
#if defined(__linux__)
  // As under `taskset -c N`: this thread may run on one CPU only.
  cpu_set_t saved;
  REQUIRE(::sched_getaffinity(0, sizeof saved, &saved) == 0);
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
  const int pinned = pgrad::usable_cpus();
  REQUIRE(::sched_setaffinity(0, sizeof saved, &saved) == 0);
  CHECK(pinned == 1);
#endif
  const pgrad_test::TempPath file("cpu_max");
  const std::string& path = file.path;
  const std::pair<const char*, int> quotas[] = {{"50000 100000\n", 1}, {"150000 100000\n", 2}, {"400000 100000", 4},
                                                {"max 100000\n", 0},   {"garbage\n", 0},        {"", 0}};
  for (const auto& [text, cpus] : quotas) {
    pgrad::write_file_atomically(path, text);
    CHECK(pgrad::detail::cgroup_cpu_quota(path) == cpus);
  }
  std::remove(path.c_str());
  CHECK(pgrad::detail::cgroup_cpu_quota(path) == 0);  // no file: no quota
}
