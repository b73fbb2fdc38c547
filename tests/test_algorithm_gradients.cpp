// The full PPO loss and the vanilla policy-gradient loss of A2C (mean) and REINFORCE (sum):
// their values against a per-sample computation written out here, and their gradients w.r.t.
// every parameter (trunk, actor, critic, log-std) against central finite differences in double.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/core/thread_pool.hpp>

#include "gradient_check.hpp"

using pgrad::Index;
using pgrad::Matrix;
using pgrad::RowVector;
using pgrad::algo::Minibatch;
using pgrad::algo::Reduction;
using CategoricalPolicy = pgrad::ActorCritic<double, pgrad::dist::Categorical<double>>;
using GaussianPolicy = pgrad::ActorCritic<double, pgrad::dist::ContinuousDistribution<double>>;

namespace {

pgrad::PolicyConfig small_policy() {
  pgrad::PolicyConfig config;
  config.actor_hidden = {5, 4};
  config.critic_hidden = {6};
  config.actor_output_gain = 1.0;  // large enough logits that the gradients are not tiny
  config.initial_log_std = -0.3;
  return config;
}

template <class Policy>
Policy make_small_policy(Index action_size, pgrad::Rng& rng) {
  Policy policy(3, action_size, small_policy(), rng);
  // Non-zero biases and log-std so every parameter matters.
  Eigen::VectorXd theta = policy.flat_parameters();
  for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();
  policy.set_flat_parameters(theta);
  return policy;
}

// A batch whose old log-probs and old values differ from the current ones, so some ratios and
// values fall outside the clip range and both branches of every max() are exercised.
template <class Policy>
Minibatch<double, typename Policy::Actions> random_batch(Policy& policy, Index batch, pgrad::Rng& rng) {
  Minibatch<double, typename Policy::Actions> b;
  b.observations.resize(3, batch);
  for (Index i = 0; i < b.observations.size(); ++i) b.observations.data()[i] = rng.normal<double>();
  RowVector<double> log_probs, values;
  policy.act(b.observations, rng, b.actions, log_probs, values);
  b.old_log_probs = log_probs;
  b.old_values = values;
  b.advantages.resize(batch);
  b.returns.resize(batch);
  for (Index j = 0; j < batch; ++j) {
    b.old_log_probs[j] += 0.4 * rng.normal<double>();
    b.old_values[j] += 0.5 * rng.normal<double>();
    b.advantages[j] = rng.normal<double>();
    b.returns[j] = values[j] + rng.normal<double>();
  }
  return b;
}

// dL/dθ from the loss's backward against central differences of the loss value.
template <class Policy, class Loss, class Coefficients>
void check_loss_gradient(Policy& policy, Loss& loss, const Minibatch<double, typename Policy::Actions>& batch,
                         const Coefficients& coefficients) {
  policy.zero_grad();
  loss.compute(policy, batch, coefficients);
  const Eigen::VectorXd analytic = policy.flat_gradients();
  const Eigen::VectorXd theta = policy.flat_parameters();
  auto loss_at = [&](const Eigen::VectorXd& p) {
    Policy copy = policy;
    copy.set_flat_parameters(p);
    Loss fresh = loss;
    return fresh.compute(copy, batch, coefficients).loss;
  };
  const Eigen::VectorXd numeric = pgrad_test::numerical_gradient(loss_at, theta);
  CHECK(pgrad_test::relative_error(analytic, numeric) <= 1e-6);
  CHECK(analytic.norm() > 1e-3);  // the check means something
}

// PPO's loss written sample by sample, straight from the definition.
template <class Policy>
double ppo_loss_by_hand(Policy& policy, const Minibatch<double, typename Policy::Actions>& b,
                        const pgrad::algo::PpoConfig::At& c) {
  RowVector<double> log_probs, entropy, values;
  policy.evaluate_actions(b.observations, b.actions, log_probs, entropy, values);
  double pg = 0, vf = 0, ent = 0;
  const Index n = b.size();
  for (Index j = 0; j < n; ++j) {
    const double ratio = std::exp(log_probs[j] - b.old_log_probs[j]);
    const double clipped_ratio = std::min(std::max(ratio, 1 - c.clip_coef), 1 + c.clip_coef);
    pg += std::max(-b.advantages[j] * ratio, -b.advantages[j] * clipped_ratio) / n;
    const double v_clipped =
        b.old_values[j] + std::min(std::max(values[j] - b.old_values[j], -c.clip_coef), c.clip_coef);
    const double unclipped_sq = std::pow(values[j] - b.returns[j], 2);
    const double clipped_sq = std::pow(v_clipped - b.returns[j], 2);
    vf += 0.5 * (c.clip_value_loss ? std::max(unclipped_sq, clipped_sq) : unclipped_sq) / n;
    ent += entropy[j] / n;
  }
  return pg - c.ent_coef * ent + c.vf_coef * vf;
}

}  // namespace

