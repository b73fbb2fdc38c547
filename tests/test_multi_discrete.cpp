// MultiDiscrete actions: the space, VectorEnv's checks, check_env with per-component masks, the
// MultiCategorical policy's gradients (finite differences) and Fisher-vector products, and exact
// checkpoint resume (learning: test_learning_multi_discrete.cpp).
#include <catch2/catch.hpp>

#include "error_message.hpp"
#include "gradient_check.hpp"
#include "temp_path.hpp"

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>

#include <string>
#include <vector>

#include "../examples/dials.hpp"

namespace {

using pgrad::Index;
using Catch::Matchers::Contains;

// The same with one dial's mask forbidding every position at step 2: a broken environment.
struct BrokenDials : Dials {
  pgrad::envs::StepResult<Observation> step(const Action& action) {
    auto result = Dials::step(action);
    if (t == 2) mask.segment<5>(3).setConstant(false);
    return result;
  }
};

}  // namespace

TEST_CASE("MultiDiscrete: sizes, contains, sample and bad input", "[multi_discrete][env]") {
  const pgrad::envs::MultiDiscrete space({3, 5, 2});
  CHECK(space.size() == 3);
  CHECK(space.total() == 10);
  CHECK(space.contains(Eigen::Matrix<Index, 3, 1>(2, 4, 1)));
  CHECK_FALSE(space.contains(Eigen::Matrix<Index, 3, 1>(3, 0, 0)));
  CHECK_FALSE(space.contains(Eigen::Matrix<Index, 2, 1>(0, 0)));
  pgrad::Rng rng(1);
  std::vector<int> seen(5, 0);
  for (int i = 0; i < 500; ++i) {
    const auto a = space.sample(rng);
    REQUIRE(space.contains(a));
    ++seen[static_cast<std::size_t>(a[1])];
  }
  for (int count : seen) CHECK(count > 50);  // every position of the 5-way dial is drawn
  CHECK_THROWS_WITH(pgrad::envs::MultiDiscrete({}), Contains("nvec is empty"));
  CHECK_THROWS_WITH(pgrad::envs::MultiDiscrete({3, 0}), Contains("nvec[1] must be positive, got 0"));
}

TEST_CASE("MultiDiscrete environments pass check_env, and per-component masks are checked", "[multi_discrete][env]") {
  static_assert(pgrad::envs::has_multi_discrete_actions_v<Dials>);
  static_assert(!pgrad::envs::has_discrete_actions_v<Dials>);
  pgrad::envs::check_env(Dials{}, 1);
  pgrad::envs::check_env(masked_dials(), 1);
  BrokenDials broken;
  broken.masked = true;
  CHECK(error_of([&] { pgrad::envs::check_env(broken, 1); })
            .find("forbids every action of a component") != std::string::npos);
  pgrad::envs::VectorEnv<BrokenDials> vector_env(std::vector<BrokenDials>(2, broken), 1);
  vector_env.reset();
  pgrad::envs::VectorEnv<BrokenDials>::Actions actions = pgrad::envs::VectorEnv<BrokenDials>::Actions::Zero(3, 2);
  const auto allowed = [&] {  // the first allowed position of each dial, per copy
    for (Index i = 0; i < 2; ++i)
      for (Index k = 0, offset = 0; k < 3; offset += Dials::sizes[k], ++k) {
        Index a = 0;
        while (!vector_env.action_masks()(offset + a, i)) ++a;
        actions(k, i) = a;
      }
  };
  allowed();
  vector_env.step(actions);
  allowed();
  CHECK_THROWS_WITH(vector_env.step(actions), Contains("copy 0's action mask forbids every action of component 1"));
}

TEST_CASE("VectorEnv checks MultiDiscrete actions against the space and the masks", "[multi_discrete][env]") {
  pgrad::envs::VectorEnv<Dials> vector_env(std::vector<Dials>(2, masked_dials()), 1);
  vector_env.reset();
  using Actions = pgrad::envs::VectorEnv<Dials>::Actions;
  CHECK(vector_env.action_masks().rows() == 10);
  Actions wrong_shape = Actions::Zero(2, 2);
  CHECK_THROWS_WITH(vector_env.step(wrong_shape), Contains("expected 3x2 actions, got 2x2"));
  vector_env.reset();
  Actions out_of_range(3, 2);
  for (Index i = 0; i < 2; ++i) out_of_range.col(i) = vector_env.env(i).target;  // allowed
  out_of_range(1, 1) = 5;
  CHECK_THROWS_WITH(vector_env.step(out_of_range), Contains("action 5 of component 1 for copy 1 is outside {0, ..., 4}"));
  vector_env.reset();
  Actions forbidden(3, 2);
  for (Index i = 0; i < 2; ++i) forbidden.col(i) = vector_env.env(i).target;  // allowed
  forbidden(2, 0) = (vector_env.env(0).target[2] + 1) % 2;
  CHECK_THROWS_WITH(vector_env.step(forbidden), Contains("of component 2 for copy 0 is forbidden by its action mask"));
}

