// TRPO for recurrent policies: RecurrentActorCritic's Fisher-vector product against the
// finite-difference Hessian of the mean KL over sequences with resets in the middle and non-zero
// initial states (Categorical and Gaussian, shared and separate GRUs), float against double;
// policy_pass and value_pass against the halves of train_sequences; then the whole update: its
// accepted steps stay in the trust region (KL recomputed on the sequences), any thread count
// gives the same bits, a checkpoint resumes exactly, updates allocate nothing after the first,
// and a critic minibatch that is not whole sequences is refused.
#include <catch2/catch.hpp>

#if defined(__GLIBC__)
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>

#include "allocation_hooks.hpp"
#include "gradient_check.hpp"
#include "recurrent_checks.hpp"

using pgrad::BoolRowVector;
using pgrad::Index;
using pgrad::Matrix;
using pgrad::ParameterGroup;
using pgrad::RowVector;
using pgrad::Vector;
using pgrad_test::random_matrix;
using pgrad_test::relative_error;

namespace {

using pgrad_test::Discrete;
using pgrad_test::Gaussian;

constexpr Index obs_size = 3, steps = 5, sequences = 3;

// Sequences with an episode boundary in the middle of two of them and a non-zero initial state,
// the policy's parameters moved off their initialisation (non-zero biases), and actions sampled.
template <class Policy>
struct Sequences {
  Policy policy;
  Matrix<double> x, h0;
  BoolRowVector resets;
  typename Policy::Actions actions;

  explicit Sequences(bool shared, std::uint64_t seed) : policy(make(shared, seed)) {
    pgrad::Rng rng(seed + 100);
    x = random_matrix(obs_size, steps * sequences, rng);
    h0 = 0.5 * random_matrix(policy.hidden_size(), sequences, rng);
    resets = BoolRowVector::Constant(steps * sequences, false);
    resets[2 * sequences + 0] = true;  // sequence 0's episode ends after step 1
    resets[3 * sequences + 2] = true;
    Matrix<double> hidden = h0;
    Policy sampler = policy;
    typename Policy::Actions step_actions;
    RowVector<double> log_probs;
    actions.resize(Policy::discrete ? 1 : 2, steps * sequences);
    for (Index t = 0; t < steps; ++t) {
      for (Index b = 0; b < sequences; ++b)
        if (resets[t * sequences + b]) hidden.col(b).setZero();
      sampler.act(x.middleCols(t * sequences, sequences), hidden, rng, step_actions, log_probs);
      actions.middleCols(t * sequences, sequences) = step_actions;
    }
  }
  static Policy make(bool shared, std::uint64_t seed) {
    pgrad::Rng rng(seed);
    pgrad::PolicyConfig config = pgrad_test::small_recurrent_config(shared);
    config.initial_log_std = -0.4;
    Policy policy(obs_size, Policy::discrete ? 3 : 2, config, rng);
    using S = typename Policy::Scalar;
    Vector<S> theta = policy.flat_parameters();
    for (Index i = 0; i < theta.size(); ++i) theta[i] += static_cast<S>(0.1 * rng.normal<double>());
    policy.set_flat_parameters(theta);
    return policy;
  }

  // mean_j KL(π_old(·|j) || π_θ(·|j)) over the samples, θ the policy group's parameters.
  double mean_kl(const Vector<double>& theta) const {
    Policy old_policy = policy, new_policy = policy;
    new_policy.set_flat_parameters(theta, ParameterGroup::policy);
    RowVector<double> log_probs, entropy, kl;
    old_policy.evaluate_sequences(x, actions, h0, resets, sequences, log_probs, entropy);
    new_policy.evaluate_sequences(x, actions, h0, resets, sequences, log_probs, entropy);
    old_policy.evaluated_distribution().kl(new_policy.evaluated_distribution(), kl);
    return kl.mean();
  }

