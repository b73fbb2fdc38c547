#pragma once
// Tuned hyperparameters for the bundled environments (used by the examples and learning tests).
#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/error.hpp>

#include <string>
#include <vector>

namespace pgrad::algo::presets {

/// RL-Zoo's tuned CartPole PPO (rl-baselines3-zoo hyperparams/ppo.yml, CartPole-v1): 8 envs x 32
/// steps, 20 epochs of one 256-sample minibatch, γ 0.98, λ 0.8, lr 1e-3 and clip range 0.2 both
/// annealed linearly to 0, no entropy bonus. Solves CartPole-v1 within 150k steps.
inline PpoConfig cartpole_ppo_fast() {
  PpoConfig config;
  config.num_envs = 8;
  config.num_steps = 32;
  config.num_minibatches = 1;
  config.update_epochs = 20;
  config.gamma = 0.98;
  config.gae_lambda = 0.8;
  config.learning_rate = Schedule::linear(1e-3, 0.0);
  config.clip_coef = Schedule::linear(0.2, 0.0);
  config.ent_coef = 0.0;
  return config;
}

/// Recurrent PPO for CartPole-v1, also with its velocities hidden (hide_cartpole_velocity):
/// cartpole_ppo_fast's settings (sb3-contrib's RL-Zoo RecurrentPPO for CartPoleNoVel uses the
/// same) with a RecurrentActorCritic: no encoder, a GRU of `recurrent_size` feeding 64-unit
/// actor and critic heads; minibatches are whole environment sequences of 32 steps. Solves
/// CartPole without velocities within 250k steps (seeds 1-6).
inline PpoConfig cartpole_ppo_gru(Index recurrent_size = 32) {
  PpoConfig config = cartpole_ppo_fast();
  config.policy.shared_hidden = {};
  config.policy.recurrent_size = recurrent_size;
  config.policy.actor_hidden = {64};
  config.policy.critic_hidden = {64};
  return config;
}

/// The tutorial's REINFORCE with lr 0.005 instead of 0.01, which collapses to a one-action
/// policy on some seeds (2 of seeds 1-6 measured here).
inline ReinforceConfig cartpole_reinforce() {
  ReinforceConfig config;
  config.learning_rate = 0.005;
  return config;
}

/// DataCamp's REINFORCE tutorial on CartPole-v1, as published: Linear(4, 128) → Dropout(0.5) →
/// ReLU → Linear(128, 2) → softmax with PyTorch's default initialisation, the policy in
/// training mode while acting (the update goes through the masks drawn then), Adam lr 0.01,
/// γ 0.99, returns normalised by their mean and unbiased std (no ε), the loss summed over the
/// episode, one update per episode. Its stopping rule (mean of the last 25 episodes ≥ 475, at most
/// 500 episodes) is the caller's: stop_at_return(475, 1, 25) and stop_after_episodes(500).
inline ReinforceConfig cartpole_reinforce_datacamp() {
  ReinforceConfig config;
  config.policy.init = PolicyInit::pytorch_default;
  config.policy.dropout = 0.5;
  config.replay_dropout_masks = true;
  config.normalize_eps = 0.0;
  return config;
}

/// The PyTorch article's REINFORCE on CartPole-v1: Linear(4, 128) → ReLU → Linear(128, 2) →
/// softmax with PyTorch's default initialisation, Adam lr 0.01, γ 0.99, returns normalised with
/// std + 1e-9, the loss summed over the episode, one update per episode, 1000 episodes (the
/// caller's stop_after_episodes(1000)).
inline ReinforceConfig cartpole_reinforce_article() {
  ReinforceConfig config;
  config.policy.init = PolicyInit::pytorch_default;
  config.normalize_eps = 1e-9;
  return config;
}

/// PPO for Pendulum-v1: 4 envs x 1024 steps, minibatches of 256, 2 epochs, 64-64 ReLU actor and
/// critic, γ 0.9 (the reward is immediate), λ 0.95, lr 1e-3 annealed, no entropy bonus, no value
/// clipping (values are in the hundreds, far beyond a ±0.2 clip). About -200 after 307k steps.
inline PpoConfig pendulum_ppo() {
  PpoConfig config = PpoConfig::continuous_defaults();
  config.num_envs = 4;
  config.num_steps = 1024;
  config.num_minibatches = 16;
  config.update_epochs = 2;
  config.learning_rate = Schedule::linear(1e-3, 0.0);
  config.gamma = 0.9;
  config.gae_lambda = 0.95;
  config.clip_value_loss = false;
  config.policy.activation = nn::Activation::relu;
  return config;
}

/// RL-Zoo's tuned CartPole TRPO (rl-baselines3-zoo hyperparams/trpo.yml, CartPole-v1): 2 envs x
/// 512 steps, critic minibatches of 512 for 20 epochs at lr 1e-3, conjugate-gradient damping
/// 1e-3, γ 0.99, λ 0.98. RL-Zoo trains it for 100k steps; here it solves CartPole-v1 (a
/// deterministic evaluation mean >= 475) on seeds 1-6 within 200k.
inline TrpoConfig cartpole_trpo() {
  TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 512;
  config.critic_minibatch_size = 512;
  config.critic_epochs = 20;
  config.cg_damping = 1e-3;
  config.gamma = 0.99;
  config.gae_lambda = 0.98;
  config.learning_rate = 1e-3;
  return config;
}

/// Recurrent TRPO for CartPole-v1, also with its velocities hidden (hide_cartpole_velocity):
/// cartpole_trpo's trust region, damping and critic (20 epochs of Adam at lr 1e-3) on 16 envs x
/// 64 steps (critic minibatches of 4 whole sequences), γ 0.98 and λ 0.8 (cartpole_ppo_fast's),
/// with a RecurrentActorCritic of cartpole_ppo_gru's shape (no encoder, a GRU of
/// `recurrent_size`, 64-unit heads), actor and critic each with its own GRU (the critic's trained
/// by its Adam, the actor's by the natural-gradient step). Without velocities 4 of seeds 1-6
/// reach an evaluation of 500 within 300k steps (stopping once the last 100 episodes average 475).
inline TrpoConfig cartpole_trpo_gru(Index recurrent_size = 32) {
  TrpoConfig config = cartpole_trpo();
  config.num_envs = 16;
  config.num_steps = 64;
  config.critic_minibatch_size = 256;
  config.gamma = 0.98;
  config.gae_lambda = 0.8;
  config.policy = cartpole_ppo_gru(recurrent_size).policy;
  config.policy.recurrent_shared = false;
  return config;
}

/// A2C with a GRU policy for CartPole-v1 (velocities visible): SB3's A2C (8 envs x 5 steps,
/// RMSprop, n-step returns) at lr 2e-3 instead of 7e-4 and an entropy bonus of 0.005 (SB3: 0),
/// with cartpole_ppo_gru's policy; each update's 5-step sequences start from the states the
/// rollout carried. Stopped once the last 100 episodes average 475, 4 to 6 of seeds 1-6 evaluate
/// at 475 or more within 300k steps on AVX-512 and AVX2 builds (without the bonus some seeds
/// collapsed to one action: 2 of 6 on AVX2). Without velocities it does not learn.
inline A2cConfig cartpole_a2c_gru(Index recurrent_size = 32) {
  A2cConfig config;
  config.learning_rate = 2e-3;
  config.ent_coef = 0.005;  // without it the policy collapsed to one action on some seeds
  config.policy = cartpole_ppo_gru(recurrent_size).policy;
  return config;
}

/// TRPO for Pendulum-v1: RL-Zoo's 2 envs x 1024 steps, γ 0.9 and 15 critic epochs (RL-Zoo adds
/// gSDE exploration, which pgrad does not have), with pendulum_ppo()'s 64-64 ReLU networks.
inline TrpoConfig pendulum_trpo() {
  TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 1024;
  config.gamma = 0.9;
  config.critic_epochs = 15;
  config.policy.activation = nn::Activation::relu;
  return config;
}

/// RL-Zoo's TRPO for the MuJoCo tasks (Walker2d-v4, Hopper-v4, Ant-v4: the pybullet defaults):
/// 2 envs x 1024 steps, critic minibatches of 128 for 20 epochs at lr 1e-3, conjugate gradient of
/// 25 steps with damping 0.1, γ 0.99, λ 0.95; RL-Zoo normalises observations and rewards.
inline TrpoConfig mujoco_trpo() {
  TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 1024;
  config.critic_minibatch_size = 128;
  config.critic_epochs = 20;
  config.cg_max_steps = 25;
  config.cg_damping = 0.1;
  config.learning_rate = 1e-3;
  return config;
}

/// RL-Zoo's tuned PPO for Walker2d (rl-baselines3-zoo hyperparams/ppo.yml, entry Walker2d-v4,
/// under "Tuned"; issue 14 quotes RL-Zoo's result as 3479 at 1M steps, one run), mapped to pgrad:
///   n_envs 1, n_steps 512              → num_envs 1, num_steps 512
///   batch_size 32 (an SB3 minibatch)   → num_minibatches = 1 * 512 / 32 = 16
///   n_epochs 20, gamma 0.99, gae_lambda 0.95, ent_coef 0.000585045, max_grad_norm 1 → the same fields
///   learning_rate 5.05041e-05, clip_range 0.1: constants (RL-Zoo anneals neither)
///   vf_coef 0.871923                   → 1.743846: SB3's value loss is mean((R - V)²), pgrad's
///                                         (CleanRL's) ½·mean(...), so the coefficient doubles
///   clip_range_vf None (SB3's default) → clip_value_loss = false
///   normalize: true (VecNormalize: observations and rewards, clip 10) → the examples' wrappers
/// The entry sets no policy_kwargs, so the policy is SB3's default MlpPolicy, which is pgrad's
/// default PolicyConfig: separate 64-64 tanh actor and critic, orthogonal init (gains √2, 0.01,
/// 1), state-independent log-std starting at 0; Adam ε 1e-5 (SB3's PPO) as PpoConfig's. SB3
/// normalises advantages per minibatch, as pgrad does. (RL-Zoo's 256-256 ReLU networks with
/// log_std_init -2 and ortho_init False belong to its Hopper-v4 and HalfCheetah-v4 entries, not
/// to Walker2d-v4's.) No setting lacks a pgrad equivalent.
/// Measured at 1M steps, seeds 1-3 (learning_bench --env walker2d --algo ppo --seeds 1,2,3
/// --steps 1000000 --jobs 1 --preset rlzoo; 2-core AMD EPYC VM, AVX-512, GCC 12, Release):
/// evaluation 4048 / 3367 / 4045 = 3820 ± 392 (training, last 100 episodes: 3086 ± 300), against
/// 4249 ± 1227 for the examples' default; about 2 minutes per run. Seeds 4-6 give 2283 / 3256 /
/// 1723 (the default 4805 / 3251 / 3778): over seeds 1-6, 3120 ± 943 against the default's
/// 4097 ± 938, so it meets the goal on seeds 1-3 without being better in general. Its training
/// return varies little (3050 ± 281 over seeds 1-6) and is still rising at 1M steps; annealing
/// its learning rate from 1e-4 instead made it collapse on 2 of seeds 1-3 (docs/learning.md).
inline PpoConfig walker2d_ppo_rlzoo() {
  PpoConfig config;
  config.num_envs = 1;
  config.num_steps = 512;
  config.num_minibatches = 16;
  config.update_epochs = 20;
  config.gamma = 0.99;
  config.gae_lambda = 0.95;
  config.learning_rate = 5.05041e-05;
  config.clip_coef = 0.1;
  config.clip_value_loss = false;
  config.ent_coef = 0.000585045;
  config.vf_coef = 2 * 0.871923;
  config.max_grad_norm = 1.0;
  return config;
}

/// The MuJoCo settings of "The 37 Implementation Details of Proximal Policy Optimization"
/// (Huang et al., ICLR 2022 blog track; its reference code is CleanRL's ppo_continuous_action.py),
/// exactly: 1 env x 2048 steps, 32 minibatches (of 64), 10 epochs, Adam lr 3e-4 (ε 1e-5) annealed
/// linearly to 0, γ 0.99, GAE λ 0.95, per-minibatch advantage normalisation, clip 0.2 on the
/// ratio and on the value, no entropy bonus, vf_coef 0.5, global gradient clip 0.5, separate
/// 64-64 tanh networks with orthogonal init, a state-independent log-std starting at 0 (with
/// observation and reward normalisation clipped at ±10: the examples' wrappers). That is
/// PpoConfig::continuous_defaults(); the MuJoCo examples' default differs only in collecting the
/// same 2048 samples as 2 copies x 1024 steps. Measured on Walker2d at 1M steps, seeds 1-3
/// (learning_bench --env walker2d --algo ppo --seeds 1,2,3 --steps 1000000 --jobs 1 --preset
/// details37; 2-core AMD EPYC VM, AVX-512, GCC 12, Release): evaluation 1909 / 5232 / 5145 =
/// 4096 ± 1894 (training, last 100 episodes: 3066 ± 1348); seeds 4-6 give 3757 / 2393 / 4721,
/// so 3860 ± 1431 over seeds 1-6 against the default's 4097 ± 938 (docs/learning.md).
inline PpoConfig mujoco_ppo_details37() { return PpoConfig::continuous_defaults(); }

/// A PPO preset the MuJoCo examples select by name (`--preset NAME`).
struct NamedPpoPreset {
  const char* name;     ///< what --preset takes
  const char* task;     ///< the one task it was tuned for (an example's --env name), or nullptr: any task
  const char* summary;  ///< one line for --help
  PpoConfig (*make)();  ///< builds the configuration
};

/// The MuJoCo examples' PPO presets, in --help order.
inline const std::vector<NamedPpoPreset>& mujoco_ppo_presets() {
  static const std::vector<NamedPpoPreset> presets = {
      {"rlzoo", "walker2d", "RL-Zoo's tuned Walker2d-v4 PPO (1 env x 512 steps, 20 epochs of 16 minibatches)",
       walker2d_ppo_rlzoo},
      {"details37", nullptr, "the 37 implementation details' MuJoCo PPO (CleanRL's, 1 env x 2048 steps)",
       mujoco_ppo_details37},
  };
  return presets;
}

/// The names mujoco_ppo_presets() offers, comma-separated ("rlzoo, details37").
inline std::string mujoco_ppo_preset_names() {
  std::string names;
  for (const auto& preset : mujoco_ppo_presets()) names += (names.empty() ? "" : ", ") + std::string(preset.name);
  return names;
}

/// The configuration of the preset called `name` for `task` (an example's --env name: walker2d,
/// hopper, half_cheetah). Throws pgrad::Error listing the valid names for an unknown name, and
/// naming its task for a preset tuned for another one.
inline PpoConfig mujoco_ppo_preset(const std::string& name, const std::string& task) {
  for (const auto& preset : mujoco_ppo_presets()) {
    if (name != preset.name) continue;
    PGRAD_REQUIRE(preset.task == nullptr || task == preset.task, "PPO preset '", name, "' is tuned for ",
                  preset.task, ", not for ", task);
    return preset.make();
  }
  pgrad::detail::fail("unknown PPO preset '", name, "': the valid names are ", mujoco_ppo_preset_names());
}

}  // namespace pgrad::algo::presets
