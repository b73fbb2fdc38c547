// Benchmark: PPO in float with 1 and 2 threads on three workloads: CartPole-v1 with CleanRL's
// defaults (PpoConfig{}: 4 envs x 128 steps, 4 minibatches, 4 epochs, 64-64 tanh), Pendulum-v1
// with pendulum_ppo() (4 x 1024 steps, minibatches of 256, 2 epochs, 64-64 ReLU) and Pendulum-v1
// with CleanRL's continuous settings (1 x 2048 steps, 32 minibatches of 64, 10 epochs). For each:
// environment steps per second (the best of two runs), the network FLOPs per step, and the share
// of the GEMM roof that run reached, the roof being small_gemm's rate on a hidden layer's forward
// product (64x64 by one minibatch, the best of five rounds) measured right before each training
// run, so that a change of the machine's clock between runs moves both alike.
// Then the first and third workloads in float and in double with one thread (issue 13: double
// within 2.3x of float).
//   ./build/examples/ppo_bench [steps per run, default 500000, CleanRL's budget]
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/nn/small_gemm.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

using Clock = std::chrono::steady_clock;
using pgrad::Index;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// small_gemm's GFLOP/s on C (64 x batch) = A (64 x 64) · B, the best of a few 20 ms rounds.
double gemm_roof(Index batch) {
  using Matrix = pgrad::Matrix<float>;
  const Matrix a = Matrix::Random(64, 64), b = Matrix::Random(64, batch);
  Matrix c(64, batch);
  const auto product = [&] {
    pgrad::nn::small_gemm<float>(64, batch, 64, a.data(), 64, b.data(), 64, pgrad::nn::GemmB::plain, c.data(), 64,
                                 pgrad::nn::GemmInit::zero);
  };
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    long calls = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      for (int i = 0; i < 64; ++i) product();
      calls += 64;
      elapsed = seconds_since(start);
    } while (elapsed < 0.02);
    best = std::max(best, 2.0 * 64 * 64 * static_cast<double>(batch) * static_cast<double>(calls) / elapsed * 1e-9);
  }
  return best;
}

/// Multiply-add FLOPs of one sample through an MLP: forward 2·Σ in·out; backward the weight
/// gradients of every layer and the input gradients of all but the first (the observations).
struct MlpFlops {
  double forward = 0, backward = 0;
};

MlpFlops mlp_flops(const pgrad::nn::Mlp<float>& net) {
  MlpFlops f;
  for (Index l = 0; l < net.num_layers(); ++l) {
    const double products = 2.0 * static_cast<double>(net.layer(l).input_size() * net.layer(l).output_size());
    f.forward += products;
    f.backward += l == 0 ? products : 2 * products;
  }
  return f;
}

