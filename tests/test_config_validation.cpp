// Configurations are validated completely and first: every field of every config (the policy's
// included) for range and finiteness, sizes against a memory bound, before anything is
// allocated; the error names the field.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#if defined(__GLIBC__)
#include "allocation_hooks.hpp"
#endif

using Catch::Matchers::Contains;
using CartPole = pgrad::envs::CartPole<float>;
using Pendulum = pgrad::envs::Pendulum<float>;

namespace {
const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double infinity = std::numeric_limits<double>::infinity();

/// Builds the algorithm; the constructor must throw a pgrad::Error whose message contains every
/// part, having allocated no more than a few kilobytes at a time.
template <class Algorithm, class Env, class Config, class Matcher>
void check_refused(const Env& env, const Config& config, const Matcher& message) {
#if defined(__GLIBC__)
  largest_allocation = 0;
  counting = true;
#endif
  std::string what;
  try {
    Algorithm algorithm(env, config, 1);
  } catch (const pgrad::Error& error) {
    what = error.what();
  }
#if defined(__GLIBC__)
  counting = false;
  CHECK(largest_allocation.load() < (std::size_t(1) << 20));
#endif
  CHECK_THAT(what, message);
}
}  // namespace

TEST_CASE("Sizes that would need too much memory are refused first, naming the field and the memory",
          "[config][errors]") {
  pgrad::algo::PpoConfig ppo;
  SECTION("num_steps 1e12") {
    ppo.num_steps = 1000000000000;
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo, Contains("Ppo: num_steps must be in [1, 1e9]"));
  }
  SECTION("num_envs 1e9") {
    ppo.num_envs = 1000000000;
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo, Contains("Ppo: num_envs must be in [1, 1e6]"));
  }
  SECTION("num_envs 2^32 x num_steps 2^32 (a product that overflows 64 bits to 0)") {
    ppo.num_envs = pgrad::Index(1) << 32;
    ppo.num_steps = pgrad::Index(1) << 32;
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo, Contains("num_envs must be in [1, 1e6]"));
    ppo.num_envs = 1000000;
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo, Contains("num_steps must be in [1, 1e9]"));
  }
  SECTION("a rollout within the sample bound that needs more than memory_limit_gib") {
    ppo.num_envs = 1000;
    ppo.num_steps = 1000000;  // 1e9 samples
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo,
                                              Contains("num_envs * num_steps = 1e+09 samples per rollout need about") &&
                                                  Contains("above memory_limit_gib = 16"));
    ppo.memory_limit_gib = 1e6;  // raised: the estimate passes (and the constructor would allocate it)
    CHECK_NOTHROW(ppo.check_memory("Ppo", 4, 2, 1, 4, 64));
  }
  SECTION("hidden sizes {1e6, 1e6}") {
    ppo.policy.actor_hidden = {1000000, 1000000};
    check_refused<pgrad::algo::Ppo<CartPole>>(
        CartPole(), ppo, Contains("Ppo: policy.actor_hidden gives a network of 1.00001e+12 parameters") && Contains("GiB"));
    ppo.policy.actor_hidden = {64};
    ppo.policy.critic_hidden = {1000000, 1000000};
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo, Contains("policy.critic_hidden gives a network"));
  }
  SECTION("many large environment copies") {
    pgrad::algo::A2cConfig a2c;
    a2c.num_envs = 100000;
    a2c.num_steps = 1;
    CHECK_THROWS_WITH(a2c.check_memory("A2c", 4, 2, 1, 4, 1e6),  // 1 MB per copy
                      Contains("A2c: num_envs = 100000 environment copies need about 93.") &&
                          Contains("above memory_limit_gib = 16"));
  }
  SECTION("a hidden layer above the size limit") {
    ppo.policy.shared_hidden = {pgrad::PolicyConfig::max_hidden_size + 1};
    check_refused<pgrad::algo::Ppo<CartPole>>(CartPole(), ppo, Contains("policy.shared_hidden[0] = 1048577"));
  }
  SECTION("learn's total_steps") {
    pgrad::algo::Ppo<CartPole> algorithm(CartPole(), ppo, 1);
    CHECK_THROWS_WITH(algorithm.learn(std::numeric_limits<long long>::max()), Contains("total_steps must be in [1, 2^62]"));
  }
}

