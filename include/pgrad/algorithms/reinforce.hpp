#pragma once
// pgrad::algo::Reinforce: Monte-Carlo policy gradient (Williams 1992), optionally with a learned baseline.
#include <cmath>

#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/algorithms/policy_gradient.hpp>
#include <pgrad/nn/optimizer.hpp>

namespace pgrad::algo {

/// REINFORCE hyperparameters. The defaults are the PyTorch article's REINFORCE (presets::
/// cartpole_reinforce_article adds its initialisation): one episode per update, a 128-unit ReLU
/// hidden layer, Adam (ε 1e-8) at lr 0.01, γ 0.99, returns normalised per episode, the loss
/// summed over the episode, no baseline, no entropy bonus, no gradient clipping.
///
/// One environment (num_envs = 1); num_steps is the longest episode a rollout holds (a longer one
/// is cut there and bootstrapped from the baseline, or from 0 without one). gae_lambda = 1 makes
/// the weights the Monte-Carlo returns Gₜ, or Gₜ - V(sₜ) with a baseline: a critic, asked for
/// with policy.with_critic = true.
struct ReinforceConfig : OnPolicyConfig {
  double adam_eps = 1e-8;
  /// The policy term over the episode: summed (the tutorials) or averaged.
  Reduction loss_reduction = Reduction::sum;
  /// With dropout (policy.dropout): the update goes through the masks drawn while acting (the
  /// tutorials, whose policy stays in training mode), rather than new ones.
  bool replay_dropout_masks = true;
  /// ε in the returns' normalisation (G - mean) / (std + ε); 0 divides by the std alone (with a
  /// zero std the centred returns, all 0, are kept).
  double normalize_eps = 1e-8;

  ReinforceConfig() {
    num_envs = 1;
    num_steps = 1000;
    learning_rate = 0.01;
    gae_lambda = 1.0;
    ent_coef = 0.0;
    max_grad_norm = 0.0;
    policy.actor_hidden = {128};
    policy.critic_hidden = {128};
    policy.activation = nn::Activation::relu;
    policy.with_critic = false;
  }

  /// Calls f(name, value) for every hyperparameter (checkpoints record and check them).
  template <class F>
  void visit(F&& f) const {
    OnPolicyConfig::visit(f);
    f("adam_eps", adam_eps);
    f("loss_reduction", static_cast<double>(loss_reduction));
    f("replay_dropout_masks", replay_dropout_masks ? 1.0 : 0.0);
    f("normalize_eps", normalize_eps);
  }

  /// Throws pgrad::Error naming the first invalid field.
  void validate() const {
    OnPolicyConfig::validate("Reinforce");
    PGRAD_REQUIRE(num_envs == 1, "Reinforce: num_envs must be 1 (one episode per update), got ", num_envs);
    PGRAD_REQUIRE(adam_eps >= 0 && std::isfinite(adam_eps), "Reinforce: adam_eps must be >= 0, got ", adam_eps);
    PGRAD_REQUIRE(loss_reduction == Reduction::sum || loss_reduction == Reduction::mean,
                  "Reinforce: loss_reduction has the invalid value ", static_cast<int>(loss_reduction));
    PGRAD_REQUIRE(normalize_eps >= 0 && std::isfinite(normalize_eps), "Reinforce: normalize_eps must be >= 0, got ",
                  normalize_eps);
  }
};

/// The REINFORCE update: one Adam step of the vanilla policy-gradient loss summed (or averaged)
/// over the episode, -Σₜ wₜ log π(aₜ|sₜ) (+ the baseline's value loss).
template <class PolicyType>
class ReinforceUpdate {
 public:
  using Policy = PolicyType;
  using Config = ReinforceConfig;
  using S = typename Policy::Scalar;
  static constexpr const char* name = "Reinforce";
  static constexpr bool one_episode = true;

  /// One process, one shard: REINFORCE's rollouts are single episodes (pgrad::Error otherwise).
  ReinforceUpdate(const ReinforceConfig& config, const Policy& policy, RandomStreams&, const ShardLayout& layout,
                  Communicator& comm)
      : optimizer_({static_cast<S>(config.learning_rate(0.0)), S(0.9), S(0.999), static_cast<S>(config.adam_eps)}),
        step_(layout, comm, config.loss_reduction, config.replay_dropout_masks, config.normalize_eps) {
    PGRAD_REQUIRE(!layout.sharded(), "Reinforce: data_shards must be 1 (rollouts of one whole episode do not split "
                  "across processes), got ", layout.shards);
    optimizer_.expect_blocks(policy.block_sizes());
  }

  UpdateReport update(const ReinforceConfig& config, Policy& policy,
                      const RolloutBuffer<S, typename Policy::Actions>& rollout, double progress, ThreadPool& workers) {
    return step_.run(config, config.at(progress), policy, rollout, optimizer_, workers);
  }

  /// Checkpoints: Adam's state.
  void save_state(Writer& w) const { optimizer_.save_state(w); }
  void load_state(Reader& r) { optimizer_.load_state(r); }

 private:
  nn::Adam<S> optimizer_;
  PolicyGradientStep<Policy> step_;
};

/// REINFORCE on environment Env: OnPolicy's loop with one episode per rollout and the REINFORCE update.
template <class Env, class Policy = PolicyFor<Env>>
using Reinforce = OnPolicy<Env, ReinforceUpdate<Policy>>;

}  // namespace pgrad::algo
