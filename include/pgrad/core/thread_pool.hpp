#pragma once
// pgrad::ThreadPool: the threads of one training run, owned in one place and lent out.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
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

namespace pgrad {

namespace detail {
inline void cpu_relax() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
  __asm__ __volatile__("yield");
#else
  std::this_thread::yield();
#endif
}
}  // namespace detail

/// The calling thread plus `size() - 1` persistent worker threads, for deterministic
/// fork-join work. An on-policy algorithm owns one, sized by its thread budget
/// (OnPolicyConfig::num_threads), and lends it to its VectorEnv (environment copies stepped in
/// parallel) and to its policy (actor and critic passes side by side); a VectorEnv built on its
/// own makes one of its own. Nothing else in pgrad starts threads.
///
/// Work is split statically (task t always gets the same share), so results never depend on
/// the number of threads. Threads are created once; a waiting thread spins for up to 1 ms and
/// then sleeps on a condition variable, so back-to-back hand-offs cost about a microsecond and
/// an idle pool does not burn its cores. Not copyable; one caller at a time.
class ThreadPool {
 public:
  explicit ThreadPool(int num_threads = 1) : num_threads_(num_threads) {
    PGRAD_REQUIRE(num_threads >= 1 && num_threads <= 1024, "ThreadPool: num_threads must be in [1, 1024], got ",
                  num_threads);
    errors_.resize(static_cast<std::size_t>(num_threads));
    workers_.reserve(static_cast<std::size_t>(num_threads - 1));
    for (int t = 1; t < num_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  }
  ~ThreadPool() {
    if (background_running_) wait();  // never leave a worker running on freed state
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }
  /// True between start() and join() with workers: run() and fork_join() must not be called.
  bool busy() const { return background_running_; }

  /// Calls task(t) for every t in [0, size()), t = 0 on the calling thread, and returns when all
  /// have finished. If any threw, rethrows the exception of the lowest t (the one a sequential
  /// loop over t would have met first).
  template <class Task>
  void run(Task& task) {
    PGRAD_REQUIRE(!background_running_, "ThreadPool::run: a background task is still running (join it first)");
    auto guarded = [&task, this](int t) {
      try {
        task(t);
      } catch (...) {
        errors_[static_cast<std::size_t>(t)] = std::current_exception();
      }
    };
    if (num_threads_ > 1) launch(guarded);
    guarded(0);
    if (num_threads_ > 1) wait();
    rethrow_first_error();
  }

  /// Runs first() on the calling thread and second() on worker 1 at the same time (one after the
  /// other with a single thread). Each function's arithmetic is the same either way, so results
  /// do not depend on the thread count. An exception from either reaches the caller (first's
  /// when both throw).
  template <class First, class Second>
  void fork_join(const First& first, const Second& second) {
    auto task = [&](int t) {
      if (t == 0)
        first();
      else if (t == 1)
        second();
    };
    if (num_threads_ == 1) {
      first();
      second();
      return;
    }
    run(task);
  }

  /// Starts work() on worker 1 and returns at once (with a single thread, runs it here); join()
  /// waits for it and rethrows its exception. `work` must stay alive until join(), and nothing
  /// else may use the pool in between.
  template <class Work>
  void start(Work& work) {
    PGRAD_REQUIRE(!background_running_, "ThreadPool::start: the previous background task was not joined");
    background_ = Background{&work, [](void* w) { (*static_cast<Work*>(w))(); }, nullptr};
    if (num_threads_ == 1) {
      background_(1);
      return;
    }
    launch(background_);
    background_running_ = true;
  }

  /// Waits for the task start() began (returns at once when there is none) and rethrows its
  /// exception.
  void join() {
    if (background_running_) {
      wait();
      background_running_ = false;
    }
    if (background_.error) std::rethrow_exception(std::exchange(background_.error, nullptr));
  }

 private:
  /// How long a waiting thread spins before it sleeps. Training alternates short phases: the
  /// actor and critic passes of one minibatch take tens of microseconds and collecting a
  /// CartPole rollout about half a millisecond, while waking a sleeping thread costs tens of
  /// microseconds (more on a virtual machine). A thread spins through such gaps and sleeps only
  /// when the caller is away longer (stepping MuJoCo environments, evaluating, logging). After
  /// the first pause_budget it yields its core on every turn, so that on a machine with more
  /// runnable threads than cores (several runs at once) the thread it waits for gets to run.
  static constexpr std::chrono::microseconds spin_budget{1000};
  static constexpr std::chrono::microseconds pause_budget{20};

  // The task start() hands to the workers: worker 1 calls the work, the others do nothing.
  struct Background {
    void* work = nullptr;
    void (*call)(void*) = nullptr;
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

  // Starts task(t) on every worker (t = 1 .. size() - 1); the task must not throw and must stay
  // alive until wait() returns.
  template <class Task>
  void launch(Task& task) {
    function_ = [](void* context, int t) { (*static_cast<Task*>(context))(t); };
    context_ = &task;
    pending_.store(num_threads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
  }

  void wait() {
    wait_until([this] { return pending_.load(std::memory_order_acquire) == 0; }, done_);
  }

  void rethrow_first_error() {
    for (auto& error : errors_) {
      if (!error) continue;
      std::exception_ptr first = error;
      for (auto& e : errors_) e = nullptr;
      std::rethrow_exception(first);
    }
  }

  // Spins (with the CPU's pause hint, then yielding) for up to spin_budget, then sleeps on `cv`
  // until `ready()`.
  template <class Ready>
  void wait_until(const Ready& ready, std::condition_variable& cv) {
    const auto start = std::chrono::steady_clock::now();
    bool yielding = false;
    for (int k = 1;; ++k) {
      if (ready()) return;
      if (yielding)
        std::this_thread::yield();
      else
        detail::cpu_relax();
      if (k % 64 == 0 || yielding) {
        const auto waited = std::chrono::steady_clock::now() - start;
        if (waited >= spin_budget) break;
        yielding = waited >= pause_budget;
      }
    }
    std::unique_lock<std::mutex> lock(mutex_);
    cv.wait(lock, ready);
  }

  void worker_loop(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      wait_until(
          [&] {
            return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
          },
          wake_);
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
  std::vector<std::thread> workers_;
  std::vector<std::exception_ptr> errors_;  // one slot per thread, for run()
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  void (*function_)(void*, int) = nullptr;
  void* context_ = nullptr;
  Background background_;
  bool background_running_ = false;
};

}  // namespace pgrad
