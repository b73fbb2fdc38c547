// Environment steps per second for CartPole-v1 and Pendulum-v1 through VectorEnv, with 1 and 2
// worker threads, plus a bare single-environment loop for reference.
//
//   cmake --build build -j2 --target env_bench && ./build/examples/env_bench [seconds, default 1]
//
// Actions are drawn in advance (a cycle of 64 batches) so that only stepping is timed; auto-resets
// are included. Each figure is the median and the best of 5 trials (the machine may be shared).
// Prints a Markdown table.
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/vector_env.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<pgrad::IndexRowVector> cartpole_actions(pgrad::Index n, pgrad::Rng& rng) {
  std::vector<pgrad::IndexRowVector> batches(64, pgrad::IndexRowVector(n));
  for (auto& b : batches)
    for (pgrad::Index i = 0; i < n; ++i) b[i] = static_cast<pgrad::Index>(rng.below(2));
  return batches;
}

std::vector<pgrad::Matrix<float>> pendulum_actions(pgrad::Index n, pgrad::Rng& rng) {
  std::vector<pgrad::Matrix<float>> batches(64, pgrad::Matrix<float>(1, n));
  for (auto& b : batches)
    for (pgrad::Index i = 0; i < n; ++i) b(0, i) = rng.uniform(-2.f, 2.f);
  return batches;
}

constexpr int trials = 5;

struct Rates {
  double median = 0, best = 0;
};

// Runs `trial(seconds)` (which returns a rate) `trials` times; the machine may be shared, so the
// median and the best trial are both reported.
template <class Trial>
Rates measure(const Trial& trial, double budget) {
  std::vector<double> rates;
  for (int k = 0; k < trials; ++k) rates.push_back(trial(budget / trials));
  std::sort(rates.begin(), rates.end());
  return {rates[trials / 2], rates.back()};
}

// Steps a VectorEnv; returns environment steps per second (median and best of the trials).
template <class Env, class Batches>
Rates vector_rate(const Env& prototype, pgrad::Index n, int threads, const Batches& batches, double budget) {
  pgrad::envs::VectorEnv<Env> venv(n, prototype, 1, threads);
  venv.set_parallel_stepping(pgrad::envs::ParallelStepping::always);  // measure the threads, whatever the cost
  venv.reset();
  for (int k = 0; k < 200; ++k) venv.step(batches[static_cast<std::size_t>(k) % batches.size()]);  // warm up
  return measure(
      [&](double seconds) {
        long steps = 0;
        const auto start = Clock::now();
        double elapsed = 0;
        do {
          for (int k = 0; k < 256; ++k) venv.step(batches[static_cast<std::size_t>(k) % batches.size()]);
          steps += 256;
          elapsed = seconds_since(start);
        } while (elapsed < seconds);
        return static_cast<double>(steps) * static_cast<double>(n) / elapsed;
      },
      budget);
}

// A single environment stepped in a plain loop (reset when an episode ends).
template <class Env, class Step>
Rates bare_rate(Env env, Step step, double budget) {
  pgrad::Rng rng(1);
  env.reset(rng);
  return measure(
      [&](double seconds) {
        long steps = 0;
        const auto start = Clock::now();
        double elapsed = 0;
        do {
          for (int k = 0; k < 4096; ++k)
            if (step(env, k).done()) env.reset(rng);
          steps += 4096;
          elapsed = seconds_since(start);
        } while (elapsed < seconds);
        return static_cast<double>(steps) / elapsed;
      },
      budget);
}

void row(const char* env, const std::string& setup, Rates rates) {
  std::printf("| %-9s | %-26s | %16.3g | %14.3g | %14.1f |\n", env, setup.c_str(), rates.median, rates.best,
              1e9 / rates.best);
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::atof(argv[1]) : 1.0;
  if (!(budget > 0)) {
    std::fprintf(stderr, "usage: %s [seconds per measurement > 0]\n", argv[0]);
    return 1;
  }
  std::printf("| env       | setup                      | steps/s (median) | steps/s (best) | ns/step (best) |\n");
  std::printf("|-----------|----------------------------|------------------|----------------|----------------|\n");

  pgrad::Rng rng(7);
  using CartPole = pgrad::envs::CartPole<float>;
  using Pendulum = pgrad::envs::Pendulum<float>;

  row("CartPole", "single env, plain loop",
      bare_rate(CartPole{}, [](CartPole& e, int k) { return e.step(k * 7 % 3 == 0 ? 0 : 1); }, budget));
  for (const pgrad::Index n : {8, 64}) {
    const auto batches = cartpole_actions(n, rng);
    for (const int threads : {1, 2})
      row("CartPole", "VectorEnv N=" + std::to_string(n) + ", " + std::to_string(threads) + " thread" + (threads > 1 ? "s" : ""),
          vector_rate(CartPole{}, n, threads, batches, budget));
  }

  row("Pendulum", "single env, plain loop",
      bare_rate(Pendulum{}, [](Pendulum& e, int k) { return e.step(Pendulum::Action::Constant(float(k % 5) - 2.f)); },
                budget));
  for (const pgrad::Index n : {8, 64}) {
    const auto batches = pendulum_actions(n, rng);
    for (const int threads : {1, 2})
      row("Pendulum", "VectorEnv N=" + std::to_string(n) + ", " + std::to_string(threads) + " thread" + (threads > 1 ? "s" : ""),
          vector_rate(Pendulum{}, n, threads, batches, budget));
  }
  return 0;
}
