// The tuned presets: every one is a valid configuration an algorithm accepts, the MuJoCo PPO
// presets carry the published values they cite, and the examples' lookup by name refuses
// unknown names (listing the valid ones) and presets tuned for another task. No training here:
// the presets' learning results come from examples/benchmarks/learning_bench (docs/learning.md).
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/pendulum.hpp>

#include "error_message.hpp"

using Catch::Matchers::Contains;
namespace presets = pgrad::algo::presets;
using Pendulum = pgrad::envs::Pendulum<float>;

namespace {
/// Every hyperparameter of a config as named numbers (what a checkpoint records).
template <class Config>
std::map<std::string, double> numbers(const Config& config) {
  std::map<std::string, double> out;
  config.visit(
      pgrad::algo::detail::number_visitor([&out](const std::string& name, double value) { out[name] = value; }));
  return out;
}
}  // namespace

TEST_CASE("Every preset validates", "[presets]") {
  CHECK_NOTHROW(presets::cartpole_ppo_fast().validate());
  CHECK_NOTHROW(presets::cartpole_ppo_gru().validate());
  CHECK_NOTHROW(presets::pendulum_ppo().validate());
  CHECK_NOTHROW(presets::walker2d_ppo_rlzoo().validate());
  CHECK_NOTHROW(presets::mujoco_ppo_details37().validate());
  CHECK_NOTHROW(presets::cartpole_reinforce().validate());
  CHECK_NOTHROW(presets::cartpole_reinforce_datacamp().validate());
  CHECK_NOTHROW(presets::cartpole_reinforce_article().validate());
  CHECK_NOTHROW(presets::cartpole_trpo().validate());
  CHECK_NOTHROW(presets::pendulum_trpo().validate());
  CHECK_NOTHROW(presets::mujoco_trpo().validate());
}

TEST_CASE("The MuJoCo PPO presets are named once each, validate and build a Gaussian PPO", "[presets]") {
  std::set<std::string> names;
  for (const auto& preset : presets::mujoco_ppo_presets()) {
    INFO(preset.name);
    CHECK(names.insert(preset.name).second);
    CHECK(std::string(preset.summary).size() > 10);
    const pgrad::algo::PpoConfig config = preset.make();
    CHECK_NOTHROW(config.validate());
    CHECK_NOTHROW(pgrad::algo::Ppo<Pendulum>(Pendulum{}, config, 1));
    CHECK(numbers(presets::mujoco_ppo_preset(preset.name, preset.task ? preset.task : "hopper")) == numbers(config));
  }
  CHECK(names == std::set<std::string>{"rlzoo", "details37"});
  CHECK(presets::mujoco_ppo_preset_names() == "rlzoo, details37");
}

TEST_CASE("RL-Zoo's Walker2d PPO carries its published values, SB3's batch_size as a minibatch size",
          "[presets]") {
  const auto config = presets::walker2d_ppo_rlzoo();
  CHECK(config.num_envs == 1);
  CHECK(config.num_steps == 512);
  CHECK(config.minibatch_size() == 32);
  CHECK(config.update_epochs == 20);
  CHECK(config.gamma == 0.99);
  CHECK(config.gae_lambda == 0.95);
  CHECK(config.learning_rate(0.0) == 5.05041e-05);
  CHECK(config.learning_rate(0.99) == 5.05041e-05);  // constant, not annealed
  CHECK(config.clip_coef(0.99) == 0.1);
  CHECK_FALSE(config.clip_value_loss);
  CHECK(config.ent_coef(0.5) == 0.000585045);
  CHECK(config.vf_coef == 2 * 0.871923);  // SB3's value loss has no ½
  CHECK(config.max_grad_norm == 1.0);
  // No policy_kwargs in the entry: SB3's default MlpPolicy, which is pgrad's default policy.
  const pgrad::PolicyConfig policy;
  CHECK(config.policy.actor_hidden == policy.actor_hidden);
  CHECK(config.policy.critic_hidden == policy.critic_hidden);
  CHECK(config.policy.shared_hidden.empty());
  CHECK(config.policy.activation == pgrad::nn::Activation::tanh);
  CHECK(config.policy.init == pgrad::PolicyInit::orthogonal);
  CHECK(config.policy.initial_log_std == 0.0);
  CHECK(config.adam_eps == 1e-5);
}

TEST_CASE("The 37 details' MuJoCo PPO is CleanRL's continuous defaults on one copy; PpoConfig{} stays CleanRL's ppo.py",
          "[presets]") {
  const auto config = presets::mujoco_ppo_details37();
  CHECK(numbers(config) == numbers(pgrad::algo::PpoConfig::continuous_defaults()));
  CHECK(config.num_envs == 1);
  CHECK(config.num_steps == 2048);
  CHECK(config.minibatch_size() == 64);
  CHECK(config.update_epochs == 10);
  CHECK(config.learning_rate(0.0) == Approx(3e-4));
  CHECK(config.learning_rate(1.0) == 0.0);
  CHECK(config.clip_coef(0.5) == 0.2);
  CHECK(config.clip_value_loss);
  CHECK(config.ent_coef(0.0) == 0.0);
  CHECK(config.max_grad_norm == 0.5);

  const pgrad::algo::PpoConfig defaults;
  CHECK(defaults.num_envs == 4);
  CHECK(defaults.num_steps == 128);
  CHECK(defaults.num_minibatches == 4);
  CHECK(defaults.learning_rate(0.0) == Approx(2.5e-4));
  CHECK(defaults.ent_coef(0.0) == 0.01);
}

TEST_CASE("The presets' lookup by name refuses unknown names, listing the valid ones, and other tasks' presets",
          "[presets][errors]") {
  CHECK(presets::mujoco_ppo_preset("rlzoo", "walker2d").num_steps == 512);
  CHECK(presets::mujoco_ppo_preset("details37", "half_cheetah").num_steps == 2048);
  CHECK_THAT(error_of([] { presets::mujoco_ppo_preset("fast", "walker2d"); }),
             Contains("unknown PPO preset 'fast': the valid names are rlzoo, details37"));
  CHECK_THAT(error_of([] { presets::mujoco_ppo_preset("", "walker2d"); }), Contains("the valid names are"));
  CHECK_THAT(error_of([] { presets::mujoco_ppo_preset("rlzoo", "hopper"); }),
             Contains("PPO preset 'rlzoo' is tuned for walker2d, not for hopper"));
}