  template <class PolicyPart>
  void policy_pass(Policy& p, PolicyPart&& part) const {
    p.policy_pass(x, actions, h0, resets, sequences, part);
  }
};

const auto no_policy_loss = [](const pgrad::PolicyTerms<double>& p) {
  p.log_prob_weight.setZero(p.log_probs.size());
  p.entropy_weight.setZero(p.log_probs.size());
};

template <class Policy>
void check_fisher_vector_product(bool shared) {
  Sequences<Policy> data(shared, shared ? 31 : 32);
  Policy& policy = data.policy;
  pgrad::Rng rng(7);
  const Vector<double> theta = policy.flat_parameters(ParameterGroup::policy);
  const Vector<double> v = random_matrix(theta.size(), 1, rng);
  data.policy_pass(policy, no_policy_loss);
  Vector<double> analytic;
  policy.fisher_vector_product(v, analytic);
  CHECK(policy.flat_gradients(ParameterGroup::critic).norm() == 0.0);  // the critic takes no part
  // (H v)_i = ∂²KL/∂θ_i∂(θ·v): mixed central differences of the KL itself.
  const double h = 1e-4;
  Vector<double> numeric(theta.size());
  for (Index i = 0; i < theta.size(); ++i) {
    Vector<double> e = Vector<double>::Zero(theta.size());
    e[i] = h;
    numeric[i] = (data.mean_kl(theta + h * v + e) - data.mean_kl(theta + h * v - e) -
                  data.mean_kl(theta - h * v + e) + data.mean_kl(theta - h * v - e)) /
                 (4 * h * h);
  }
  CHECK(relative_error(analytic, numeric) <= 1e-5);
  // Block by block (encoder, GRU, actor head, log-std), so that no block's error hides.
  Index offset = 0;
  for (Index size : policy.block_sizes(ParameterGroup::policy)) {
    INFO("block at " << offset << " of size " << size);
    CHECK(numeric.segment(offset, size).norm() > 1e-4);
    CHECK(relative_error(analytic.segment(offset, size), numeric.segment(offset, size)) <= 1e-5);
    offset += size;
  }
  CHECK(v.dot(analytic) > 0);  // F is positive semi-definite
  // A second product at the same point gives the same bits (the passes keep their state).
  Vector<double> again;
  policy.fisher_vector_product(v, again);
  CHECK(again == analytic);
}

template <class Policy>
void check_halves_of_train_sequences(bool shared) {
  Sequences<Policy> data(shared, 41);
  Policy& policy = data.policy;
  const auto policy_part = [](const pgrad::PolicyTerms<double>& p) {
    p.log_prob_weight = p.log_probs.array().sin().matrix();  // any per-sample weights
    p.entropy_weight.setConstant(p.log_probs.size(), 0.3);
  };
  const auto value_part = [](const pgrad::ValueTerms<double>& v) {
    v.value_weight = (v.values.array() * 0.7 - 0.2).matrix();
  };
  const auto no_value_loss = [](const pgrad::ValueTerms<double>& v) { v.value_weight.setZero(v.values.size()); };
  policy.zero_grad();
  policy.train_sequences(data.x, data.actions, data.h0, data.resets, sequences, policy_part, no_value_loss);
  const Vector<double> expected_policy = policy.flat_gradients(ParameterGroup::policy);
  policy.zero_grad();
  data.policy_pass(policy, policy_part);
  CHECK(relative_error(policy.flat_gradients(ParameterGroup::policy), expected_policy) <= 1e-14);
  CHECK(expected_policy.norm() > 1e-2);
  CHECK(policy.flat_gradients(ParameterGroup::critic).norm() == 0.0);

  policy.zero_grad();
  policy.train_sequences(data.x, data.actions, data.h0, data.resets, sequences, no_policy_loss, value_part);
  const Vector<double> expected_critic = policy.flat_gradients(ParameterGroup::critic);
  policy.zero_grad();
  policy.value_pass(data.x, data.h0, data.resets, sequences, value_part);
  CHECK(relative_error(policy.flat_gradients(ParameterGroup::critic), expected_critic) <= 1e-14);
  CHECK(expected_critic.norm() > 1e-2);
  // A shared encoder and GRU only feed the critic here: the policy's parameters get nothing.
  CHECK(policy.flat_gradients(ParameterGroup::policy).norm() == 0.0);
}

}  // namespace

TEST_CASE("Recurrent fisher_vector_product is the Hessian of the mean KL over sequences with resets",
          "[recurrent][trpo]") {
  SECTION("Categorical, shared GRU") { check_fisher_vector_product<Discrete<double>>(true); }
  SECTION("Categorical, separate GRUs") { check_fisher_vector_product<Discrete<double>>(false); }
  SECTION("DiagGaussian, shared GRU") { check_fisher_vector_product<Gaussian<double>>(true); }
  SECTION("DiagGaussian, separate GRUs") { check_fisher_vector_product<Gaussian<double>>(false); }
}

TEST_CASE("Recurrent fisher_vector_product in float agrees with double", "[recurrent][trpo]") {
  for (bool shared : {true, false}) {
    INFO("shared " << shared);
    Sequences<Discrete<double>> data(shared, 51);
    Discrete<float> single = Sequences<Discrete<float>>::make(shared, 51);
    single.set_flat_parameters(data.policy.flat_parameters().cast<float>());
    pgrad::Rng rng(8);
    const Vector<double> v = random_matrix(data.policy.parameter_count(ParameterGroup::policy), 1, rng);
    data.policy_pass(data.policy, no_policy_loss);
    Vector<double> product;
    data.policy.fisher_vector_product(v, product);
    single.policy_pass(data.x.cast<float>(), data.actions, data.h0.cast<float>(), data.resets, sequences,
                       [](const pgrad::PolicyTerms<float>& p) {
                         p.log_prob_weight.setZero(p.log_probs.size());
                         p.entropy_weight.setZero(p.log_probs.size());
                       });
    Vector<float> product_f;
    single.fisher_vector_product(v.cast<float>(), product_f);
    CHECK(relative_error(product, product_f.cast<double>()) < 1e-5);
    CHECK(product.norm() > 1e-2);
  }
}

