// TRPO's parts against independent computations: the forward-mode pass J·v of an MLP against
// central differences of its outputs; the Fisher-vector product against the finite-difference
// Hessian of the mean KL at θ_old (Categorical and Gaussian, with and without a shared trunk);
// conjugate gradient on a known SPD system; the line search on a constructed objective; and the
// whole update: its accepted step stays in the trust region (KL recomputed here), a step with
// nothing to gain leaves the policy as it was, and any thread count gives the same bits.
#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <utility>

#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/conjugate_gradient.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>

#include "gradient_check.hpp"

using pgrad::Index;
using pgrad::Matrix;
using pgrad::RowVector;
using pgrad::Vector;
using Categorical = pgrad::ActorCritic<double, pgrad::dist::Categorical<double>>;
using Gaussian = pgrad::ActorCritic<double, pgrad::dist::ContinuousDistribution<double>>;

using pgrad_test::random_matrix;

namespace {

Vector<double> random_vector(Index size, pgrad::Rng& rng) { return random_matrix(size, 1, rng); }

pgrad::PolicyConfig small_policy(bool shared_trunk) {
  pgrad::PolicyConfig config;
  config.actor_hidden = {5, 4};
  config.critic_hidden = {6};
  config.actor_output_gain = 1.0;  // logits and means far enough from 0 that the metric matters
  config.initial_log_std = -0.4;
  if (shared_trunk) {
    config.shared_hidden = {6};
    config.actor_hidden = {5};
  }
  return config;
}

template <class Policy>
Policy make_policy(Index actions, bool shared_trunk, pgrad::Rng& rng) {
  Policy policy(3, actions, small_policy(shared_trunk), rng);
  Vector<double> theta = policy.flat_parameters();
  for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();  // non-zero biases
  policy.set_flat_parameters(theta);
  return policy;
}

// mean_j KL(π_old(·|s_j) || π_θ(·|s_j)) with θ the policy group's parameters.
template <class Policy>
double mean_kl(const Policy& reference, const Vector<double>& theta, const Matrix<double>& observations) {
  Policy old_policy = reference, new_policy = reference;
  new_policy.set_flat_parameters(theta, pgrad::ParameterGroup::policy);
  typename Policy::Actions actions;
  old_policy.act_deterministic(observations, actions);
  new_policy.act_deterministic(observations, actions);
  RowVector<double> kl;
  old_policy.distribution().kl(new_policy.distribution(), kl);
  return kl.mean();
}

template <class Policy>
void check_fisher_vector_product(Policy& policy, pgrad::Rng& rng) {
  const Matrix<double> observations = random_matrix(3, 7, rng);
  const Vector<double> theta = policy.flat_parameters(pgrad::ParameterGroup::policy);
  const Vector<double> v = random_vector(theta.size(), rng);
  typename Policy::Actions actions;
  policy.act_deterministic(observations, actions);
  policy.policy_pass(observations, actions, [](const pgrad::PolicyTerms<double>& p) {
    p.log_prob_weight.setZero(p.log_probs.size());
    p.entropy_weight.setZero(p.log_probs.size());
  });
  Vector<double> analytic;
  policy.fisher_vector_product(v, analytic);
  // (H v)_i = ∂²KL/∂θ_i∂(θ·v): mixed central differences of the KL itself.
  const double h = 1e-4;
  Vector<double> numeric(theta.size());
  for (Index i = 0; i < theta.size(); ++i) {
    Vector<double> e = Vector<double>::Zero(theta.size());
    e[i] = h;
    numeric[i] = (mean_kl(policy, theta + h * v + e, observations) - mean_kl(policy, theta + h * v - e, observations) -
                  mean_kl(policy, theta - h * v + e, observations) + mean_kl(policy, theta - h * v - e, observations)) /
                 (4 * h * h);
  }
  CHECK(pgrad_test::relative_error(analytic, numeric) <= 1e-5);
  CHECK(analytic.norm() > 1e-2);  // the check means something
  CHECK(v.dot(analytic) > 0);     // F is positive semi-definite
}

}  // namespace