TEST_CASE("a state-dependent log-std head: PPO's gradient matches finite differences, and σ varies with the state",
          "[algo][ppo][gradient]") {
  pgrad::PolicyConfig config = small_policy();
  config.state_dependent_std = true;
  for (bool trunk : {false, true}) {
    INFO("shared trunk " << trunk);
    config.shared_hidden = trunk ? std::vector<Index>{4} : std::vector<Index>{};
    pgrad::Rng rng(trunk ? 31 : 32);
    GaussianPolicy policy(3, 2, config, rng);
    CHECK(policy.state_dependent_std());
    CHECK(policy.action_size() == 2);
    CHECK(policy.actor().output_size() == 4);  // the mean, then log σ
    CHECK(policy.log_std().size() == 0);       // no shared log-std block
    Eigen::VectorXd theta = policy.flat_parameters();
    for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();
    policy.set_flat_parameters(theta);
    const auto batch = random_batch(policy, 12, rng);
    const auto& log_std = policy.distribution().gaussian().log_std();
    CHECK((log_std.col(0) - log_std.col(1)).norm() > 1e-6);  // log σ depends on the state
    pgrad::algo::PpoConfig ppo;
    ppo.ent_coef = 0.05;
    pgrad::algo::PpoLoss<GaussianPolicy> loss;
    check_loss_gradient(policy, loss, batch, ppo.at(0.0));
  }
}

TEST_CASE("bounded Box distributions: PPO's and A2C's gradients match finite differences", "[algo][ppo][gradient]") {
  using pgrad::BoxDistribution;
  for (BoxDistribution kind : {BoxDistribution::squashed_gaussian, BoxDistribution::beta}) {
    for (bool state_dependent : {false, true}) {
      for (bool trunk : {false, true}) {
        if (kind == BoxDistribution::beta && state_dependent) continue;  // Beta's heads are always two-part
        INFO(pgrad::box_distribution_name(kind) << ", state-dependent " << state_dependent << ", trunk " << trunk);
        pgrad::PolicyConfig config = small_policy();
        config.box_distribution = kind;
        config.state_dependent_std = state_dependent;
        config.shared_hidden = trunk ? std::vector<Index>{4} : std::vector<Index>{};
        pgrad::Rng rng(trunk ? 41 : 42);
        GaussianPolicy policy(3, 2, config, rng);
        CHECK(policy.box_distribution() == kind);
        const bool two_part = kind == BoxDistribution::beta || state_dependent;
        CHECK(policy.actor().output_size() == (two_part ? 4 : 2));
        CHECK(policy.log_std().size() == (two_part ? 0 : 2));
        Eigen::VectorXd theta = policy.flat_parameters();
        for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();
        policy.set_flat_parameters(theta);
        const auto batch = random_batch(policy, 12, rng);
        if (kind == BoxDistribution::beta)  // Beta variates in (0, 1)
          CHECK((batch.actions.array() > 0 && batch.actions.array() < 1).all());
        pgrad::algo::PpoConfig ppo;
        ppo.ent_coef = 0.05;
        pgrad::algo::PpoLoss<GaussianPolicy> ppo_loss;
        check_loss_gradient(policy, ppo_loss, batch, ppo.at(0.0));
        pgrad::algo::Coefficients a2c;
        a2c.ent_coef = 0.05;
        a2c.vf_coef = 0.5;
        pgrad::algo::PolicyGradientLoss<GaussianPolicy> a2c_loss(Reduction::mean);
        check_loss_gradient(policy, a2c_loss, batch, a2c);
        if (kind == BoxDistribution::beta)  // a Gamma draw takes a variable number of random numbers
          CHECK_THROWS_WITH(policy.discard_samples(rng, 3), Catch::Contains("Beta policy does not train across processes"));
      }
    }
  }
}