TEST_CASE("Recurrent policy_pass and value_pass are the halves of train_sequences", "[recurrent][trpo]") {
  SECTION("Categorical, shared GRU") { check_halves_of_train_sequences<Discrete<double>>(true); }
  SECTION("Categorical, separate GRUs") { check_halves_of_train_sequences<Discrete<double>>(false); }
  SECTION("DiagGaussian, shared GRU") { check_halves_of_train_sequences<Gaussian<double>>(true); }
  SECTION("DiagGaussian, separate GRUs") { check_halves_of_train_sequences<Gaussian<double>>(false); }
}

namespace {

using Env = pgrad_test::HiddenVelocityCartPole;
using Policy = pgrad::RecurrentPolicyFor<Env>;
using Trpo = pgrad::algo::Trpo<Env, Policy>;
constexpr auto env = pgrad_test::hidden_velocity_cartpole;

pgrad::algo::TrpoConfig small_trpo(bool shared = true) {
  pgrad::algo::TrpoConfig config = pgrad::algo::presets::cartpole_trpo_gru();
  config.num_envs = 4;
  config.num_steps = 32;
  config.critic_minibatch_size = 64;  // two sequences
  config.critic_epochs = 2;
  config.policy = pgrad_test::small_gru_policy(shared);
  return config;
}

}  // namespace

TEST_CASE("A recurrent TRPO step stays in the trust region: KL recomputed on the sequences", "[recurrent][trpo]") {
  for (bool shared : {true, false}) {
    pgrad::algo::TrpoConfig config = small_trpo(shared);
    config.target_kl = 0.02;
    Trpo trpo(env(), config, 4);
    int accepted = 0;
    for (int update = 1; update <= 4; ++update) {
      const Policy before = trpo.policy();
      pgrad::algo::UpdateReport last;
      trpo.learn(update * config.batch_size(), [&](const pgrad::algo::UpdateReport& r) {
        last = r;
        return true;
      });
      pgrad::algo::SequenceMinibatch<float, Policy::Actions> batch;
      batch.gather_all(trpo.rollout());
      Policy old_policy = before, new_policy = trpo.policy();
      RowVector<float> log_probs, entropy, kl;
      batch.evaluate(old_policy, log_probs, entropy);
      batch.evaluate(new_policy, log_probs, entropy);
      old_policy.evaluated_distribution().kl(new_policy.evaluated_distribution(), kl);
      INFO("shared " << shared << ", update " << update);
      REQUIRE(trpo.rollout().terminated.any());  // the sequences have episode boundaries
      if (last.policy_step_accepted) {
        ++accepted;
        CHECK(kl.mean() <= config.target_kl * 1.0001);
        CHECK(kl.mean() == Approx(last.approx_kl).epsilon(1e-3));
        CHECK(kl.mean() > 0);
      } else {
        CHECK(kl.mean() == 0.0f);
      }
      CHECK(trpo.policy().flat_parameters(ParameterGroup::critic) != before.flat_parameters(ParameterGroup::critic));
    }
    CHECK(accepted >= 3);
  }
}

TEST_CASE("Recurrent TRPO is bit-identical whatever the thread count", "[recurrent][trpo][determinism]") {
  for (bool shared : {true, false}) {
    const pgrad::algo::TrpoConfig config = small_trpo(shared);
    pgrad_test::check_same_bits_across_threads<Trpo>(env(), config, 4 * config.batch_size(), {1, 2});
  }
}

TEST_CASE("Recurrent TRPO resumes exactly from a checkpoint", "[recurrent][trpo][checkpoint]") {
  const pgrad::algo::TrpoConfig config = small_trpo(false);
  Trpo resumed(env(), config, 12345);
  pgrad_test::check_exact_resume(env(), config, resumed);
}

TEST_CASE("Recurrent TRPO updates allocate nothing after the first", "[recurrent][trpo][alloc]") {
  for (int threads : {1, 2}) {
    pgrad::algo::TrpoConfig config = small_trpo(threads == 1);
    config.num_threads = threads;
    Trpo trpo(env(), config, 3);
    int done = 0;
    allocations = 0;
    trpo.learn(8 * config.batch_size(), [&](const pgrad::algo::UpdateReport&) {
      if (++done == 2) counting = true;
      return true;
    });
    counting = false;
    INFO("threads " << threads);
    CHECK(done == 8);
    CHECK(allocations.load() == 0);
  }
}

TEST_CASE("Recurrent TRPO needs critic minibatches of whole sequences", "[recurrent][trpo][errors]") {
  pgrad::algo::TrpoConfig config = small_trpo();
  config.critic_minibatch_size = 48;  // one and a half sequences of 32 steps
  CHECK_THROWS_WITH(Trpo(env(), config, 1), Catch::Contains("critic_minibatch_size = 48 is not a whole number of "
                                                            "num_steps = 32 sequences"));
  config.critic_minibatch_size = 32;
  CHECK_NOTHROW(Trpo(env(), config, 1));
}
#endif
