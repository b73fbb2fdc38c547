// Recurrent policies in the on-policy loop: the collector's states (stored before each rollout,
// carried across rollouts, zeroed where an episode ends), bit-identical runs whatever the thread
// count (PPO and A2C), exact resume from a checkpoint, no allocation after the first updates, and
// the configuration PPO needs for whole-sequence minibatches.
#include <catch2/catch.hpp>

#if defined(__GLIBC__)
#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>

#include "allocation_hooks.hpp"
#include "recurrent_checks.hpp"

namespace {

using Env = pgrad_test::HiddenVelocityCartPole;
using Policy = pgrad::RecurrentPolicyFor<Env>;
using Ppo = pgrad::algo::Ppo<Env, Policy>;
using A2c = pgrad::algo::A2c<Env, Policy>;
constexpr auto env = pgrad_test::hidden_velocity_cartpole;

pgrad::algo::PpoConfig small_ppo(bool shared = true) {
  pgrad::algo::PpoConfig config = pgrad::algo::presets::cartpole_ppo_gru();
  config.num_envs = 4;
  config.num_steps = 16;
  config.num_minibatches = 2;
  config.update_epochs = 2;
  config.policy = pgrad_test::small_gru_policy(shared);
  return config;
}

pgrad::algo::UpdateCallback stop_after(long long n) {
  return [n](const pgrad::algo::UpdateReport& report) { return report.iteration < n; };
}

}  // namespace

TEST_CASE("The collector stores each rollout's initial states and carries them across rollouts", "[recurrent]") {
  Ppo ppo(env(), small_ppo(), 3);
  ppo.learn(1000000, stop_after(1));
  CHECK(ppo.rollout().initial_hidden.rows() == ppo.policy().hidden_size());
  CHECK(ppo.rollout().initial_hidden.isZero(0));  // the run starts from zero states
  const pgrad::Matrix<float> carried = ppo.collector().hidden();
  CHECK(carried.cwiseAbs().maxCoeff() > 0);
  CHECK(carried.cwiseAbs().maxCoeff() <= 1);
  // Where the last step ended an episode the state was reset.
  const auto& rollout = ppo.rollout();
  for (pgrad::Index i = 0; i < rollout.num_envs; ++i)
    if (rollout.terminated(i, rollout.length - 1) || rollout.truncated(i, rollout.length - 1))
      CHECK(carried.col(i).isZero(0));
  ppo.learn(1000000, stop_after(2));
  CHECK((ppo.rollout().initial_hidden.array() == carried.array()).all());
}

// The bookkeeping of states and resets end to end: replaying a collected rollout's sequences from
// its stored initial states, with SequenceMinibatch's reset flags, gives back the log-probabilities
// and values computed while acting (episodes end in the middle of these rollouts, and the second
// rollout starts from carried, non-zero states). An off-by-one in the flags fails it.
TEST_CASE("Replaying a rollout's sequences reproduces what acting computed", "[recurrent]") {
  for (bool shared : {true, false}) {
    pgrad::algo::PpoConfig config = small_ppo(shared);
    pgrad::Rng init(4);
    Policy policy = pgrad::make_policy<Policy>(env(), config.policy, init);
    pgrad::algo::RolloutCollector<Env, Policy> collector(
        pgrad::envs::VectorEnv<Env>(config.num_envs, env(), 9), pgrad::Rng(10), policy.hidden_size());
    pgrad::algo::RolloutBuffer<float, Policy::Actions> rollout;
    rollout.resize(64, config.num_envs, 2, 1, 0, policy.hidden_size());
    for (int round = 0; round < 2; ++round) {
      collector.collect(policy, rollout);
      INFO("shared " << shared << ", rollout " << round);
      REQUIRE(rollout.terminated.any());
      if (round == 1) CHECK(rollout.initial_hidden.cwiseAbs().maxCoeff() > 0);
      pgrad::algo::SequenceMinibatch<float, Policy::Actions> batch;
      // Copies in another order than the rollout's: the batch must follow them.
      const std::vector<pgrad::Index> order{2, 0, 3, 1};
      batch.gather(rollout, order, 0, 4);
      pgrad::RowVector<float> log_probs, entropy, values;
      policy.evaluate_sequences(batch.observations, batch.actions, batch.initial_hidden, batch.resets, 4, log_probs,
                                entropy, values);
      CHECK((log_probs - batch.old_log_probs).cwiseAbs().maxCoeff() < 1e-5f);
      CHECK((values - batch.old_values).cwiseAbs().maxCoeff() < 1e-5f);
    }
  }
}

