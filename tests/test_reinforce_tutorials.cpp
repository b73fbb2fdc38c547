// What the two REINFORCE tutorials need: a policy with dropout in training and evaluation mode,
// an update that goes through the acting pass's dropout masks, the loss summed or averaged over
// the episode, the returns' normalisation ε, and stopping on the mean of the last N episodes.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/evaluate.hpp>

#include "gradient_check.hpp"

using pgrad::Index;
using pgrad::Matrix;
using pgrad::RowVector;
using Env = pgrad::envs::CartPole<double>;
using Policy = pgrad::ActorCritic<double, pgrad::dist::Categorical<double>>;
using Catch::Contains;

namespace {

Policy dropout_policy(pgrad::Rng& rng, double p = 0.5) {
  pgrad::PolicyConfig config;
  config.actor_hidden = {32};
  config.activation = pgrad::nn::Activation::relu;
  config.init = pgrad::PolicyInit::pytorch_default;
  config.dropout = p;
  config.with_critic = false;
  Policy policy(4, 2, config, rng);
  policy.set_dropout_rng(pgrad::Rng(77));
  return policy;
}

Matrix<double> observations(Index batch, pgrad::Rng& rng) {
  Matrix<double> m(4, batch);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal<double>();
  return m;
}

// The policy loss and gradient of one REINFORCE pass over (observations, actions) with the
// given advantages and masks (nullptr: drawn afresh).
struct Pass {
  RowVector<double> log_probs;
  pgrad::Vector<double> gradient;
};
Pass train(Policy& policy, const Matrix<double>& obs, const Policy::Actions& actions, const RowVector<double>& weights,
           const Matrix<double>* masks) {
  Pass pass;
  policy.zero_grad();
  policy.train_pass(
      obs, actions,
      [&](const pgrad::PolicyTerms<double>& p) {
        pass.log_probs = p.log_probs;
        p.log_prob_weight = weights;
        p.entropy_weight.setZero(weights.size());
      },
      [](const pgrad::ValueTerms<double>& v) { v.value_weight.setZero(v.values.size()); }, nullptr, masks);
  pass.gradient = policy.flat_gradients();
  return pass;
}

}  // namespace

TEST_CASE("a policy with dropout acts through masks it keeps, and replaying them reproduces its log-probabilities",
          "[policy][dropout]") {
  pgrad::Rng rng(3);
  Policy policy = dropout_policy(rng);
  REQUIRE(policy.dropout_mask_rows() == 32);
  const Matrix<double> obs = observations(6, rng);
  Policy::Actions actions;
  RowVector<double> acting_log_probs;
  policy.act(obs, rng, actions, acting_log_probs);
  const Matrix<double> masks = policy.acting_dropout_masks();
  REQUIRE(masks.rows() == 32);
  REQUIRE(masks.cols() == 6);
  CHECK((masks.array() == 0.0).count() > 0);

  const RowVector<double> weights = RowVector<double>::LinSpaced(6, -1.0, 1.0);
  const Pass replayed = train(policy, obs, actions, weights, &masks);
  CHECK(pgrad_test::relative_error(replayed.log_probs, acting_log_probs) <= 1e-14);
  const Pass fresh = train(policy, obs, actions, weights, nullptr);
  CHECK(pgrad_test::relative_error(fresh.log_probs, acting_log_probs) > 1e-3);  // other masks
  CHECK(pgrad_test::relative_error(fresh.gradient, replayed.gradient) > 1e-3);

  // Evaluation mode: no masks, the same distribution as without dropout.
  policy.set_training(false);
  RowVector<double> eval_log_probs;
  policy.act(obs, rng, actions, eval_log_probs);
  CHECK(policy.acting_dropout_masks().size() == 0);
  RowVector<double> check_log_probs, entropy;
  policy.evaluate_actions(obs, actions, check_log_probs, entropy);
  CHECK(pgrad_test::relative_error(eval_log_probs, check_log_probs) <= 1e-14);
  const Pass eval_pass = train(policy, obs, actions, weights, nullptr);
  CHECK(pgrad_test::relative_error(eval_pass.log_probs, check_log_probs) <= 1e-14);
}

TEST_CASE("evaluate_policy runs a dropout policy in evaluation mode and restores its mode", "[policy][dropout]") {
  pgrad::Rng rng(4);
  Policy policy = dropout_policy(rng, 0.9);
  const auto first = pgrad::evaluate_policy(policy, Env{}, 3, 5, false);
  CHECK(policy.training());
  const auto second = pgrad::evaluate_policy(policy, Env{}, 3, 5, false);
  CHECK(first.mean_return == second.mean_return);  // no dropout draws: the same episodes
  policy.set_training(false);
  CHECK(pgrad::evaluate_policy(policy, Env{}, 3, 5, false).mean_return == first.mean_return);
  CHECK_FALSE(policy.training());
}