TEST_CASE("A MultiCategorical policy: PPO's gradient and TRPO's Fisher-vector product against finite differences",
          "[multi_discrete][gradient]") {
  using Policy = pgrad::ActorCritic<double, pgrad::dist::MultiCategorical<double>>;
  pgrad::PolicyConfig config;
  config.actor_hidden = {5};
  config.critic_hidden = {4};
  config.actor_output_gain = 1.0;
  pgrad::Rng rng(3);
  Policy policy(3, std::vector<Index>{3, 2, 4}, config, rng);
  CHECK(policy.action_size() == 9);
  CHECK(policy.action_rows() == 3);
  CHECK(policy.actor().output_size() == 9);
  Eigen::VectorXd theta = policy.flat_parameters();
  for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();
  policy.set_flat_parameters(theta);

  pgrad::algo::Minibatch<double, Policy::Actions> batch;
  batch.observations = pgrad_test::random_matrix(3, 10, rng);
  pgrad::RowVector<double> log_probs, values;
  policy.act(batch.observations, rng, batch.actions, log_probs, values);
  CHECK(batch.actions.rows() == 3);
  batch.old_log_probs = log_probs.array() + 0.3;
  batch.old_values = values;
  batch.advantages = pgrad_test::random_matrix(1, 10, rng);
  batch.returns = pgrad_test::random_matrix(1, 10, rng);
  pgrad::algo::PpoConfig ppo;
  ppo.ent_coef = 0.05;
  const auto coefficients = ppo.at(0.0);
  pgrad::algo::PpoLoss<Policy> loss;
  policy.zero_grad();
  loss.compute(policy, batch, coefficients);
  const Eigen::VectorXd analytic = policy.flat_gradients();
  const auto loss_at = [&](const Eigen::VectorXd& p) {
    Policy copy = policy;
    copy.set_flat_parameters(p);
    pgrad::algo::PpoLoss<Policy> fresh;
    return fresh.compute(copy, batch, coefficients).loss;
  };
  CHECK(pgrad_test::relative_error(analytic, pgrad_test::numerical_gradient(loss_at, theta)) <= 1e-6);
  CHECK(analytic.norm() > 1e-3);

  // F·v against the finite-difference Hessian of the mean KL.
  const Eigen::VectorXd policy_theta = policy.flat_parameters(pgrad::ParameterGroup::policy);
  const Eigen::VectorXd v = pgrad_test::random_matrix(policy_theta.size(), 1, rng);
  Policy::Actions modes;
  policy.act_deterministic(batch.observations, modes);
  policy.policy_pass(batch.observations, modes, [](const pgrad::PolicyTerms<double>& p) {
    p.log_prob_weight.setZero(p.log_probs.size());
    p.entropy_weight.setZero(p.log_probs.size());
  });
  Eigen::VectorXd fv;
  policy.fisher_vector_product(v, fv);
  const auto mean_kl = [&](const Eigen::VectorXd& p) {
    Policy old_policy = policy, new_policy = policy;
    new_policy.set_flat_parameters(p, pgrad::ParameterGroup::policy);
    Policy::Actions ignored;
    old_policy.act_deterministic(batch.observations, ignored);
    new_policy.act_deterministic(batch.observations, ignored);
    pgrad::RowVector<double> kl;
    old_policy.distribution().kl(new_policy.distribution(), kl);
    return kl.mean();
  };
  const auto directional = [&](const Eigen::VectorXd& p) {  // ∂/∂h KL(θ + h v) at h = 0, centrally
    const double h = 1e-4;
    return (mean_kl(p + h * v) - mean_kl(p - h * v)) / (2 * h);
  };
  CHECK(pgrad_test::relative_error(fv, pgrad_test::numerical_gradient(directional, policy_theta)) <= 1e-5);
  CHECK(fv.norm() > 1e-2);
  CHECK_THROWS_WITH(Policy(3, std::vector<Index>{3, 0}, config, rng), Contains("nvec[1] = 0 must be at least 1"));
}

TEST_CASE("MultiDiscrete PPO resumes exactly from a checkpoint, and refuses another nvec", "[multi_discrete][checkpoint]") {
  const pgrad_test::TempPath file("multi_discrete");
  const std::string& path = file.path;
  pgrad::algo::PpoConfig config;
  config.num_steps = 32;
  const long long total = 4 * config.batch_size();
  pgrad::algo::Ppo<Dials> straight(masked_dials(), config, 4);
  straight.learn(total);
  pgrad::algo::Ppo<Dials> first(masked_dials(), config, 4);
  first.learn(total, [&](const pgrad::algo::UpdateReport&) { return first.iteration() < 2; });
  REQUIRE(first.iteration() == 2);
  pgrad::save_checkpoint(first, path);
  pgrad::algo::Ppo<Dials> resumed(masked_dials(), config, 99);
  pgrad::load_checkpoint(resumed, path);
  resumed.learn(total);
  CHECK(resumed.iteration() == 4);
  CHECK(resumed.policy().flat_parameters() == straight.policy().flat_parameters());
  CHECK(resumed.policy().flat_parameters() != first.policy().flat_parameters());

  using Policy = pgrad::ActorCritic<float, pgrad::dist::MultiCategorical<float>>;
  pgrad::Rng rng(1);
  Policy other(3, std::vector<Index>{3, 4, 3}, config.policy, rng);
  pgrad::Writer writer;
  first.policy().save_state(writer);
  pgrad::Reader reader(writer.bytes(), "policy");
  CHECK_THROWS_WITH(other.load_state(reader), Contains("MultiDiscrete nvec differs: file has 5 where the policy has 4"));
}