/// One workload: `name`, its environment and PPO settings, run for `steps` with 1 and 2 threads,
/// twice each; prints the network FLOPs per step and, for the faster run of each thread count, its
/// steps/s and its share of the GEMM roof measured right before it (small_gemm's rate on a 64x64
/// hidden layer by one of its minibatches).
template <class Env>
void run_workload(const char* name, const pgrad::algo::PpoConfig& settings, long long steps) {
  std::printf("\n%s (%ld envs x %ld steps, %ld minibatches of %ld, %ld epochs), float, %lld steps per run\n", name,
              static_cast<long>(settings.num_envs), static_cast<long>(settings.num_steps),
              static_cast<long>(settings.num_minibatches), static_cast<long>(settings.minibatch_size()),
              static_cast<long>(settings.update_epochs), steps);
  // Per environment step: the rollout's forward of actor and critic (a batch of num_envs), then
  // update_epochs passes of forward and backward over every sample.
  double flops_per_step = 0;
  double rates[2] = {0, 0};  // the best of two runs for each thread count, alternating 1, 2, 1, 2
  double roofs[2] = {0, 0};  // the roof measured right before each of those runs
  double lowest_roof = 1e30, highest_roof = 0;
  for (int round = 0; round < 2; ++round)
    for (int threads : {1, 2}) {
      pgrad::algo::PpoConfig config = settings;
      config.num_threads = threads;
      pgrad::algo::Ppo<Env> ppo(Env{}, config, /*seed=*/1);
      if (flops_per_step == 0) {
        const MlpFlops actor = mlp_flops(ppo.policy().actor()), critic = mlp_flops(ppo.policy().critic());
        const double forward = actor.forward + critic.forward, backward = actor.backward + critic.backward;
        flops_per_step = forward + static_cast<double>(config.update_epochs) * (forward + backward);
      }
      const double roof = gemm_roof(settings.minibatch_size());
      lowest_roof = std::min(lowest_roof, roof);
      highest_roof = std::max(highest_roof, roof);
      const auto start = Clock::now();
      ppo.learn(steps);
      const double rate = static_cast<double>(ppo.run_steps()) / seconds_since(start);
      if (rate > rates[threads - 1]) rates[threads - 1] = rate, roofs[threads - 1] = roof;
    }
  std::printf("network FLOPs per environment step: %.0f\n", flops_per_step);
  std::printf("GEMM roof (small_gemm, 64x64 by %ld, float, one thread): %.1f to %.1f GFLOP/s before the runs\n",
              static_cast<long>(settings.minibatch_size()), lowest_roof, highest_roof);
  std::printf("%-8s %12s %12s %12s %16s\n", "threads", "steps/s", "GFLOP/s", "its roof", "share of roof");
  for (int threads : {1, 2}) {
    const double gflops = rates[threads - 1] * flops_per_step * 1e-9;
    std::printf("%-8d %12.0f %12.1f %12.1f %15.1f%%\n", threads, rates[threads - 1], gflops, roofs[threads - 1],
                100.0 * gflops / (roofs[threads - 1] * threads));  // the roof of as many cores as threads
  }
}

/// Steps/s of one workload in float and in double with one thread (alternating runs, the best of
/// two each, so that load on the machine slows both alike) and the ratio of their times.
template <template <class> class Env>
void compare_precisions(const char* name, const pgrad::algo::PpoConfig& settings, long long steps) {
  pgrad::algo::PpoConfig config = settings;
  config.num_threads = 1;
  const auto rate = [&](auto env) {
    pgrad::algo::Ppo<decltype(env)> ppo(env, config, /*seed=*/1);
    const auto start = Clock::now();
    ppo.learn(steps);
    return static_cast<double>(ppo.run_steps()) / seconds_since(start);
  };
  double float_rate = 0, double_rate = 0;
  for (int round = 0; round < 2; ++round) {
    float_rate = std::max(float_rate, rate(Env<float>{}));
    double_rate = std::max(double_rate, rate(Env<double>{}));
  }
  std::printf("%-60s %12.0f %12.0f %8.2f\n", name, float_rate, double_rate, float_rate / double_rate);
}

}  // namespace

int main(int argc, char** argv) {
  const long long steps = argc > 1 ? std::atoll(argv[1]) : 500000;
  if (steps <= 0) {
    std::fprintf(stderr, "usage: ppo_bench [steps per run > 0]\n");
    return 2;
  }
  run_workload<pgrad::envs::CartPole<float>>("CartPole-v1 PPO, CleanRL defaults", pgrad::algo::PpoConfig{}, steps);
  run_workload<pgrad::envs::Pendulum<float>>("Pendulum-v1 PPO, pendulum_ppo() (64-64 ReLU)",
                                             pgrad::algo::presets::pendulum_ppo(), steps);
  run_workload<pgrad::envs::Pendulum<float>>("Pendulum-v1 PPO, CleanRL's continuous settings (64-64 tanh)",
                                             pgrad::algo::PpoConfig::continuous_defaults(), steps);
  std::printf("\nfloat against double, one thread, %lld steps per run (d/f = double time / float time)\n", steps);
  std::printf("%-60s %12s %12s %8s\n", "workload", "float st/s", "double st/s", "d/f");
  compare_precisions<pgrad::envs::CartPole>("CartPole-v1 PPO, CleanRL defaults (64-64 tanh)", pgrad::algo::PpoConfig{},
                                            steps);
  compare_precisions<pgrad::envs::Pendulum>("Pendulum-v1 PPO, CleanRL's continuous settings (64-64 tanh)",
                                            pgrad::algo::PpoConfig::continuous_defaults(), steps);
  return 0;
}
