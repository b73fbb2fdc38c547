#pragma once
// pgrad::ThreadPool: the threads of one training run, owned in one place and lent out.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include <pgrad/core/error.hpp>
#include <pgrad/core/file_io.hpp>

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
/// Work is split statically into shares (share t is always the same work), so results never
/// depend on the number of threads. Worker t runs share t if it claims it first; when the caller
/// has finished its own share it claims every share no worker has started and runs it itself, so
/// a worker that is slow to wake (asleep, or without a core on a machine running more threads
/// than it has cores) delays nothing but its own share. Threads are created once; a waiting
/// thread spins briefly (yielding its core after the first microseconds) and then sleeps on a
/// condition variable, so back-to-back hand-offs cost about a microsecond and an idle pool does
/// not burn its cores. Not copyable; one caller at a time.
class ThreadPool {
 public:
  explicit ThreadPool(int num_threads = 1)
      : num_threads_(num_threads), shares_(static_cast<std::size_t>(num_threads > 0 ? num_threads : 1)) {
    PGRAD_REQUIRE(num_threads >= 1 && num_threads <= 1024, "ThreadPool: num_threads must be in [1, 1024], got ",
                  num_threads);
    errors_.resize(static_cast<std::size_t>(num_threads));
    workers_.reserve(static_cast<std::size_t>(num_threads - 1));
    for (int t = 1; t < num_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  }
  ~ThreadPool() {
    if (background_running_) finish();  // never leave a worker running on freed state
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

  /// Calls task(t) for every share t in [0, size()), share 0 on the calling thread, and returns
  /// when all have finished. If any threw, rethrows the exception of the lowest t (the one a
  /// sequential loop over t would have met first).
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
    if (num_threads_ > 1) finish();
    rethrow_first_error();
  }

  /// Runs first() on the calling thread and second() beside it on worker 1 (one after the other
  /// with a single thread, or when worker 1 has not started it by the time first() is done).
  /// Each function's arithmetic is the same either way, so results do not depend on the thread
  /// count. An exception from either reaches the caller (first's when both throw).
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

  /// Offers work() to worker 1 and returns at once (with a single thread, runs it here); join()
  /// waits for it, runs it on the calling thread if no worker has started it, and rethrows its
  /// exception. `work` must stay alive until join(), and nothing else may use the pool in between.
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

  /// Waits for the task start() offered (runs it here if no worker took it; returns at once when
  /// there is none) and rethrows its exception.
  void join() {
    if (background_running_) {
      finish();
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
  static constexpr std::chrono::microseconds spin_budget{500};
  static constexpr std::chrono::microseconds pause_budget{20};

  // A share's state within launch g: g * 4 + unclaimed, running (on its worker) or finished.
  enum : std::uint64_t { unclaimed = 0, running = 1, finished = 2 };

  // The task start() offers: share 1 calls the work, the others do nothing.
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

  // Offers task(t) for t = 1 .. size() - 1 to the workers; the task must not throw and must stay
  // alive until finish() returns.
  template <class Task>
  void launch(Task& task) {
    function_ = [](void* context, int t) { (*static_cast<Task*>(context))(t); };
    context_ = &task;
    ++launches_;
    for (int t = 1; t < num_threads_; ++t) shares_[static_cast<std::size_t>(t)].store(launches_ * 4 + unclaimed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.store(launches_, std::memory_order_release);
    }
    wake_.notify_all();
  }

  // Runs on this thread every share of the last launch that no worker has claimed, then waits
  // for the shares workers are running.
  void finish() {
    for (int t = 1; t < num_threads_; ++t) {
      auto& share = shares_[static_cast<std::size_t>(t)];
      std::uint64_t expected = launches_ * 4 + unclaimed;
      if (share.compare_exchange_strong(expected, launches_ * 4 + finished, std::memory_order_acq_rel)) {
        function_(context_, t);
        continue;
      }
      wait_until([&] { return share.load(std::memory_order_acquire) == launches_ * 4 + finished; }, done_);
    }
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
    auto& share = shares_[static_cast<std::size_t>(t)];
    std::uint64_t seen = 0;
    for (;;) {
      wait_until(
          [&] {
            return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
          },
          wake_);
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      std::uint64_t expected = seen * 4 + unclaimed;
      // Fails when the caller took the share first, or a newer launch replaced it.
      if (!share.compare_exchange_strong(expected, seen * 4 + running, std::memory_order_acq_rel)) continue;
      function_(context_, t);
      share.store(seen * 4 + finished, std::memory_order_release);
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_all();
    }
  }

  int num_threads_;
  std::vector<std::thread> workers_;
  std::vector<std::atomic<std::uint64_t>> shares_;  // [t]: share t's state in the current launch
  std::vector<std::exception_ptr> errors_;          // one slot per share, for run()
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::uint64_t launches_ = 0;  // the caller's count of launches
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  void (*function_)(void*, int) = nullptr;
  void* context_ = nullptr;
  Background background_;
  bool background_running_ = false;
};

namespace detail {
/// The CPU quota of cgroup v2 file cpu.max ("<quota> <period>", or "max <period>": none) in
/// CPUs, rounded up; 0 when there is none or the file cannot be read.
inline int cgroup_cpu_quota(const std::string& cpu_max_path) {
  try {
    const std::string text = read_file(cpu_max_path, 256, "cgroup");
    if (text.compare(0, 3, "max") == 0) return 0;
    char* end = nullptr;
    const double quota = std::strtod(text.c_str(), &end);
    const double period = std::strtod(end, nullptr);
    if (!(quota > 0 && period > 0)) return 0;
    return static_cast<int>(std::min(1024.0, std::ceil(quota / period)));
  } catch (const Error&) {
    return 0;
  }
}
}  // namespace detail

/// How many CPUs this process may use: the CPUs of its affinity mask (sched_getaffinity on
/// Linux, which taskset, cpusets and container CPU sets restrict), lowered to the CPU quota of
/// its cgroup v2 and its ancestors (cpu.max, rounded up) when one is set;
/// std::thread::hardware_concurrency() where the mask cannot be read. At least 1. The examples'
/// default thread budget is min(2, usable_cpus()). Cost: a system call and a few small file reads.
inline int usable_cpus() {
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__) && defined(CPU_COUNT)
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (::sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = CPU_COUNT(&mask);
  try {
    // "0::/path" names the process's cgroup v2; every ancestor's quota applies too.
    const std::string groups = read_file("/proc/self/cgroup", 1 << 16, "cgroup");
    const std::size_t line = groups.rfind("0::/");
    if (line != std::string::npos && (line == 0 || groups[line - 1] == '\n')) {
      std::string path = groups.substr(line + 3, groups.find('\n', line) - line - 3);
      for (;;) {
        const int quota = detail::cgroup_cpu_quota("/sys/fs/cgroup" + (path == "/" ? "" : path) + "/cpu.max");
        if (quota > 0) cpus = std::min(cpus, quota);
        if (path == "/" || path.empty()) break;
        path = path.substr(0, std::max<std::size_t>(path.rfind('/'), 1));
      }
    }
  } catch (const Error&) {
  }
#endif
  return std::max(cpus, 1);
}

}  // namespace pgrad