TEST_CASE("Every policy field is checked, from the algorithm and from ActorCritic", "[config][errors]") {
  using Policy = pgrad::PolicyFor<Pendulum>;
  const std::pair<std::function<void(pgrad::PolicyConfig&)>, std::string> cases[] = {
      {[](pgrad::PolicyConfig& p) { p.actor_hidden = {64, 0}; }, "policy.actor_hidden[1] = 0"},
      {[](pgrad::PolicyConfig& p) { p.critic_hidden = {-3}; }, "policy.critic_hidden[0] = -3"},
      {[](pgrad::PolicyConfig& p) { p.shared_hidden = {0}; }, "policy.shared_hidden[0] = 0"},
      {[](pgrad::PolicyConfig& p) { p.actor_hidden.assign(63, 4); }, "policy.actor_hidden has 63 hidden layers"},
      {[](pgrad::PolicyConfig& p) { p.hidden_gain = not_a_number; }, "policy.hidden_gain must be finite"},
      {[](pgrad::PolicyConfig& p) { p.hidden_gain = infinity; }, "policy.hidden_gain must be finite"},
      {[](pgrad::PolicyConfig& p) { p.actor_output_gain = infinity; }, "policy.actor_output_gain must be finite"},
      {[](pgrad::PolicyConfig& p) { p.critic_output_gain = -1; }, "policy.critic_output_gain must be finite and >= 0"},
      {[](pgrad::PolicyConfig& p) { p.initial_log_std = not_a_number; }, "policy.initial_log_std must be finite"},
      {[](pgrad::PolicyConfig& p) { p.initial_log_std = -infinity; }, "policy.initial_log_std must be finite"},
      {[](pgrad::PolicyConfig& p) { p.initial_log_std = 90; }, "policy.initial_log_std must be finite and in [-20, 20], got 90"},
      {[](pgrad::PolicyConfig& p) { p.activation = static_cast<pgrad::nn::Activation>(7); },
       "policy.activation has the invalid value 7"},
      {[](pgrad::PolicyConfig& p) { p.init = static_cast<pgrad::PolicyInit>(-1); },
       "policy.init has the invalid value -1"},
      {[](pgrad::PolicyConfig& p) { p.box_distribution = static_cast<pgrad::BoxDistribution>(5); },
       "policy.box_distribution has the invalid value 5"},
      {[](pgrad::PolicyConfig& p) {
         p.recurrent_size = 8;
         p.box_distribution = pgrad::BoxDistribution::beta;
       },
       "policy.box_distribution = beta: recurrent policies have Gaussian heads only"},
  };
  for (const auto& [change, message] : cases) {
    INFO(message);
    pgrad::algo::PpoConfig ppo = pgrad::algo::PpoConfig::continuous_defaults();
    change(ppo.policy);
    check_refused<pgrad::algo::Ppo<Pendulum>>(Pendulum(), ppo, Contains("Ppo: " + message));
    pgrad::Rng rng(1);
    CHECK_THROWS_WITH(Policy(3, 1, ppo.policy, rng), Contains("ActorCritic: " + message));
  }
  pgrad::PolicyConfig huge;
  huge.actor_hidden = {1000000, 1000000};
  pgrad::Rng rng(1);
  CHECK_THROWS_WITH(Policy(3, 1, huge, rng), Contains("ActorCritic: policy.actor_hidden gives the actor 1.00001e+12 "
                                                      "parameters, above the limit of 1073741824"));
  CHECK_THROWS_WITH(Policy(0, 1, pgrad::PolicyConfig{}, rng), Contains("must be positive"));
}

