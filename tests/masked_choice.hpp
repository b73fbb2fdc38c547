#pragma once
// MaskedChoice: a ten-step environment with action masks (the optional member action_mask()), and
// the algorithms trained on it, shared by the action-mask unit tests and their learning test.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>

namespace pgrad_test {

using pgrad::Index;

/// Ten steps of a choice among four actions paying 0.1, 1, 0.2 and 10. Action 3 is always
/// forbidden and action 1 on odd steps: the best allowed return is 5·1 + 5·0.2 = 6. Taking a
/// forbidden action throws, so a run that completes never took one.
struct MaskedChoice {
  using Scalar = float;
  using Observation = Eigen::Vector2f;
  using Action = Index;
  static constexpr const char* state_section = "MaskedChoice";

  Index t = 0;
  Index mask_size = 4;  // another size: a broken environment
  bool forbid_all_at_3 = false;
  Eigen::Array<bool, Eigen::Dynamic, 1> mask = Eigen::Array<bool, Eigen::Dynamic, 1>::Constant(4, true);

  pgrad::envs::Box<float> observation_space() const { return pgrad::envs::Box<float>::uniform(2, 0.0f, 1.0f); }
  pgrad::envs::Discrete action_space() const { return pgrad::envs::Discrete(4); }
  Observation observation() const { return Observation(static_cast<float>(t % 2), static_cast<float>(t) / 10.0f); }
  void update_mask() {
    mask.setConstant(mask_size, true);
    if (mask_size == 4) {
      mask[3] = false;
      if (t % 2 == 1) mask[1] = false;
    }
    if (forbid_all_at_3 && t == 3) mask.setConstant(false);
  }
  const Eigen::Array<bool, Eigen::Dynamic, 1>& action_mask() const { return mask; }
  Observation reset(pgrad::Rng& rng) {
    static_cast<void>(rng.uniform());
    t = 0;
    update_mask();
    return observation();
  }
  pgrad::envs::StepResult<Observation> step(const Action& action) {
    PGRAD_REQUIRE(mask[action], "MaskedChoice: forbidden action ", action, " at step ", t);
    const float rewards[4] = {0.1f, 1.0f, 0.2f, 10.0f};
    ++t;
    update_mask();
    pgrad::envs::StepResult<Observation> result;
    result.observation = observation();
    result.reward = rewards[action];
    result.terminated = t == 10;
    return result;
  }
  void save_state(pgrad::Writer& w) const {
    w.section(state_section);
    w.i64(t);
  }
  void load_state(pgrad::Reader& r) {
    r.section(state_section);
    t = static_cast<Index>(r.i64_in("MaskedChoice step", 0, 9));
    update_mask();
  }
};
static_assert(pgrad::envs::has_action_mask_v<MaskedChoice>);
static_assert(pgrad::envs::has_action_mask_v<pgrad::envs::TimeLimit<MaskedChoice>>);  // wrappers forward it

/// The configuration `config` on 4 copies of 20 steps each (80 steps per update).
template <class Config>
Config small(Config config) {
  config.num_envs = 4;
  config.num_steps = 20;
  return config;
}

/// Runs check(algorithm) on PPO, A2C and TRPO with feed-forward policies on MaskedChoice, each
/// in its own Catch2 SECTION.
template <class Check>
void for_each_feed_forward_algorithm(const Check& check) {
  namespace algo = pgrad::algo;
  SECTION("PPO") {
    algo::Ppo<MaskedChoice> ppo(MaskedChoice{}, small(algo::PpoConfig{}), 1);
    check(ppo);
  }
  SECTION("A2C") {
    auto config = small(algo::A2cConfig{});
    config.num_steps = 5;
    algo::A2c<MaskedChoice> a2c(MaskedChoice{}, config, 1);
    check(a2c);
  }
  SECTION("TRPO") {
    auto config = small(algo::TrpoConfig{});
    config.critic_minibatch_size = 40;
    algo::Trpo<MaskedChoice> trpo(MaskedChoice{}, config, 1);
    check(trpo);
  }
}

/// Runs check(algorithm) on PPO and TRPO with GRU policies (16 units, 32-unit heads) on
/// MaskedChoice, each in its own Catch2 SECTION.
template <class Check>
void for_each_recurrent_algorithm(const Check& check) {
  namespace algo = pgrad::algo;
  using Recurrent = pgrad::RecurrentPolicyFor<MaskedChoice>;
  const auto recurrent = [](auto config) {
    config.policy.recurrent_size = 16;
    config.policy.actor_hidden = {32};
    config.policy.critic_hidden = {32};
    return config;
  };
  SECTION("PPO") {
    algo::Ppo<MaskedChoice, Recurrent> ppo(MaskedChoice{}, recurrent(small(algo::PpoConfig{})), 1);
    check(ppo);
  }
  SECTION("TRPO") {
    auto config = recurrent(small(algo::TrpoConfig{}));
    config.critic_minibatch_size = 40;
    algo::Trpo<MaskedChoice, Recurrent> trpo(MaskedChoice{}, config, 1);
    check(trpo);
  }
}

}  // namespace pgrad_test
