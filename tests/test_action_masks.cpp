// Invalid-action masks from the environment (the optional member action_mask()): VectorEnv reads
// and checks them, the collector samples with them and stores them, PPO, A2C and TRPO recompute
// log-probabilities and entropies with them, evaluate_policy and check_env honour them, and
// checkpoints resume exactly.
#include <catch2/catch.hpp>

#include "error_message.hpp"

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/sequence_minibatch.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

using pgrad::Index;

// Ten steps of a choice among four actions paying 0.1, 1, 0.2 and 10. Action 3 is always
// forbidden and action 1 on odd steps: the best allowed return is 5·1 + 5·0.2 = 6. Taking a
// forbidden action throws, so a run that completes never took one.
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

template <class Config>
Config small(Config config) {
  config.num_envs = 4;
  config.num_steps = 20;
  return config;
}

}  // namespace

TEST_CASE("VectorEnv reads, checks and enforces the copies' action masks", "[action_masks]") {
  pgrad::ThreadPool workers(1);
  pgrad::RandomStreams streams(1);
  pgrad::envs::VectorEnv<MaskedChoice> env(2, MaskedChoice{}, streams, workers);
  env.reset();
  REQUIRE(env.action_masks().rows() == 4);
  REQUIRE(env.action_masks().cols() == 2);
  const auto flags = [&](Index copy) {
    std::vector<int> out;
    for (Index a = 0; a < 4; ++a) out.push_back(env.action_masks()(a, copy) ? 1 : 0);
    return out;
  };
  CHECK(flags(0) == std::vector<int>{1, 1, 1, 0});
  env.step(pgrad::IndexRowVector::Constant(2, 1));
  CHECK(flags(1) == std::vector<int>{1, 0, 1, 0});  // odd step
  CHECK(error_of([&] { env.step(pgrad::IndexRowVector::Constant(2, 1)); }).find("forbidden by its action mask") !=
        std::string::npos);

  MaskedChoice wrong_size;
  wrong_size.mask_size = 3;
  pgrad::envs::VectorEnv<MaskedChoice> broken(1, wrong_size, streams, workers, 2);
  CHECK(error_of([&] { broken.reset(); }).find("action mask of 3 flags for 4 actions") != std::string::npos);
}

TEST_CASE("check_env draws allowed actions and rejects bad masks", "[action_masks]") {
  CHECK_NOTHROW(pgrad::envs::check_env(MaskedChoice{}, 1, {200, false}));
  MaskedChoice none;
  none.forbid_all_at_3 = true;
  CHECK(error_of([&] { pgrad::envs::check_env(none, 1, {200, false}); }).find("forbids every action") !=
        std::string::npos);
}

TEST_CASE("PPO, A2C and TRPO never take a forbidden action and learn the best allowed one", "[action_masks]") {
  namespace algo = pgrad::algo;
  const auto check = [](auto& algorithm) {
    algorithm.learn(30000);  // a forbidden action would throw here
    // One more rollout with the trained policy: recomputed with the stored masks (as the update
    // does), its log-probabilities are the acting ones, bit for bit.
    auto rollout = algorithm.rollout();
    algorithm.collector().collect(algorithm.policy(), rollout);
    pgrad::RowVector<float> log_probs, entropy;
    algorithm.policy().evaluate_actions(rollout.observations, rollout.actions, log_probs, entropy,
                                        &rollout.action_masks);
    CHECK((log_probs.array() == rollout.log_probs.array()).all());
    algorithm.policy().evaluate_actions(rollout.observations, rollout.actions, log_probs, entropy);
    CHECK((log_probs.array() != rollout.log_probs.array()).any());  // without them they differ
    // And the training pass of a minibatch (what every loss goes through) applies them.
    pgrad::algo::Minibatch<float, pgrad::IndexRowVector> batch;
    batch.gather_all(rollout);
    const Index n = batch.size();
    bool same = false;
    batch.train_pass(
        algorithm.policy(),
        [&](const pgrad::PolicyTerms<float>& p) {
          same = (p.log_probs.array() == rollout.log_probs.array()).all();
          p.log_prob_weight.setZero(n);
          p.entropy_weight.setZero(n);
        },
        [&](const pgrad::ValueTerms<float>& v) { v.value_weight.setZero(n); }, nullptr);
    CHECK(same);
    CHECK(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3).mean_return == Approx(6.0).epsilon(1e-6));
    CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3, false));
  };
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

TEST_CASE("recurrent PPO and TRPO take the masks too: never a forbidden action, the best allowed return",
          "[action_masks][recurrent]") {
  namespace algo = pgrad::algo;
  using Recurrent = pgrad::RecurrentPolicyFor<MaskedChoice>;
  const auto check = [](auto& algorithm) {
    algorithm.learn(30000);  // a forbidden action would throw here
    // One more rollout: its sequences replayed with the stored masks give the acting
    // log-probabilities bit for bit; without them they differ.
    auto rollout = algorithm.rollout();
    algorithm.collector().collect(algorithm.policy(), rollout);
    algo::SequenceMinibatch<float, pgrad::IndexRowVector> batch;
    batch.gather_all(rollout);
    REQUIRE(batch.action_masks.cols() == batch.size());
    pgrad::RowVector<float> log_probs, entropy;
    batch.evaluate(algorithm.policy(), log_probs, entropy);
    CHECK((log_probs.array() == batch.old_log_probs.array()).all());
    batch.action_masks.resize(0, 0);
    batch.evaluate(algorithm.policy(), log_probs, entropy);
    CHECK((log_probs.array() != batch.old_log_probs.array()).any());
    CHECK(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3).mean_return == Approx(6.0).epsilon(1e-6));
    CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3, false));
  };
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

TEST_CASE("a run with action masks resumes exactly from a checkpoint", "[action_masks]") {
  const auto config = small(pgrad::algo::PpoConfig{});
  const std::string path = "action_masks_resume.ckpt";
  pgrad::algo::Ppo<MaskedChoice> first(MaskedChoice{}, config, 5);
  first.learn(4 * 80, [](const pgrad::algo::UpdateReport& r) { return r.iteration < 2; });
  pgrad::save_checkpoint(first, path);
  first.learn(4 * 80);
  pgrad::algo::Ppo<MaskedChoice> resumed(MaskedChoice{}, config, 6);
  pgrad::load_checkpoint(resumed, path);
  resumed.learn(4 * 80);
  std::remove(path.c_str());
  CHECK((first.policy().flat_parameters().array() == resumed.policy().flat_parameters().array()).all());
}