TEST_CASE("Every algorithm field is checked for range and finiteness, naming it", "[config][errors]") {
  SECTION("OnPolicyConfig fields, through each algorithm") {
    const std::pair<std::function<void(pgrad::algo::OnPolicyConfig&)>, std::string> cases[] = {
        {[](pgrad::algo::OnPolicyConfig& c) { c.gamma = not_a_number; }, "gamma must be in [0, 1], got nan"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.gae_lambda = infinity; }, "gae_lambda must be in [0, 1], got inf"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.vf_coef = infinity; }, "vf_coef must be >= 0, got inf"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.vf_coef = not_a_number; }, "vf_coef must be >= 0, got nan"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.max_grad_norm = not_a_number; }, "max_grad_norm must be >= 0"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.memory_limit_gib = not_a_number; }, "memory_limit_gib must be finite"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.num_threads = 5000; }, "num_threads must be in [1, 1024]"},
        {[](pgrad::algo::OnPolicyConfig& c) { c.policy.critic_hidden = {0}; }, "policy.critic_hidden[0] = 0"},
    };
    for (const auto& [change, message] : cases) {
      INFO(message);
      pgrad::algo::PpoConfig ppo;
      pgrad::algo::A2cConfig a2c;
      pgrad::algo::ReinforceConfig reinforce;
      pgrad::algo::TrpoConfig trpo;
      change(ppo);
      change(a2c);
      change(reinforce);
      change(trpo);
      CHECK_THROWS_WITH(ppo.validate(), Contains("Ppo: " + message));
      CHECK_THROWS_WITH(a2c.validate(), Contains("A2c: " + message));
      CHECK_THROWS_WITH(reinforce.validate(), Contains("Reinforce: " + message));
      CHECK_THROWS_WITH(trpo.validate(), Contains("Trpo: " + message));
    }
  }
  SECTION("each algorithm's own fields") {
    pgrad::algo::PpoConfig ppo;
    ppo.target_kl = infinity;
    CHECK_THROWS_WITH(ppo.validate(), Contains("Ppo: target_kl must be >= 0"));
    ppo = {};
    ppo.adam_eps = not_a_number;
    CHECK_THROWS_WITH(ppo.validate(), Contains("Ppo: adam_eps must be >= 0"));
    ppo = {};
    ppo.update_epochs = 0;
    CHECK_THROWS_WITH(ppo.validate(), Contains("Ppo: update_epochs must be in [1, 1e5]"));
    pgrad::algo::A2cConfig a2c;
    a2c.optimizer = static_cast<pgrad::algo::A2cConfig::Optimizer>(9);
    CHECK_THROWS_WITH(a2c.validate(), Contains("A2c: optimizer has the invalid value 9"));
    a2c = {};
    a2c.rmsprop_alpha = not_a_number;
    CHECK_THROWS_WITH(a2c.validate(), Contains("A2c: rmsprop_alpha must be in [0, 1]"));
    a2c = {};
    a2c.optimizer_eps = infinity;
    CHECK_THROWS_WITH(a2c.validate(), Contains("A2c: optimizer_eps must be >= 0"));
    pgrad::algo::ReinforceConfig reinforce;
    reinforce.adam_eps = -infinity;
    CHECK_THROWS_WITH(reinforce.validate(), Contains("Reinforce: adam_eps must be >= 0"));
  }
  SECTION("scheduled coefficients cannot be infinite or NaN at all") {
    // A Schedule refuses a non-finite value when it is made, so +Inf never reaches a config.
    pgrad::algo::PpoConfig ppo;
    CHECK_THROWS_WITH(ppo.ent_coef = infinity, Contains("Schedule: value 0 is not finite (inf)"));
    CHECK_THROWS_WITH(ppo.clip_coef = infinity, Contains("Schedule: value 0 is not finite (inf)"));
    CHECK_THROWS_WITH(ppo.learning_rate = pgrad::Schedule::linear(not_a_number, 0.0), Contains("not finite"));
    ppo.ent_coef = -0.5;
    CHECK_THROWS_WITH(ppo.validate(), Contains("Ppo: ent_coef must be >= 0"));
  }
  SECTION("the optimisers refuse non-finite settings") {
    using Adam = pgrad::nn::Adam<float>;
    CHECK_THROWS_WITH(Adam(Adam::Config{std::numeric_limits<float>::infinity(), 0.9f, 0.999f, 1e-8f}),
                      Contains("Adam: invalid learning_rate = inf"));
    CHECK_THROWS_WITH(Adam(Adam::Config{1e-3f, 0.9f, 0.999f, std::numeric_limits<float>::quiet_NaN()}),
                      Contains("Adam: invalid eps"));
    using Sgd = pgrad::nn::Sgd<float>;
    CHECK_THROWS_WITH(Sgd(Sgd::Config{1e-2f, std::numeric_limits<float>::infinity()}),
                      Contains("Sgd: invalid momentum"));
  }
}
