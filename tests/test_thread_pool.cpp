// ThreadPool: run() covers every share once and reports the lowest share's exception,
// fork_join runs both sides (also with one thread), a background task runs beside the caller
// and reports its exception at join, and misuse is refused.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pgrad/core/thread_pool.hpp>

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

TEST_CASE("fork_join runs both sides, on two threads when it has them", "[threads]") {
  for (int threads : {1, 2}) {
    pgrad::ThreadPool pool(threads);
    std::thread::id first_thread, second_thread;
    pool.fork_join([&] { first_thread = std::this_thread::get_id(); },
                   [&] { second_thread = std::this_thread::get_id(); });
    CHECK(first_thread == std::this_thread::get_id());
    CHECK((second_thread != first_thread) == (threads == 2));
    CHECK_THROWS_WITH(pool.fork_join([] {}, [] { throw std::runtime_error("second"); }), "second");
  }
}

TEST_CASE("a background task runs beside the caller until join", "[threads]") {
  pgrad::ThreadPool pool(2);
  std::atomic<bool> go{false};
  std::atomic<int> done{0};
  auto work = [&] {
    while (!go.load()) {
    }
    done = 1;
  };
  pool.start(work);
  CHECK(pool.busy());
  auto share = [](int) {};
  CHECK_THROWS_WITH(pool.run(share), Catch::Contains("background task"));
  CHECK_THROWS_WITH(pool.start(work), Catch::Contains("not joined"));
  go = true;  // the task can only finish because it runs on another thread
  pool.join();
  CHECK(done == 1);
  CHECK_FALSE(pool.busy());
  auto failing = [] { throw std::runtime_error("in the background"); };
  pool.start(failing);
  CHECK_THROWS_WITH(pool.join(), "in the background");
  CHECK_NOTHROW(pool.join());
}

TEST_CASE("ThreadPool refuses a size out of range", "[threads][errors]") {
  CHECK_THROWS_WITH(pgrad::ThreadPool(0), Catch::Contains("num_threads"));
  CHECK_THROWS_WITH(pgrad::ThreadPool(5000), Catch::Contains("num_threads"));
}
