#pragma once
// pgrad::algo::A2c: synchronous advantage actor-critic (Mnih et al. 2016, as Stable-Baselines3's A2C).
#include <cmath>
#include <optional>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/algorithms/policy_gradient.hpp>
#include <pgrad/nn/optimizer.hpp>

namespace pgrad::algo {

/// A2C hyperparameters; the defaults are Stable-Baselines3's A2C with the RL-Zoo CartPole
/// setting of 8 environments: 5-step rollouts, GAE λ = 1 (n-step returns), RMSprop(α 0.99,
/// ε 1e-5) at a constant lr 7e-4, vf_coef 0.5, no entropy bonus, gradient norm clipped at 0.5,
/// advantages not normalised.
struct A2cConfig : OnPolicyConfig {
  enum class Optimizer { rmsprop, adam };
  Optimizer optimizer = Optimizer::rmsprop;
  double rmsprop_alpha = 0.99;
  double optimizer_eps = 1e-5;

  A2cConfig() {
    num_envs = 8;
    num_steps = 5;
    learning_rate = 7e-4;
    gae_lambda = 1.0;
    ent_coef = 0.0;
    normalize_advantages = false;
  }

  /// Calls f(name, value) for every hyperparameter (checkpoints record and check them).
  template <class F>
  void visit(F&& f) const {
    OnPolicyConfig::visit(f);
    f("optimizer", optimizer == Optimizer::rmsprop ? 0.0 : 1.0);
    f("rmsprop_alpha", rmsprop_alpha);
    f("optimizer_eps", optimizer_eps);
  }

  /// Throws pgrad::Error naming the first invalid field.
  void validate() const {
    OnPolicyConfig::validate("A2c");
    check_unit_interval(rmsprop_alpha, "A2c", "rmsprop_alpha");
    PGRAD_REQUIRE(optimizer_eps >= 0 && std::isfinite(optimizer_eps), "A2c: optimizer_eps must be >= 0, got ",
                  optimizer_eps);
    PGRAD_REQUIRE(optimizer == Optimizer::rmsprop || optimizer == Optimizer::adam,
                  "A2c: optimizer has the invalid value ", static_cast<int>(optimizer));
    PGRAD_REQUIRE(policy.with_critic, "A2c: the policy needs a critic (policy.with_critic)");
  }
};

/// The A2C update: one gradient step of the vanilla policy-gradient loss (mean over the
/// rollout) with RMSprop or Adam on the whole rollout. Only the chosen optimiser exists.
template <class PolicyType>
class A2cUpdate {
 public:
  using Policy = PolicyType;
  using Config = A2cConfig;
  using S = typename Policy::Scalar;
  static constexpr const char* name = "A2c";
  static constexpr bool one_episode = false;

  /// The rollout is split into the layout's shards (A2C over MPI).
  A2cUpdate(const A2cConfig& config, const Policy& policy, RandomStreams&, const ShardLayout& layout,
            Communicator& comm)
      : step_(layout, comm, Reduction::mean) {
    const S lr = static_cast<S>(config.learning_rate(0.0)), eps = static_cast<S>(config.optimizer_eps);
    if (config.optimizer == A2cConfig::Optimizer::rmsprop) {
      rmsprop_.emplace(typename nn::RMSprop<S>::Config{lr, static_cast<S>(config.rmsprop_alpha), eps});
      rmsprop_->expect_blocks(policy.block_sizes());
    } else {
      adam_.emplace(typename nn::Adam<S>::Config{lr, S(0.9), S(0.999), eps});
      adam_->expect_blocks(policy.block_sizes());
    }
  }

  UpdateReport update(const A2cConfig& config, Policy& policy, const RolloutBuffer<S, typename Policy::Actions>& rollout,
                      double progress, ThreadPool& workers) {
    if (rmsprop_) return step_.run(config, config.at(progress), policy, rollout, *rmsprop_, workers);
    return step_.run(config, config.at(progress), policy, rollout, *adam_, workers);
  }

  /// Checkpoints: the optimiser's state.
  void save_state(Writer& w) const {
    if (rmsprop_)
      rmsprop_->save_state(w);
    else
      adam_->save_state(w);
  }
  void load_state(Reader& r) {
    if (rmsprop_)
      rmsprop_->load_state(r);
    else
      adam_->load_state(r);
  }

 private:
  std::optional<nn::RMSprop<S>> rmsprop_;
  std::optional<nn::Adam<S>> adam_;
  PolicyGradientStep<Policy> step_;
};

/// A2C on environment Env: OnPolicy's loop with the A2C update.
template <class Env, class Policy = PolicyFor<Env>>
using A2c = OnPolicy<Env, A2cUpdate<Policy>>;

}  // namespace pgrad::algo