TEST_CASE("Recurrent PPO and A2C are bit-identical whatever the thread count", "[recurrent][determinism]") {
  for (bool shared : {true, false}) {
    const pgrad::algo::PpoConfig config = small_ppo(shared);
    pgrad_test::check_same_bits_across_threads<Ppo>(env(), config, 4 * config.batch_size(), {1, 2, 3});
    pgrad::algo::A2cConfig a2c_config;
    a2c_config.num_envs = 4;
    a2c_config.policy = config.policy;
    pgrad_test::check_same_bits_across_threads<A2c>(env(), a2c_config, 6 * a2c_config.batch_size(), {1, 2, 3});
  }
}

TEST_CASE("Recurrent PPO and A2C resume exactly from a checkpoint", "[recurrent][checkpoint]") {
  const pgrad::algo::PpoConfig config = small_ppo(false);
  Ppo resumed(env(), config, 12345);
  pgrad_test::check_exact_resume(env(), config, resumed);
  pgrad::algo::A2cConfig a2c_config;
  a2c_config.num_envs = 4;
  a2c_config.policy = config.policy;
  A2c resumed_a2c(env(), a2c_config, 12345);
  pgrad_test::check_exact_resume(env(), a2c_config, resumed_a2c);

  // A feed-forward run's checkpoint does not load into a recurrent one, nor states outside [-1, 1].
  pgrad::algo::PpoConfig mlp = config;
  mlp.policy.recurrent_size = 0;
  pgrad::algo::Ppo<Env> feed_forward(env(), mlp, 7);
  feed_forward.learn(config.batch_size());
  pgrad::Writer other;
  feed_forward.save_state(other);
  pgrad::Reader wrong(other.bytes(), "test");
  CHECK_THROWS_AS(resumed.load_state(wrong), pgrad::Error);
}

TEST_CASE("Recurrent PPO and A2C updates allocate nothing after the first", "[recurrent][alloc]") {
  for (int threads : {1, 2}) {
    pgrad::algo::PpoConfig config = small_ppo(threads == 1);
    config.num_threads = threads;
    Ppo ppo(env(), config, 3);
    pgrad::algo::A2cConfig a2c_config;
    a2c_config.num_threads = threads;
    a2c_config.policy = config.policy;
    A2c a2c(env(), a2c_config, 3);
    for (int run = 0; run < 2; ++run) {
      int done = 0;
      const auto count_after_two = [&](const pgrad::algo::UpdateReport&) {
        if (++done == 2) counting = true;
        return true;
      };
      allocations = 0;
      if (run == 0)
        ppo.learn(8 * config.batch_size(), count_after_two);
      else
        a2c.learn(8 * a2c_config.batch_size(), count_after_two);
      counting = false;
      INFO("threads " << threads << (run == 0 ? ", PPO" : ", A2C"));
      CHECK(done == 8);
      CHECK(allocations.load() == 0);
    }
  }
}

TEST_CASE("Recurrent PPO needs whole environment sequences per minibatch", "[recurrent]") {
  pgrad::algo::PpoConfig config = small_ppo();
  config.num_envs = 3;
  config.num_steps = 4;
  config.num_minibatches = 2;  // 12 samples divide into 2, 3 sequences do not
  CHECK_THROWS_WITH(Ppo(env(), config, 1), Catch::Contains("num_envs = 3 is not divisible into num_minibatches = 2"));
  config.policy.recurrent_size = 0;
  config.num_envs = 2;
  CHECK_THROWS_WITH(Ppo(env(), config, 1), Catch::Contains("recurrent_size"));
}
#endif
