// Invalid-action masks from the environment (the optional member action_mask()): VectorEnv reads
// and checks them, the collector samples with them and stores them, PPO, A2C and TRPO recompute
// log-probabilities and entropies with them, evaluate_policy and check_env honour them, and
// checkpoints resume exactly. That training with masks reaches the best allowed return is
// test_learning_action_masks.cpp.
#include <catch2/catch.hpp>

#include "error_message.hpp"
#include "masked_choice.hpp"
#include "temp_path.hpp"

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

#include <functional>
#include <string>
#include <vector>

using pgrad::Index;
using pgrad_test::MaskedChoice;
using pgrad_test::small;

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

TEST_CASE("PPO, A2C and TRPO act, update and recompute log-probabilities with the stored masks",
          "[action_masks]") {
  const auto check = [](auto& algorithm) {
    algorithm.learn(2 * 80);  // two updates; a forbidden action would throw here
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
    CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3));
    CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3, false));
  };
  pgrad_test::for_each_feed_forward_algorithm(check);
}

TEST_CASE("recurrent PPO and TRPO act, update and replay their sequences with the stored masks",
          "[action_masks][recurrent]") {
  namespace algo = pgrad::algo;
  const auto check = [](auto& algorithm) {
    algorithm.learn(2 * 80);  // two updates; a forbidden action would throw here
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
    CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3));
    CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3, false));
  };
  pgrad_test::for_each_recurrent_algorithm(check);
}

TEST_CASE("a run with action masks resumes exactly from a checkpoint", "[action_masks]") {
  const auto config = small(pgrad::algo::PpoConfig{});
  const pgrad_test::TempPath file("action_masks_resume");
  pgrad::algo::Ppo<MaskedChoice> first(MaskedChoice{}, config, 5);
  first.learn(4 * 80, [](const pgrad::algo::UpdateReport& r) { return r.iteration < 2; });
  pgrad::save_checkpoint(first, file.path);
  first.learn(4 * 80);
  pgrad::algo::Ppo<MaskedChoice> resumed(MaskedChoice{}, config, 6);
  pgrad::load_checkpoint(resumed, file.path);
  resumed.learn(4 * 80);
  CHECK((first.policy().flat_parameters().array() == resumed.policy().flat_parameters().array()).all());
}