TEST_CASE("Mlp::forward_tangent is J·v: central differences of the outputs", "[trpo][nn]") {
  using pgrad::nn::Activation;
  for (Activation hidden : {Activation::identity, Activation::tanh, Activation::relu}) {
    INFO(pgrad::nn::to_string(hidden));
    pgrad::Rng rng(3);
    pgrad::nn::Mlp<double> net({3, 5, 4, 2}, hidden, Activation::tanh);
    net.parameters().value = random_vector(net.parameters().size(), rng);
    const Matrix<double> x = random_matrix(3, 6, rng), x_tangent = random_matrix(3, 6, rng);
    const Vector<double> direction = random_vector(net.parameters().size(), rng);
    net.forward(x);
    const Matrix<double> with_input = net.forward_tangent(direction, &x_tangent);
    const Matrix<double> parameters_only = net.forward_tangent(direction);
    const Vector<double> theta = net.parameters().value;
    const auto outputs = [&](double step, bool move_input) {
      pgrad::nn::Mlp<double> copy = net;
      copy.parameters().value = theta + step * direction;
      Matrix<double> y;
      copy.predict(move_input ? Matrix<double>(x + step * x_tangent) : x, y);
      return y;
    };
    const double h = 1e-6;
    const Matrix<double> numeric_with_input = (outputs(h, true) - outputs(-h, true)) / (2 * h);
    const Matrix<double> numeric = (outputs(h, false) - outputs(-h, false)) / (2 * h);
    CHECK(pgrad_test::relative_error(with_input, numeric_with_input) <= 1e-7);
    CHECK(pgrad_test::relative_error(parameters_only, numeric) <= 1e-7);
    CHECK(numeric.norm() > 1e-2);
  }
}

TEST_CASE("fisher_vector_product is the Hessian of the mean KL at θ_old times v", "[trpo][policy]") {
  for (bool shared_trunk : {false, true}) {
    INFO("shared trunk " << shared_trunk);
    pgrad::Rng rng(shared_trunk ? 11 : 12);
    auto categorical = make_policy<Categorical>(4, shared_trunk, rng);
    check_fisher_vector_product(categorical, rng);
    auto gaussian = make_policy<Gaussian>(2, shared_trunk, rng);
    check_fisher_vector_product(gaussian, rng);
  }
}

TEST_CASE("policy_pass gives the policy group's gradient of train_pass, and leaves the critic's alone", "[trpo][policy]") {
  for (bool shared_trunk : {false, true}) {
    INFO("shared trunk " << shared_trunk);
    pgrad::Rng rng(21);
    auto policy = make_policy<Gaussian>(2, shared_trunk, rng);
    const Matrix<double> observations = random_matrix(3, 9, rng);
    Matrix<double> actions;
    RowVector<double> log_probs;
    policy.act(observations, rng, actions, log_probs);
    const auto policy_part = [](const pgrad::PolicyTerms<double>& p) {
      p.log_prob_weight = p.log_probs.array().sin().matrix();  // any per-sample weights
      p.entropy_weight.setConstant(p.log_probs.size(), 0.3);
    };
    policy.zero_grad();
    policy.train_pass(observations, actions, policy_part, [](const pgrad::ValueTerms<double>& v) {
      v.value_weight.setZero(v.values.size());
    });
    const Vector<double> expected = policy.flat_gradients(pgrad::ParameterGroup::policy);
    policy.zero_grad();
    policy.policy_pass(observations, actions, policy_part);
    CHECK(pgrad_test::relative_error(policy.flat_gradients(pgrad::ParameterGroup::policy), expected) <= 1e-14);
    CHECK(expected.norm() > 1e-2);
    CHECK(policy.flat_gradients(pgrad::ParameterGroup::critic).norm() == 0.0);
  }
}

TEST_CASE("fisher_vector_product of every Box head (Gaussian, squashed Gaussian, Beta; log σ(s)) is the Hessian "
          "of the mean KL", "[trpo][policy]") {
  using pgrad::BoxDistribution;
  for (BoxDistribution kind : {BoxDistribution::gaussian, BoxDistribution::squashed_gaussian, BoxDistribution::beta})
    for (bool state_dependent : {false, true})
      for (bool trunk : {false, true}) {
        if (kind == BoxDistribution::beta && state_dependent) continue;
        INFO(pgrad::box_distribution_name(kind) << ", state-dependent " << state_dependent << ", trunk " << trunk);
        pgrad::Rng rng(trunk ? 17 : 18);
        pgrad::PolicyConfig config = small_policy(trunk);
        config.box_distribution = kind;
        config.state_dependent_std = state_dependent;
        Gaussian policy(3, 2, config, rng);
        Vector<double> theta = policy.flat_parameters();
        for (Index i = 0; i < theta.size(); ++i) theta[i] += 0.1 * rng.normal<double>();
        policy.set_flat_parameters(theta);
        check_fisher_vector_product(policy, rng);
      }
}

