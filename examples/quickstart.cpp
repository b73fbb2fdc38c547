// The README's complete program: PPO on CartPole-v1, stopped once solved, then evaluated and saved.
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>

#include <cstdio>

int main() {
  using Env = pgrad::envs::CartPole<float>;
  pgrad::algo::PpoConfig config;  // CleanRL's ppo.py: 4 envs x 128 steps, lr 2.5e-4 annealed, ...
  config.num_threads = 2;         // the run's thread budget; results are the same for any value
  pgrad::algo::Ppo<Env> ppo(Env{}, config, /*seed=*/1);
  ppo.learn(500000, [](const pgrad::algo::UpdateReport& r) {
    if (r.iteration % 100 == 0) std::printf("%7lld steps  return %6.1f\n", r.steps, r.mean_return);
    return r.mean_return < 490;  // false stops training
  });
  const auto result = pgrad::evaluate_policy(ppo.policy(), Env{}, /*episodes=*/100, /*seed=*/1);
  std::printf("evaluation: %.1f +- %.1f\n", result.mean_return, result.std_return);
  pgrad::save_checkpoint(ppo, "cartpole.ckpt");  // resumes bit for bit with load_checkpoint
  return result.mean_return >= 475 ? 0 : 1;
}