TEST_CASE("PPO loss value matches its definition sample by sample", "[algo][ppo]") {
  pgrad::Rng rng(21);
  auto policy = make_small_policy<CategoricalPolicy>(4, rng);
  const auto batch = random_batch(policy, 16, rng);
  pgrad::algo::PpoConfig config;
  config.ent_coef = 0.05;
  for (bool clip_value : {true, false}) {
    config.clip_value_loss = clip_value;
    pgrad::algo::PpoLoss<CategoricalPolicy> loss;
    const auto stats = loss.compute(policy, batch, config.at(0.0));
    CHECK(stats.loss == Approx(ppo_loss_by_hand(policy, batch, config.at(0.0))).epsilon(1e-12));
    CHECK(stats.clip_fraction > 0);  // the batch does exercise clipping
    CHECK(stats.clip_fraction < 1);
  }
}

TEST_CASE("PPO loss gradient matches finite differences for Categorical and Gaussian policies", "[algo][ppo][gradient]") {
  pgrad::algo::PpoConfig config;
  config.ent_coef = 0.05;
  for (bool clip_value : {true, false}) {
    config.clip_value_loss = clip_value;
    pgrad::Rng rng(clip_value ? 5 : 6);
    auto categorical = make_small_policy<CategoricalPolicy>(4, rng);
    pgrad::algo::PpoLoss<CategoricalPolicy> categorical_loss;
    check_loss_gradient(categorical, categorical_loss, random_batch(categorical, 12, rng), config.at(0.0));
    auto gaussian = make_small_policy<GaussianPolicy>(2, rng);
    pgrad::algo::PpoLoss<GaussianPolicy> gaussian_loss;
    check_loss_gradient(gaussian, gaussian_loss, random_batch(gaussian, 12, rng), config.at(0.0));
  }
}

TEST_CASE("policy-gradient loss (A2C's mean, REINFORCE's sum) matches its definition and finite differences",
          "[algo][a2c][reinforce][gradient]") {
  pgrad::algo::Coefficients c;
  c.ent_coef = 0.02;
  c.vf_coef = 0.5;
  for (Reduction reduction : {Reduction::mean, Reduction::sum}) {
    INFO((reduction == Reduction::mean ? "mean" : "sum"));
    pgrad::Rng rng(reduction == Reduction::mean ? 8 : 9);
    auto categorical = make_small_policy<CategoricalPolicy>(3, rng);
    pgrad::algo::PolicyGradientLoss<CategoricalPolicy> categorical_loss(reduction);
    const auto batch = random_batch(categorical, 10, rng);
    check_loss_gradient(categorical, categorical_loss, batch, c);
    // -reduce(A log π) - c_e mean(H) + c_v mean((R - V)²)
    RowVector<double> log_probs, entropy, values;
    categorical.evaluate_actions(batch.observations, batch.actions, log_probs, entropy, values);
    const double policy_term = (batch.advantages.array() * log_probs.array()).sum() /
                               (reduction == Reduction::mean ? static_cast<double>(batch.size()) : 1.0);
    const double by_hand = -policy_term - 0.02 * entropy.mean() + 0.5 * (batch.returns - values).array().square().mean();
    CHECK(categorical_loss.compute(categorical, batch, c).loss == Approx(by_hand).epsilon(1e-12));
    auto gaussian = make_small_policy<GaussianPolicy>(2, rng);
    pgrad::algo::PolicyGradientLoss<GaussianPolicy> gaussian_loss(reduction);
    check_loss_gradient(gaussian, gaussian_loss, random_batch(gaussian, 10, rng), c);
  }
}

TEST_CASE("policy-gradient loss without a critic has no value term", "[algo][reinforce][gradient]") {
  pgrad::Rng rng(9);
  pgrad::algo::Coefficients c;
  c.ent_coef = 0.01;
  c.vf_coef = 0.5;
  pgrad::PolicyConfig no_critic = small_policy();
  no_critic.with_critic = false;
  CategoricalPolicy plain(3, 2, no_critic, rng);
  REQUIRE_FALSE(plain.has_critic());
  pgrad::algo::PolicyGradientLoss<CategoricalPolicy> loss(Reduction::sum);
  const auto batch = random_batch(plain, 9, rng);
  check_loss_gradient(plain, loss, batch, c);
  CHECK(loss.compute(plain, batch, c).value_loss == 0.0);
}