TEST_CASE("conjugate_gradient solves a symmetric positive-definite system", "[trpo][cg]") {
  pgrad::Rng rng(5);
  const Matrix<double> b_matrix = random_matrix(12, 12, rng);
  const Matrix<double> a = b_matrix.transpose() * b_matrix + 0.5 * Matrix<double>::Identity(12, 12);
  const Vector<double> b = random_vector(12, rng);
  const auto product = [&](const Vector<double>& v, Vector<double>& out) { out = a * v; };
  Vector<double> x, scratch[3];
  const auto solved = pgrad::conjugate_gradient<double>(product, b, x, 50, 1e-24, scratch);
  CHECK((a * x - b).norm() <= 1e-9 * b.norm());
  CHECK(solved.steps <= 20);  // about n steps in exact arithmetic; a few more in double
  const auto partial = pgrad::conjugate_gradient<double>(product, b, x, 3, 1e-24, scratch);
  CHECK(partial.steps == 3);
  CHECK(partial.residual == Approx((b - a * x).norm()).epsilon(1e-8));  // the residual it reports is the true one
  CHECK(partial.residual > 1e-6);
  const auto negative = [&](const Vector<double>& v, Vector<double>& out) { out = -(a * v); };
  CHECK_THROWS_WITH(pgrad::conjugate_gradient<double>(negative, b, x, 5, 1e-24, scratch),
                    Catch::Contains("not positive definite"));
}

TEST_CASE("the line search keeps the first step inside the trust region that improves the surrogate", "[trpo]") {
  // surrogate(θ) = θ·d - ½‖θ‖², KL(θ) = ‖θ - start‖², start = 0.
  const Vector<double> d = (Vector<double>(2) << 1.0, 0.5).finished();
  const Vector<double> start = Vector<double>::Zero(2);
  const auto evaluate = [&](const Vector<double>& theta) {
    return std::pair<double, double>(theta.dot(d) - 0.5 * theta.squaredNorm(), (theta - start).squaredNorm());
  };
  Vector<double> candidate;
  // Along d with a step whose KL is 4·‖d‖² = 5: shrinks until 0.8^k·2·‖d‖ <= 0.5 ... KL <= 0.25.
  const auto along = pgrad::algo::backtracking_line_search<double>(evaluate, start, d, 2.0, 0.0, 0.25, 0.8, 10,
                                                                   candidate);
  REQUIRE(along.accepted);
  const double scale = 2.0 * std::pow(0.8, static_cast<double>(along.shrinks));
  CHECK(scale * scale * d.squaredNorm() <= 0.25);                   // inside the region
  CHECK((scale / 0.8) * (scale / 0.8) * d.squaredNorm() > 0.25);    // the one before was not
  CHECK(candidate.isApprox(scale * d));
  CHECK(along.kl <= 0.25);
  CHECK(along.surrogate > 0.0);
  // Against d every step lowers the surrogate: nothing is accepted, however small.
  const auto against = pgrad::algo::backtracking_line_search<double>(evaluate, start, Vector<double>(-d), 1.0, 0.0,
                                                                     0.25, 0.8, 10, candidate);
  CHECK_FALSE(against.accepted);
  CHECK(against.shrinks == 9);
  // No step at all.
  CHECK_FALSE(pgrad::algo::backtracking_line_search<double>(evaluate, start, d, 0.0, 0.0, 0.25, 0.8, 10, candidate)
                  .accepted);
}

namespace {
pgrad::algo::TrpoConfig small_trpo() {
  pgrad::algo::TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 64;
  config.critic_minibatch_size = 32;
  config.critic_epochs = 2;
  config.policy.actor_hidden = {16};
  config.policy.critic_hidden = {16};
  return config;
}
}  // namespace

