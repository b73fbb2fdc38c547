// Benchmark: environment steps per second of the MuJoCo tasks (Walker2d, Hopper, HalfCheetah)
// with uniform random actions in [-1, 1], resetting when an episode ends: one env stepped
// directly, then through VectorEnv (8 and 32 copies) with 1 and 2 worker threads.
// Reports steps per wall-clock second and per CPU second of the process (all its threads): on a
// machine shared with other work the second one is the steadier figure.
// Build in Release (-O3 -march=native) and run:
//   cmake --build build --target env_bench_mujoco && ./build/examples/env_bench_mujoco [seconds] [task]
// (task: walker2d, hopper, half_cheetah or all, the default).
#include <pgrad/envs/half_cheetah.hpp>
#include <pgrad/envs/hopper.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/walker2d.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double cpu_seconds_since(std::clock_t start) {
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

void print_row(const char* how, const char* envs, const char* threads, double steps, double wall,
               double cpu) {
  std::printf("%-22s %6s %8s %14.0f %16.0f\n", how, envs, threads, steps / wall, steps / cpu);
}

// Steps one env for about `budget` seconds.
template <class Env>
void bench_single_env(double budget, const std::vector<typename Env::Action>& actions) {
  Env env;
  pgrad::Rng rng(0);
  env.reset(rng);
  long steps = 0;
  const auto start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  double elapsed = 0;
  while (elapsed < budget) {
    for (int i = 0; i < 1000; ++i, ++steps) {
      const auto result = env.step(actions[static_cast<std::size_t>(steps) % actions.size()]);
      if (result.done()) env.reset(rng);
    }
    elapsed = seconds_since(start);
  }
  print_row("direct", "1", "-", static_cast<double>(steps), elapsed, cpu_seconds_since(cpu_start));
}

// Steps `num_envs` copies through VectorEnv on `num_threads` threads for about `budget` seconds.
template <class Env>
void bench_vector_env(double budget, pgrad::Index num_envs, int num_threads,
                      const std::vector<pgrad::Matrix<float>>& actions) {
  pgrad::envs::VectorEnv<Env> envs(num_envs, Env(), 0, num_threads);
  envs.set_parallel_stepping(pgrad::envs::ParallelStepping::always);
  envs.reset();
  long batches = 0;
  const auto start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  double elapsed = 0;
  while (elapsed < budget) {
    for (int i = 0; i < 100; ++i, ++batches)
      envs.step(actions[static_cast<std::size_t>(batches) % actions.size()]);
    elapsed = seconds_since(start);
  }
  const double steps = static_cast<double>(batches * num_envs);
  const std::string envs_text = std::to_string(num_envs), threads_text = std::to_string(num_threads);
  print_row("VectorEnv", envs_text.c_str(), threads_text.c_str(), steps, elapsed, cpu_seconds_since(cpu_start));
}

// All rows for one task.
template <class Env>
void bench(const char* title, double budget) {
  pgrad::Rng rng(1);
  const auto space = Env().action_space();
  std::vector<typename Env::Action> actions;
  for (int i = 0; i < 4096; ++i) actions.push_back(space.sample(rng));

  std::printf("\n%s, float observations, %.1f s per row\n", title, budget);
  std::printf("%-22s %6s %8s %14s %16s\n", "how", "envs", "threads", "steps/s (wall)", "steps/CPU-s");
  bench_single_env<Env>(budget, actions);
  for (pgrad::Index num_envs : {8, 32}) {
    std::vector<pgrad::Matrix<float>> batches;
    for (int b = 0; b < 64; ++b) {
      pgrad::Matrix<float> batch(space.size(), num_envs);
      for (pgrad::Index e = 0; e < num_envs; ++e) batch.col(e) = actions[static_cast<std::size_t>((b * num_envs + e) % 4096)];
      batches.push_back(batch);
    }
    for (int threads : {1, 2}) bench_vector_env<Env>(budget, num_envs, threads, batches);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::atof(argv[1]) : 3.0;
  const std::string task = argc > 2 ? argv[2] : "all";
  std::printf("MuJoCo %s\n", mj_versionString());
  if (task == "all" || task == "walker2d") bench<pgrad::envs::Walker2d<float>>("Walker2d-v4 (RK4, frame skip 4)", budget);
  if (task == "all" || task == "hopper") bench<pgrad::envs::Hopper<float>>("Hopper-v4 (RK4, frame skip 4)", budget);
  if (task == "all" || task == "half_cheetah")
    bench<pgrad::envs::HalfCheetah<float>>("HalfCheetah-v4 (Euler, frame skip 5)", budget);
  return 0;
}