TEST_CASE("hyperparameters are validated with the field named", "[algo][errors]") {
  pgrad::algo::PpoConfig ppo;
  ppo.gamma = 1.5;
  CHECK_THROWS_WITH(ppo.validate(), Catch::Contains("gamma"));
  ppo = {};
  ppo.gae_lambda = -0.1;
  CHECK_THROWS_WITH(ppo.validate(), Catch::Contains("gae_lambda"));
  ppo = {};
  ppo.clip_coef = 0;
  CHECK_THROWS_WITH(ppo.validate(), Catch::Contains("clip_coef"));
  ppo = {};
  ppo.num_minibatches = 3;  // 512 samples
  CHECK_THROWS_WITH(ppo.validate(), Catch::Contains("not divisible") && Catch::Contains("512"));
  ppo = {};
  ppo.num_envs = 0;
  CHECK_THROWS_WITH(ppo.validate(), Catch::Contains("num_envs"));
  pgrad::algo::A2cConfig a2c;
  a2c.num_steps = -1;
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("num_steps"));
  a2c = {};
  a2c.gamma = -0.5;
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("gamma"));
  a2c = {};
  a2c.policy.with_critic = false;
  CHECK_THROWS_WITH(a2c.validate(), Catch::Contains("with_critic"));
  pgrad::algo::ReinforceConfig reinforce;
  reinforce.learning_rate = 0;
  CHECK_THROWS_WITH(reinforce.validate(), Catch::Contains("learning_rate"));
  reinforce = {};
  reinforce.num_envs = 2;
  CHECK_THROWS_WITH(reinforce.validate(), Catch::Contains("num_envs must be 1"));
  reinforce = {};
  reinforce.num_threads = 0;
  CHECK_THROWS_WITH(reinforce.validate(), Catch::Contains("num_threads"));
  ppo = {};
  ppo.num_steps = 2000000000;
  CHECK_THROWS_WITH(ppo.validate(), Catch::Contains("num_steps"));
}

TEST_CASE("a shared trunk gets the sum of both heads' gradients", "[algo][ppo][gradient]") {
  pgrad::algo::PpoConfig config;
  config.ent_coef = 0.05;
  pgrad::PolicyConfig shared = small_policy();
  shared.shared_hidden = {6, 5};
  shared.actor_hidden = {};
  shared.critic_hidden = {4};
  pgrad::Rng rng(31);
  CategoricalPolicy categorical(3, 4, shared, rng);
  REQUIRE(categorical.has_shared_trunk());
  REQUIRE(categorical.trunk().sizes() == std::vector<Index>{3, 6, 5});
  pgrad::algo::PpoLoss<CategoricalPolicy> categorical_loss;
  check_loss_gradient(categorical, categorical_loss, random_batch(categorical, 12, rng), config.at(0.0));
  GaussianPolicy gaussian(3, 2, shared, rng);
  pgrad::algo::PpoLoss<GaussianPolicy> gaussian_loss;
  check_loss_gradient(gaussian, gaussian_loss, random_batch(gaussian, 12, rng), config.at(0.0));
}

TEST_CASE("a lent second thread gives the same gradients as one thread", "[algo][gradient]") {
  pgrad::algo::PpoConfig config;
  for (bool shared_trunk : {false, true}) {
    auto gradients = [&](pgrad::ThreadPool* workers) {
      pgrad::PolicyConfig policy_config = small_policy();
      if (shared_trunk) policy_config.shared_hidden = {6};
      pgrad::Rng rng(44);
      GaussianPolicy policy(3, 2, policy_config, rng);
      const auto batch = random_batch(policy, 40, rng);
      pgrad::algo::PpoLoss<GaussianPolicy> loss;
      policy.zero_grad(workers);
      loss.compute(policy, batch, config.at(0.0), workers);
      const double norm = static_cast<double>(policy.clip_gradients(0.1, workers));
      CHECK(norm > 0.1);  // the clip does scale
      return Eigen::VectorXd(policy.flat_gradients());
    };
    pgrad::ThreadPool two(2);
    INFO("shared trunk " << shared_trunk);
    CHECK(gradients(&two) == gradients(nullptr));
  }
}