TEST_CASE("a TRPO step stays in the trust region: KL(π_old || π_new) recomputed on the batch", "[trpo]") {
  using Env = pgrad::envs::Pendulum<double>;
  pgrad::algo::TrpoConfig config = small_trpo();
  config.target_kl = 0.02;
  pgrad::algo::Trpo<Env> trpo(Env{}, config, 4);
  int accepted = 0;
  for (int update = 1; update <= 4; ++update) {
    const auto before = trpo.policy();
    pgrad::algo::UpdateReport last;
    trpo.learn(update * config.batch_size(), [&](const pgrad::algo::UpdateReport& r) {
      last = r;
      return true;
    });
    const Matrix<double>& observations = trpo.rollout().observations;
    Matrix<double> actions;
    auto old_policy = before;
    auto new_policy = trpo.policy();
    old_policy.act_deterministic(observations, actions);
    new_policy.act_deterministic(observations, actions);
    RowVector<double> kl;
    old_policy.distribution().kl(new_policy.distribution(), kl);
    INFO("update " << update);
    if (last.policy_step_accepted) {
      ++accepted;
      CHECK(kl.mean() <= config.target_kl);
      CHECK(kl.mean() == Approx(last.approx_kl).epsilon(1e-9));
      CHECK(kl.mean() > 0);
    } else {
      CHECK(kl.mean() == 0.0);
    }
  }
  CHECK(accepted >= 3);
}

TEST_CASE("with nothing to gain TRPO leaves the policy unchanged and says so; the critic still learns", "[trpo]") {
  using Env = pgrad::envs::CartPole<double>;
  pgrad::algo::TrpoConfig config = small_trpo();
  config.normalize_advantages = false;
  pgrad::algo::Trpo<Env> trpo(Env{}, config, 6);
  trpo.learn(config.batch_size());  // a first rollout and update
  auto rollout = trpo.rollout();
  rollout.advantages.setZero();     // no advantage anywhere: the gradient is 0
  auto policy = trpo.policy();
  const Vector<double> policy_before = policy.flat_parameters(pgrad::ParameterGroup::policy);
  const Vector<double> critic_before = policy.flat_parameters(pgrad::ParameterGroup::critic);
  pgrad::RandomStreams streams(1);
  pgrad::algo::SingleProcess one_process;
  pgrad::algo::TrpoUpdate<decltype(policy)> update(config, policy, streams, pgrad::algo::ShardLayout{}, one_process);
  pgrad::ThreadPool workers(1);
  const auto report = update.update(config, policy, rollout, 0.5, workers);
  CHECK_FALSE(report.policy_step_accepted);
  CHECK(report.grad_norm == 0.0);
  CHECK(policy.flat_parameters(pgrad::ParameterGroup::policy) == policy_before);
  CHECK(policy.flat_parameters(pgrad::ParameterGroup::critic) != critic_before);
}

TEST_CASE("TRPO gives the same bits with any thread count", "[trpo][determinism]") {
  using Env = pgrad::envs::CartPole<float>;
  auto train = [](int threads, pgrad::envs::ParallelStepping stepping) {
    pgrad::algo::TrpoConfig config = small_trpo();
    config.num_threads = threads;
    pgrad::algo::Trpo<Env> trpo(Env{}, config, 9);
    trpo.collector().env().set_parallel_stepping(stepping);
    trpo.learn(4 * config.batch_size());
    return Vector<float>(trpo.policy().flat_parameters());
  };
  const auto one = train(1, pgrad::envs::ParallelStepping::automatic);
  CHECK(train(2, pgrad::envs::ParallelStepping::automatic) == one);
  CHECK(train(2, pgrad::envs::ParallelStepping::always) == one);
}

TEST_CASE("TRPO's configuration is validated naming the field", "[trpo][errors]") {
  pgrad::algo::TrpoConfig config;
  config.target_kl = 0;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("target_kl"));
  config = {};
  config.line_search_shrink = 1.0;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("line_search_shrink"));
  config = {};
  config.critic_minibatch_size = 4096;  // above the 2048-sample rollout
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("critic_minibatch_size"));
  config = {};
  config.policy.with_critic = false;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("with_critic"));
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::pair<double pgrad::algo::TrpoConfig::*, const char*> fields[] = {
      {&pgrad::algo::TrpoConfig::target_kl, "target_kl"},
      {&pgrad::algo::TrpoConfig::cg_damping, "cg_damping"},
      {&pgrad::algo::TrpoConfig::line_search_shrink, "line_search_shrink"},
      {&pgrad::algo::TrpoConfig::adam_eps, "adam_eps"}};
  for (const auto& [field, name] : fields)
    for (double bad : {nan, inf, -inf}) {
      config = {};
      config.*field = bad;
      INFO(name << " = " << bad);
      CHECK_THROWS_WITH(config.validate(), Catch::Contains(std::string("Trpo: ") + name));
    }
}
