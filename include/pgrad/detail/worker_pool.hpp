#pragma once
// pgrad::detail::WorkerPool: a persistent pool of threads for deterministic fork-join work
// (VectorEnv's environment copies, the policy's actor and critic passes).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <pgrad/core/error.hpp>

/// PGRAD_NOINLINE keeps one compiled body for a function. VectorEnv steps every copy through
/// one such body so that all copies, on any thread, run the same machine code: with
/// floating-point contraction (FMA) left to the compiler, two inlined call sites of the same
/// environment step may round differently, which would break bit-identical thread counts.
#ifndef PGRAD_NOINLINE
#if defined(__GNUC__) || defined(__clang__)
#define PGRAD_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define PGRAD_NOINLINE __declspec(noinline)
#else
#define PGRAD_NOINLINE
#endif
#endif

namespace pgrad::detail {

inline void cpu_relax() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
  __asm__ __volatile__("yield");
#else
  std::this_thread::yield();
#endif
}

/// A persistent pool of `num_threads - 1` worker threads plus the calling thread. run(task)
/// calls task(t) for every t in [0, num_threads) (t = 0 on the caller) and returns when all have
/// finished. Threads are created once; waiting is a spin of up to 1 ms, then a condition
/// variable, so back-to-back runs cost about a microsecond of synchronisation and an idle pool
/// sleeps instead of burning its cores. The task must not throw (VectorEnv catches per
/// slot and rethrows on the caller).
class WorkerPool {
 public:
  explicit WorkerPool(int num_threads) : num_threads_(num_threads) {
    PGRAD_REQUIRE(num_threads >= 1, "WorkerPool: num_threads must be >= 1, got ", num_threads);
    threads_.reserve(static_cast<std::size_t>(num_threads - 1));
    for (int t = 1; t < num_threads; ++t) threads_.emplace_back([this, t] { worker_loop(t); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return num_threads_; }

  template <class Task>
  void run(Task& task) {
    if (num_threads_ == 1) {
      task(0);
      return;
    }
    launch(task);
    task(0);
    wait();
  }

  /// Starts task(t) on every worker thread (t = 1 .. num_threads - 1) and returns at once; the
  /// task must stay alive until wait() returns. One launch at a time; the pool has workers.
  template <class Task>
  void launch(Task& task) {
    function_ = &invoke<Task>;
    context_ = &task;
    pending_.store(num_threads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
  }

  /// Returns when every worker has finished the last launched task.
  void wait() {
    wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; }, done_);
  }

 private:
  /// How long a waiting thread spins before it sleeps. Training alternates short phases: the
  /// actor and critic passes of one minibatch take tens of microseconds and collecting a
  /// CartPole rollout about half a millisecond, while waking a sleeping thread costs tens of
  /// microseconds (more on a virtual machine). A thread spins through such gaps and sleeps only
  /// when the caller is away longer (stepping MuJoCo environments, evaluating, logging).
  static constexpr std::chrono::microseconds spin_budget{1000};

  // Spin (with the CPU's pause hint) for up to spin_budget, then sleep on `cv` until `ready()`.
  template <class Ready>
  void wait_until(const Ready& ready, std::condition_variable& cv) {
    const auto deadline = std::chrono::steady_clock::now() + spin_budget;
    for (int k = 1;; ++k) {
      if (ready()) return;
      cpu_relax();
      if (k % 64 == 0 && std::chrono::steady_clock::now() >= deadline) break;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    cv.wait(lock, ready);
  }

  template <class Task>
  static void invoke(void* context, int t) {
    (*static_cast<Task*>(context))(t);
  }

  void worker_loop(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      wait_until([&] {
        return stop_.load(std::memory_order_acquire) ||
               generation_.load(std::memory_order_acquire) != seen;
      }, wake_);
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      function_(context_, t);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  int num_threads_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  void (*function_)(void*, int) = nullptr;
  void* context_ = nullptr;
};

/// A WorkerPool held by value: copying the owner gives the copy a pool of its own with the same
/// number of threads (a pool must not be shared by objects used from different threads).
class OwnedPool {
 public:
  explicit OwnedPool(int num_threads = 1)
      : num_threads_(num_threads), pool_(num_threads > 1 ? std::make_unique<WorkerPool>(num_threads) : nullptr) {}
  OwnedPool(const OwnedPool& other) : OwnedPool(other.num_threads_) {}
  OwnedPool& operator=(const OwnedPool& other) {
    if (this != &other) *this = OwnedPool(other.num_threads_);
    return *this;
  }
  OwnedPool(OwnedPool&&) noexcept = default;
  OwnedPool& operator=(OwnedPool&&) noexcept = default;
  ~OwnedPool() {
    if (background_running_ && pool_) pool_->wait();  // never leave a worker running on freed state
  }

  int size() const { return num_threads_; }

  /// Runs work() on the second thread while the caller goes on, until join(); with one thread it
  /// runs inside start(). work must stay alive until join(), which rethrows its exception. One
  /// background task at a time, and no fork_join while one runs.
  template <class Work>
  void start(Work& work) {
    PGRAD_REQUIRE(!background_running_, "OwnedPool::start: the previous background task was not joined");
    background_.error = nullptr;
    background_.work = &work;
    background_.call = [](void* w) { (*static_cast<Work*>(w))(); };
    if (!pool_) {
      background_(1);
      return;
    }
    pool_->launch(background_);
    background_running_ = true;
  }

  /// Waits for the task start() began (nothing to wait for: returns at once) and rethrows its
  /// exception.
  void join() {
    if (background_running_) {
      pool_->wait();
      background_running_ = false;
    }
    if (background_.error) std::rethrow_exception(std::exchange(background_.error, nullptr));
  }

  /// Runs first() and second() concurrently when the pool has two or more threads, one after the
  /// other otherwise; an exception from either reaches the caller. Each function's own arithmetic
  /// is the same either way, so results do not depend on the thread count.
  template <class First, class Second>
  void fork_join(const First& first, const Second& second) {
    if (!pool_) {
      first();
      second();
      return;
    }
    PGRAD_REQUIRE(!background_running_, "OwnedPool::fork_join: a background task is still running (join it first)");
    std::exception_ptr errors[2];
    auto task = [&](int t) {
      if (t > 1) return;
      try {
        if (t == 0)
          first();
        else
          second();
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    pool_->run(task);
    for (const auto& error : errors)
      if (error) std::rethrow_exception(error);
  }

 private:
  // The task start() hands to the pool: worker 1 calls the work, the others do nothing.
  struct Background {
    void (*call)(void*) = nullptr;
    void* work = nullptr;
    std::exception_ptr error;
    void operator()(int t) {
      if (t != 1) return;
      try {
        call(work);
      } catch (...) {
        error = std::current_exception();
      }
    }
  };

  int num_threads_;
  std::unique_ptr<WorkerPool> pool_;
  Background background_;
  bool background_running_ = false;
};

}  // namespace pgrad::detail