TEST_CASE("REINFORCE replays the acting masks: the update's log-probabilities are the rollout's", "[reinforce][dropout]") {
  for (bool replay : {true, false}) {
    INFO("replay " << replay);
    pgrad::algo::ReinforceConfig config = pgrad::algo::presets::cartpole_reinforce_datacamp();
    config.replay_dropout_masks = replay;
    pgrad::algo::Reinforce<Env> reinforce(Env{}, config, 2);
    const auto& rollout = reinforce.rollout();
    bool checked = false;
    reinforce.learn(100000, [&](const pgrad::algo::UpdateReport& report) {
      REQUIRE(rollout.dropout_masks.rows() == 128);
      REQUIRE(rollout.dropout_masks.cols() >= rollout.size());
      // The reported loss is -Σ Âₜ log π(aₜ|sₜ) over the episode; with the acting masks log π is
      // the stored log-probability.
      pgrad::algo::Minibatch<double, Policy::Actions> batch;
      batch.gather_all(rollout);
      pgrad::normalize_in_place(batch.advantages, 0.0);
      const double with_acting = -(batch.advantages.array() * batch.old_log_probs.array()).sum();
      if (replay)
        CHECK(report.policy_loss == Approx(with_acting).epsilon(1e-12));
      else
        CHECK(std::abs(report.policy_loss - with_acting) > 1e-6);
      checked = true;
      return false;
    });
    CHECK(checked);
  }
}

TEST_CASE("REINFORCE's loss reduction: summed over the episode is the mean times its length", "[reinforce]") {
  pgrad::algo::ReinforceConfig sum_config;
  sum_config.policy.actor_hidden = {8};
  pgrad::algo::ReinforceConfig mean_config = sum_config;
  mean_config.loss_reduction = pgrad::algo::Reduction::mean;
  pgrad::algo::Reinforce<Env> sum(Env{}, sum_config, 3), mean(Env{}, mean_config, 3);
  pgrad::algo::UpdateReport sum_report, mean_report;
  sum.learn(10000, [&](const pgrad::algo::UpdateReport& r) { return sum_report = r, false; });
  mean.learn(10000, [&](const pgrad::algo::UpdateReport& r) { return mean_report = r, false; });
  const double length = static_cast<double>(sum.rollout().size());
  REQUIRE(length > 5);
  REQUIRE(mean.rollout().size() == sum.rollout().size());  // the same first episode
  CHECK(sum_report.policy_loss == Approx(mean_report.policy_loss * length).epsilon(1e-12));
  CHECK(sum_report.grad_norm == Approx(mean_report.grad_norm * length).epsilon(1e-12));
  CHECK(mean_report.grad_norm > 0);
}

TEST_CASE("REINFORCE's new options are validated naming the field", "[reinforce][errors]") {
  pgrad::algo::ReinforceConfig config;
  config.normalize_eps = -1;
  CHECK_THROWS_WITH(config.validate(), Contains("Reinforce: normalize_eps must be >= 0"));
  config = {};
  config.normalize_eps = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(config.validate(), Contains("Reinforce: normalize_eps must be >= 0"));
  config = {};
  config.loss_reduction = static_cast<pgrad::algo::Reduction>(7);
  CHECK_THROWS_WITH(config.validate(), Contains("Reinforce: loss_reduction has the invalid value 7"));
  config = {};
  config.policy.dropout = 1.0;
  CHECK_THROWS_WITH(config.validate(), Contains("Reinforce: policy.dropout must be in [0, 1), got 1"));
  config.policy.dropout = std::nan("");
  CHECK_THROWS_WITH(config.validate(), Contains("Reinforce: policy.dropout must be in [0, 1)"));
}

TEST_CASE("normalize_in_place with eps = 0 divides by the std alone, and leaves equal entries at 0", "[returns]") {
  RowVector<double> x(3);
  x << 1.0, 2.0, 6.0;  // mean 3, unbiased std sqrt(7)
  pgrad::normalize_in_place(x, 0.0);
  CHECK(x[0] == Approx(-2.0 / std::sqrt(7.0)).epsilon(1e-15));
  CHECK(x[2] == Approx(3.0 / std::sqrt(7.0)).epsilon(1e-15));
  RowVector<double> same = RowVector<double>::Constant(4, 2.5);
  pgrad::normalize_in_place(same, 0.0);
  CHECK((same.array() == 0.0).all());
}

TEST_CASE("stop_at_return over a window of the last N episodes; stop_after_episodes", "[training][callbacks]") {
  pgrad::algo::EpisodeLog log;
  for (int k = 0; k < 30; ++k) log.add(k < 10 ? 0.0 : 500.0, 10);  // 10 poor episodes, then 20 good ones
  pgrad::algo::UpdateReport report;
  report.episodes = log.count();
  report.mean_return = log.mean_return();
  report.episode_log = &log;
  CHECK(log.mean_return(25) == Approx((5 * 0.0 + 20 * 500.0) / 25));
  CHECK(log.mean_return(20) == 500.0);
  CHECK(pgrad::stop_at_return(475.0, 1, 25)(report));         // 400 < 475: go on
  CHECK_FALSE(pgrad::stop_at_return(475.0, 1, 20)(report));   // 500: stop
  CHECK(pgrad::stop_at_return(475.0)(report));                // the 100-episode default: 333
  CHECK(pgrad::stop_at_return(475.0, 31, 20)(report));        // not enough episodes yet
  CHECK_THROWS_WITH(pgrad::stop_at_return(475.0, 1, 0), Contains("window must be in [1, 100]"));
  CHECK_THROWS_WITH(log.mean_return(101), Contains("window 101 must be in [1, 100]"));
  CHECK(pgrad::stop_after_episodes(31)(report));
  CHECK_FALSE(pgrad::stop_after_episodes(30)(report));
}
