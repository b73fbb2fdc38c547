#pragma once
// pgrad::ActorCritic: a policy network with a distribution head and an optional value network.
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/distributions/categorical.hpp>
#include <pgrad/distributions/continuous_distribution.hpp>
#include <pgrad/distributions/diag_gaussian.hpp>
#include <pgrad/distributions/multi_categorical.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/nn/clip_grad.hpp>
#include <pgrad/nn/dropout.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/policies/parameter_blocks.hpp>

namespace pgrad {

/// Sizes, activations and initialisation of an ActorCritic. The defaults are CleanRL's PPO agent:
/// separate 64-64 tanh actor and critic, orthogonal init with gains √2 (hidden), 0.01 (policy
/// head) and 1 (value head), state-independent log-std starting at 0 for Gaussian actions.
struct PolicyConfig {
  std::vector<Index> shared_hidden{};         ///< non-empty: a shared trunk obs → these sizes, feeding both heads
  std::vector<Index> actor_hidden{64, 64};    ///< hidden sizes of the actor (after the trunk, if any)
  std::vector<Index> critic_hidden{64, 64};   ///< hidden sizes of the critic (after the trunk, if any)
  nn::Activation activation = nn::Activation::tanh;
  PolicyInit init = PolicyInit::orthogonal;
  double hidden_gain = std::sqrt(2.0);
  double actor_output_gain = 0.01;
  double critic_output_gain = 1.0;
  bool with_critic = true;         ///< false: no value network at all (REINFORCE without baseline)
  /// Box actions: the distribution (see BoxDistribution): a diagonal Gaussian clipped to the box
  /// (the default), a tanh-squashed Gaussian or a Beta mapped onto it.
  BoxDistribution box_distribution = BoxDistribution::gaussian;
  double initial_log_std = 0.0;    ///< Gaussians only (state-independent log-std)
  /// Gaussians: log σ(s) from the actor (2·action_dim outputs: the mean, then log σ) instead of
  /// one learned vector shared by every state (the default, CleanRL's and SB3's PPO).
  bool state_dependent_std = false;
  /// p of inverted dropout after each of the actor's hidden layers (nn::Dropout) in training
  /// mode; 0: none. DataCamp's REINFORCE tutorial uses 0.5.
  double dropout = 0.0;
  /// > 0: a recurrent policy (RecurrentActorCritic, policies/recurrent_actor_critic.hpp) with a
  /// GRU state of this size between the encoder (shared_hidden) and the heads; 0: feed-forward.
  Index recurrent_size = 0;
  /// Recurrent policies: true, actor and critic share the encoder and the GRU; false, each has its own.
  bool recurrent_shared = true;

  /// The widest hidden layer and the most hidden layers of one network (a checkpoint declares
  /// at most 64 sizes per network: input, hidden, output).
  static constexpr Index max_hidden_size = Index(1) << 20;
  static constexpr std::size_t max_hidden_layers = 62;
  /// The range of a Gaussian policy's log-std, initial or loaded: [-20, 20] (its exp stays well
  /// inside float's range, and so do the log-probabilities computed with it).
  static constexpr double max_abs_log_std = 20.0;
  /// The most parameters one network of a policy may have (2^30: 4 GiB of float values, several
  /// times that with gradients, optimiser moments and scratch); policies refuse more.
  static constexpr Index max_parameters = Index(1) << 30;

  /// Throws pgrad::Error naming `who` and the first invalid field: hidden sizes in
  /// [1, max_hidden_size] and at most max_hidden_layers of them per network, activation and
  /// init one of their enumerators, gains finite and >= 0, initial_log_std in [-20, 20], dropout
  /// in [0, 1).
  void validate(const char* who) const {
    const std::pair<const char*, const std::vector<Index>*> lists[] = {
        {"shared_hidden", &shared_hidden}, {"actor_hidden", &actor_hidden}, {"critic_hidden", &critic_hidden}};
    for (const auto& [name, sizes] : lists) {
      PGRAD_REQUIRE(sizes->size() <= max_hidden_layers, who, ": policy.", name, " has ", sizes->size(),
                    " hidden layers, at most ", max_hidden_layers, " are allowed");
      for (std::size_t k = 0; k < sizes->size(); ++k)
        PGRAD_REQUIRE((*sizes)[k] >= 1 && (*sizes)[k] <= max_hidden_size, who, ": policy.", name, "[", k, "] = ",
                      (*sizes)[k], " must be in [1, ", max_hidden_size, "]");
    }
    PGRAD_REQUIRE(activation == nn::Activation::identity || activation == nn::Activation::tanh ||
                      activation == nn::Activation::relu,
                  who, ": policy.activation has the invalid value ", static_cast<int>(activation));
    PGRAD_REQUIRE(
        init == PolicyInit::orthogonal || init == PolicyInit::xavier_uniform || init == PolicyInit::he_uniform ||
            init == PolicyInit::pytorch_default,
        who, ": policy.init has the invalid value ", static_cast<int>(init));
    PGRAD_REQUIRE(dropout >= 0 && dropout < 1, who, ": policy.dropout must be in [0, 1), got ", dropout);
    const std::pair<const char*, double> gains[] = {{"hidden_gain", hidden_gain},
                                                     {"actor_output_gain", actor_output_gain},
                                                     {"critic_output_gain", critic_output_gain}};
    for (const auto& [name, gain] : gains)
      PGRAD_REQUIRE(std::isfinite(gain) && gain >= 0, who, ": policy.", name, " must be finite and >= 0, got ", gain);
    PGRAD_REQUIRE(std::isfinite(initial_log_std) && std::abs(initial_log_std) <= max_abs_log_std, who,
                  ": policy.initial_log_std must be finite and in [-20, 20], got ", initial_log_std);
    PGRAD_REQUIRE(recurrent_size >= 0 && recurrent_size <= max_hidden_size, who, ": policy.recurrent_size = ",
                  recurrent_size, " must be in [0, ", max_hidden_size, "] (0: no recurrent state)");
    PGRAD_REQUIRE(valid_box_distribution(box_distribution), who, ": policy.box_distribution has the invalid value ",
                  static_cast<int>(box_distribution));
    PGRAD_REQUIRE(recurrent_size == 0 || box_distribution == BoxDistribution::gaussian, who,
                  ": policy.box_distribution = ", box_distribution_name(box_distribution),
                  ": recurrent policies have Gaussian heads only");
  }

  /// The parameters of a network observation_size -> hidden -> output_size (weights and biases;
  /// in double, so that no size overflows).
  static double network_parameters(double input_size, const std::vector<Index>& hidden, double output_size) {
    double count = 0, in = input_size;
    for (Index size : hidden) {
      count += (in + 1) * static_cast<double>(size);
      in = static_cast<double>(size);
    }
    return count + (in + 1) * output_size;
  }
  /// The parameters of each network of an ActorCritic with this config for these sizes (trunk,
  /// actor with its log-std, critic; 0 for an absent one), in double. For a recurrent policy the
  /// first is its encoders and GRUs.
  std::array<double, 3> parameter_counts(Index observation_size, Index action_size) const {
    const double obs = static_cast<double>(observation_size), actions = static_cast<double>(action_size);
    const double encoded = shared_hidden.empty() ? obs : static_cast<double>(shared_hidden.back());
    const double state = static_cast<double>(recurrent_size);
    const double features = recurrent_size > 0 ? state : encoded;
    double trunk = shared_hidden.empty() ? 0.0 : network_parameters(obs, shared_hidden, 0.0);
    if (recurrent_size > 0) trunk = (trunk + 3 * state * (encoded + state + 2)) * (recurrent_shared ? 1 : 2);
    const bool two_part = state_dependent_std || box_distribution == BoxDistribution::beta;
    return {trunk,
            two_part ? network_parameters(features, actor_hidden, 2 * actions)
                     : network_parameters(features, actor_hidden, actions) + actions,
            with_critic ? network_parameters(features, critic_hidden, 1.0) : 0.0};
  }
};

/// Which parameter blocks of an ActorCritic an operation covers: all of them, the policy's (trunk,
/// actor and log-std: what π depends on; TRPO's trust region) or the critic's alone.
enum class ParameterGroup { all, policy, critic };

/// What the policy part of a loss reads and writes in ActorCritic::train_pass, per sample j:
/// log π(aⱼ|sⱼ) and H(sⱼ) in, ∂L/∂log π and ∂L/∂H out.
template <class S>
struct PolicyTerms {
  const RowVector<S>& log_probs;
  const RowVector<S>& entropy;
  RowVector<S>& log_prob_weight;
  RowVector<S>& entropy_weight;
};
/// What the value part of a loss reads and writes: V(sⱼ) in (zeros without a critic), ∂L/∂V out.
template <class S>
struct ValueTerms {
  const RowVector<S>& values;
  RowVector<S>& value_weight;
};

namespace detail {
template <class Distribution> struct DistributionTraits;
template <class S> struct DistributionTraits<dist::Categorical<S>> {
  using Actions = IndexRowVector;  ///< one action index per sample
  static constexpr bool discrete = true;
};
template <class S> struct DistributionTraits<dist::DiagGaussian<S>> {
  using Actions = Matrix<S>;       ///< action_dim x batch
  static constexpr bool discrete = false;
};
template <class S> struct DistributionTraits<dist::MultiCategorical<S>> {
  using Actions = typename dist::MultiCategorical<S>::Actions;  ///< K x batch action indices
  static constexpr bool discrete = true;
};
template <class S> struct DistributionTraits<dist::ContinuousDistribution<S>> {
  using Actions = Matrix<S>;       ///< action_dim x batch
  static constexpr bool discrete = false;
};
}  // namespace detail

/// π(a|s) and V(s) for a batch of observations (obs_size x batch):
///   actor MLP  s → logits (Categorical), or for Box actions (ContinuousDistribution) the mean of
///              a Gaussian or squashed Gaussian (with a learned state-independent log-std vector,
///              or log σ(s) as a second half of outputs) or Beta's two heads;
///              critic MLP s → V(s) (none with with_critic = false); separate
///              networks by default, or both heads on a shared trunk MLP s → features
///              (PolicyConfig::shared_hidden), whose gradient is the sum of the two heads'.
///
/// Acting: act() samples actions with their log-probabilities, act_deterministic() takes the
/// mode (evaluation), predict_values() and compute_values() give V(s), evaluate_actions() gives
/// log π, entropy and V for given actions; none of them keeps training state.
///
/// Training has one entry point, train_pass(): the training forward, a loss written as
/// per-sample weights, and the backward, accumulating ∂L/∂θ for
///   L = Σⱼ wⱼ log π(aⱼ|sⱼ) + Σⱼ eⱼ H[π(·|sⱼ)] + Σⱼ vⱼ V(sⱼ)
/// through the distribution's closed-form gradient and the networks' backprop; zero_grad(),
/// clip_gradients() and apply(optimizer) go around it.
/// TRPO, which steps the policy and the critic separately, uses its two halves: policy_pass()
/// (with fisher_vector_product() at the same point) and value_pass().
///
/// A plain value: it owns no threads. The training calls take an optional ThreadPool (lent by
/// the algorithm that owns it) and then run the critic's share on worker 1 beside the actor's
/// on the calling thread; each network's arithmetic is the same either way, so the results do
/// not depend on it. Parameters are up to four flat blocks, in this order: trunk (with a shared
/// trunk), actor, critic (with a critic), log-std (a Gaussian's state-independent one).
template <class S, class Distribution>
class ActorCritic {
  static_assert(std::is_same_v<Distribution, dist::Categorical<S>> ||
                    std::is_same_v<Distribution, dist::MultiCategorical<S>> ||
                    std::is_same_v<Distribution, dist::ContinuousDistribution<S>>,
                "pgrad: ActorCritic's distribution is dist::Categorical<S> (Discrete actions), "
                "dist::MultiCategorical<S> (MultiDiscrete) or dist::ContinuousDistribution<S> (Box actions: "
                "PolicyConfig::box_distribution chooses)");

 public:
  using Scalar = S;
  using Actions = typename detail::DistributionTraits<Distribution>::Actions;
  /// Integer actions with logits (Categorical and MultiCategorical).
  static constexpr bool discrete = detail::DistributionTraits<Distribution>::discrete;
  /// MultiDiscrete actions: one categorical choice per component (nvec()).
  static constexpr bool multi_discrete = std::is_same_v<Distribution, dist::MultiCategorical<S>>;

  /// observation_size inputs; action_size = number of actions (Categorical) or action dimension.
  /// Draws the initial parameters from `rng`: trunk, actor, then critic.
  ActorCritic(Index observation_size, Index action_size, const PolicyConfig& config, Rng& rng)
      : config_((check_sizes(observation_size, action_size, config), config)),
        trunk_(make_trunk(observation_size, config)),
        actor_(detail::layer_sizes(feature_size(observation_size, config), config.actor_hidden,
                                   two_part_heads(config) ? 2 * action_size : action_size),
               config.activation, nn::Activation::identity),
        action_size_(action_size) {
    dropout_ = nn::Dropout<S>(config.dropout);
    if (config.with_critic)
      critic_.emplace(detail::layer_sizes(feature_size(observation_size, config), config.critic_hidden, 1),
                      config.activation, nn::Activation::identity);
    if (trunk_) initialise(*trunk_, config.hidden_gain, rng);
    initialise(actor_, config.actor_output_gain, rng);
    if (critic_) initialise(*critic_, config.critic_output_gain, rng);
    if (has_log_std_block(config)) {
      log_std_ = nn::Parameters<S>(action_size);
      log_std_.value.setConstant(static_cast<S>(config.initial_log_std));
    }
    if constexpr (!discrete)
      for (Distribution* dist : {&acting_dist_, &training_dist_, &evaluated_dist_, &fisher_dist_})
        dist->set_kind(config.box_distribution);
    if constexpr (multi_discrete) set_nvec({action_size});
  }
  /// MultiCategorical: one component of nvec[k] choices per k; the actor has Σ nvec outputs.
  ActorCritic(Index observation_size, const std::vector<Index>& nvec, const PolicyConfig& config, Rng& rng)
      : ActorCritic(observation_size, total_choices(nvec), config, rng) {
    static_assert(multi_discrete, "pgrad: the nvec constructor is for MultiCategorical policies");
    set_nvec(nvec);
  }

  Index observation_size() const { return trunk_ ? trunk_->input_size() : actor_.input_size(); }
  /// The number of actions (Categorical), Σ nvec (MultiCategorical: the logits and mask rows) or
  /// the action dimension (Box).
  Index action_size() const { return action_size_; }
  /// The rows of one sample's action: 1 (Categorical), K (MultiCategorical), the dimension (Box).
  Index action_rows() const {
    if constexpr (multi_discrete) return static_cast<Index>(nvec_.size());
    return discrete ? 1 : action_size_;
  }
  /// MultiCategorical: the component sizes (empty otherwise).
  const std::vector<Index>& nvec() const { return nvec_; }
  /// Whether log σ comes from the actor's second half of outputs (PolicyConfig::state_dependent_std).
  bool state_dependent_std() const { return !discrete && config_.state_dependent_std; }
  /// Box actions: the distribution (PolicyConfig::box_distribution; box_env_actions maps its
  /// samples onto the environment's box); gaussian for Categorical.
  BoxDistribution box_distribution() const { return config_.box_distribution; }
  const PolicyConfig& config() const { return config_; }
  bool has_shared_trunk() const { return trunk_.has_value(); }
  bool has_critic() const { return critic_.has_value(); }
  /// The shared trunk (only when has_shared_trunk()).
  const nn::Mlp<S>& trunk() const {
    PGRAD_REQUIRE(trunk_.has_value(), "ActorCritic::trunk: this policy has no shared trunk");
    return *trunk_;
  }
  nn::Mlp<S>& actor() { return actor_; }
  const nn::Mlp<S>& actor() const { return actor_; }
  /// The value network (only when has_critic()).
  const nn::Mlp<S>& critic() const {
    PGRAD_REQUIRE(critic_.has_value(), "ActorCritic::critic: this policy has no critic");
    return *critic_;
  }
  /// The learned state-independent log-std (Gaussians; empty otherwise).
  nn::Parameters<S>& log_std() { return log_std_; }
  const nn::Parameters<S>& log_std() const { return log_std_; }
  /// The action distribution of the last act() or act_deterministic().
  const Distribution& distribution() const { return acting_dist_; }

  /// Training mode (the default, as a torch.nn.Module): act() and the training passes apply
  /// the actor's dropout (PolicyConfig::dropout). Evaluation mode: no dropout anywhere.
  /// act_deterministic(), evaluate_actions() and the value passes never use dropout;
  /// evaluate_policy() and export see the evaluation-mode policy.
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  /// Whether act() and the training passes draw dropout masks now.
  bool uses_dropout() const { return training_ && dropout_.active(); }
  /// The rows of the actor's dropout masks (its hidden units) when the policy has dropout, else 0.
  Index dropout_mask_rows() const { return dropout_.active() ? actor_.hidden_units() : 0; }
  /// The dropout masks the last act() drew (dropout_mask_rows() x batch; empty when it drew none):
  /// the rollout stores them so that an update can replay them.
  const Matrix<S>& acting_dropout_masks() const { return acting_masks_; }
  /// The generator of the dropout masks (a stream of its own: Stream::dropout, set by the
  /// algorithm); saved in checkpoints of policies with dropout.
  void set_dropout_rng(const Rng& rng) { dropout_rng_ = rng; }
  /// The action distribution of the last evaluate_actions() (buffers of its own, so that a large
  /// batch evaluated between rollouts does not resize the acting ones).
  const Distribution& evaluated_distribution() const { return evaluated_dist_; }

  /// Samples actions for a batch of observations, with their log π(a|s). `action_masks`
  /// (Categorical only: num_actions x batch, true = allowed) restricts π to the allowed actions:
  /// the others get probability 0 (Categorical::set_logits with a mask).
  void act(const MatrixCRef<S>& observations, Rng& rng, Actions& actions, RowVector<S>& log_probs,
           const BoolMatrix* action_masks = nullptr) {
    if (uses_dropout()) {
      dropout_.draw(dropout_rng_, actor_.hidden_units(), observations.cols(), acting_masks_);
      actor_.predict(features(observations), head_, acting_scratch_, &acting_masks_);
    } else {
      acting_masks_.resize(0, 0);
      actor_.predict(features(observations), head_);
    }
    set_distribution(acting_dist_, head_, action_masks);
    acting_dist_.sample(rng, actions);
    acting_dist_.log_prob(actions, log_probs);
  }
  /// The same, with V(s) (zeros without a critic).
  void act(const MatrixCRef<S>& observations, Rng& rng, Actions& actions, RowVector<S>& log_probs,
           RowVector<S>& values, const BoolMatrix* action_masks = nullptr) {
    act(observations, rng, actions, log_probs, action_masks);
    predict_values(observations, values);
  }

  /// Draws from `rng` exactly the numbers act() would draw for `samples` observations, and
  /// discards them: how a process of a data-parallel run skips the other processes' copies in
  /// the shared action-sampling stream.
  void discard_samples(Rng& rng, Index samples) const {
    if constexpr (multi_discrete)
      PGRAD_REQUIRE(false, "ActorCritic: MultiDiscrete policies do not train across processes yet (", samples,
                    " samples to skip)");
    else if constexpr (discrete)
      Distribution::discard_samples(rng, samples, 1);
    else
      Distribution::discard_samples(rng, samples, action_size(), config_.box_distribution);
  }

  /// The most likely action (argmax / mean) for each observation (among the allowed ones).
  void act_deterministic(const MatrixCRef<S>& observations, Actions& actions,
                         const BoolMatrix* action_masks = nullptr) {
    actor_.predict(features(observations), head_);
    set_distribution(acting_dist_, head_, action_masks);
    acting_dist_.mode(actions);
  }

  /// V(s) for each observation (zeros without a critic).
  void predict_values(const MatrixCRef<S>& observations, RowVector<S>& values) const {
    if (!critic_) {
      values.setZero(observations.cols());
      return;
    }
    critic_->predict(features(observations), value_out_);
    values = value_out_.row(0);
  }

  /// V(s) into a caller's row (zeros without a critic), with buffers of its own: it may run on
  /// another thread while this thread calls act(), act_deterministic() or predict_values() (the
  /// rollout computes the values of its stored observations so, in the background). Each
  /// column's value has the same bits as predict_values() gives it.
  void compute_values(const MatrixCRef<S>& observations, Eigen::Ref<RowVector<S>> values) const {
    PGRAD_REQUIRE(values.size() == observations.cols(), "ActorCritic::compute_values: ", observations.cols(),
                  " observations but room for ", values.size(), " values");
    if (!critic_) {
      values.setZero();
      return;
    }
    if (trunk_) {
      trunk_->predict(observations, background_features_, background_scratch_);
      critic_->predict(background_features_, background_values_, background_scratch_);
    } else {
      critic_->predict(observations, background_values_, background_scratch_);
    }
    values = background_values_.row(0);
  }

  /// log π(aⱼ|sⱼ) and the entropy of π(·|sⱼ) for given observations and actions, without
  /// training state (inspection, tests, TRPO's line search); distribution() is then that π.
  void evaluate_actions(const MatrixCRef<S>& observations, const Actions& actions, RowVector<S>& log_probs,
                        RowVector<S>& entropy, const BoolMatrix* action_masks = nullptr) {
    const MatrixCRef<S> x =
        trunk_ ? features(observations, evaluated_features_, evaluated_scratch_) : MatrixCRef<S>(observations);
    actor_.predict(x, evaluated_head_, evaluated_scratch_);
    set_distribution(evaluated_dist_, evaluated_head_, action_masks);
    evaluated_dist_.log_prob(actions, log_probs);
    evaluated_dist_.entropy(entropy);
  }
  /// The same with V(sⱼ) (zeros without a critic).
  void evaluate_actions(const MatrixCRef<S>& observations, const Actions& actions, RowVector<S>& log_probs,
                        RowVector<S>& entropy, RowVector<S>& values, const BoolMatrix* action_masks = nullptr) {
    evaluate_actions(observations, actions, log_probs, entropy, action_masks);
    predict_values(observations, values);
  }

  /// The training pass: forward, loss and backward, accumulating ∂L/∂θ for a loss
  /// L = L_π(log π, H) + L_V(V) whose policy part sees only the actor's outputs and whose value
  /// part only the critic's (PPO, A2C and REINFORCE all split so). The parts are callables
  ///   policy_part(const PolicyTerms<S>&): reads log π(aⱼ|sⱼ) and H(sⱼ), writes ∂L/∂log π and
  ///       ∂L/∂H per sample;
  ///   value_part(const ValueTerms<S>&): reads V(sⱼ) (zeros without a critic), writes ∂L/∂V.
  /// With a pool of two or more threads, actor forward → policy_part → actor backward runs on
  /// this thread while critic forward → value_part → critic backward runs on worker 1, so the two
  /// parts must not write to the same variables. A shared trunk goes forward first and backward
  /// last (its gradient is the sum of both heads'). Gradients accumulate (see zero_grad).
  /// With dropout in training mode the actor uses `dropout_masks` (e.g. the acting pass's, from
  /// the rollout) or, when null, masks drawn afresh; π is restricted by `action_masks` as in act().
  template <class PolicyPart, class ValuePart>
  void train_pass(const MatrixCRef<S>& observations, const Actions& actions, PolicyPart&& policy_part,
                  ValuePart&& value_part, ThreadPool* workers = nullptr, const Matrix<S>* dropout_masks = nullptr,
                  const BoolMatrix* action_masks = nullptr) {
    const MatrixCRef<S> x = trunk_ ? MatrixCRef<S>(trunk_->forward(observations)) : observations;
    const auto actor_side = [&] { actor_pass(x, actions, policy_part, training_dist_, dropout_masks, action_masks); };
    const auto critic_side = [&] {
      if (critic_)
        pass_values_ = critic_->forward(x).row(0);
      else
        pass_values_.setZero(x.cols());
      value_part(ValueTerms<S>{pass_values_, pass_value_weight_});
      if (critic_) critic_->backward(pass_value_weight_, trunk_.has_value());
    };
    split(workers, actor_side, critic_side);
    if (trunk_) {
      grad_features_ = actor_.input_gradient();
      if (critic_) grad_features_ += critic_->input_gradient();
      trunk_->backward(grad_features_, false);
    }
  }

  /// Zeroes the gradients of the group's blocks.
  void zero_grad(ThreadPool* workers = nullptr, ParameterGroup group = ParameterGroup::all) {
    for_each_block(workers, group, [](std::size_t, nn::Parameters<S>& block) { block.zero_grad(); });
  }

  /// Global-norm clipping over the group's gradients (as nn::clip_grad_norm; max_norm = 0: no
  /// clipping); returns the norm before clipping. A NaN or infinite norm throws pgrad::Error.
  S clip_gradients(S max_norm, ThreadPool* workers = nullptr, ParameterGroup group = ParameterGroup::all) {
    std::array<double, max_blocks> squared{};
    for_each_block(workers, group, [&](std::size_t b, nn::Parameters<S>& block) {
      squared[b] = static_cast<double>(block.grad.squaredNorm());
    });
    double sum = 0;
    for (double s : squared) sum += s;
    if (max_norm <= S(0)) return nn::gradient_clip(sum, std::numeric_limits<S>::infinity()).norm;  // no clip
    const nn::GradientClip<S> clip = nn::gradient_clip(sum, max_norm);
    if (clip.scale < S(1))
      for_each_block(workers, group, [&](std::size_t, nn::Parameters<S>& block) { block.grad *= clip.scale; });
    return clip.norm;
  }

  /// One optimiser step over the group's blocks (Adam, RMSprop or Sgd; their moments are kept
  /// per block, so updating the blocks on two threads gives the same numbers as one). An
  /// optimiser serves one group.
  template <class Optimizer>
  void apply(Optimizer& optimizer, ThreadPool* workers = nullptr, ParameterGroup group = ParameterGroup::all) {
    optimizer.begin_step(blocks(group).size());
    for_each_block(workers, group, [&](std::size_t b, nn::Parameters<S>& block) { optimizer.update_block(b, block); });
  }

  /// The group's parameters (in block order) as one vector, and back; its gradients likewise.
  Vector<S> flat_parameters(ParameterGroup group = ParameterGroup::all) const {
    Vector<S> flat;
    flat_parameters(flat, group);
    return flat;
  }
  void flat_parameters(Vector<S>& out, ParameterGroup group) const { concat(&nn::Parameters<S>::value, group, out); }
  Vector<S> flat_gradients(ParameterGroup group = ParameterGroup::all) const {
    Vector<S> flat;
    flat_gradients(flat, group);
    return flat;
  }
  void flat_gradients(Vector<S>& out, ParameterGroup group) const { concat(&nn::Parameters<S>::grad, group, out); }
  void set_flat_parameters(const VectorCRef<S>& flat, ParameterGroup group = ParameterGroup::all) {
    blocks(group).set_values(flat, "ActorCritic");
  }
  void set_flat_gradients(const VectorCRef<S>& flat, ParameterGroup group = ParameterGroup::all) {
    blocks(group).split(&nn::Parameters<S>::grad, flat, "ActorCritic", "set_flat_gradients");
  }
  Index parameter_count(ParameterGroup group = ParameterGroup::all) const { return blocks(group).parameter_count(); }
  /// The sizes of the parameter blocks in block order (what apply() hands an optimiser).
  std::vector<Index> block_sizes(ParameterGroup group = ParameterGroup::all) const { return blocks(group).sizes(); }
  /// The most parameters one network may have (PolicyConfig::max_parameters); the constructor refuses more.
  static constexpr Index max_parameters = PolicyConfig::max_parameters;

  /// A training pass of the critic alone (TRPO's value steps): V(s) for the observations, the
  /// value part of a loss (as in train_pass), and the critic's backward. A shared trunk only
  /// feeds the critic here (inference): its parameters get no gradient, so the trust region of
  /// the policy's step is kept. Needs a critic.
  template <class ValuePart>
  void value_pass(const MatrixCRef<S>& observations, ValuePart&& value_part) {
    PGRAD_REQUIRE(critic_.has_value(), "ActorCritic::value_pass: this policy has no critic");
    const MatrixCRef<S> x =
        trunk_ ? features(observations, value_pass_features_, value_pass_scratch_) : MatrixCRef<S>(observations);
    pass_values_ = critic_->forward(x).row(0);
    value_part(ValueTerms<S>{pass_values_, pass_value_weight_});
    critic_->backward(pass_value_weight_, false);
  }

  /// A training pass of the policy alone (TRPO's gradient): the forward of trunk and actor, the
  /// policy part of a loss (as in train_pass), and the backward, accumulating the gradients of
  /// the policy group (the critic takes no part). It also prepares fisher_vector_product at these
  /// parameters and observations.
  template <class PolicyPart>
  void policy_pass(const MatrixCRef<S>& observations, const Actions& actions, PolicyPart&& policy_part,
                   const BoolMatrix* action_masks = nullptr) {
    const MatrixCRef<S> x = trunk_ ? MatrixCRef<S>(trunk_->forward(observations)) : observations;
    actor_pass(x, actions, policy_part, fisher_dist_, nullptr, action_masks);
    if (trunk_) trunk_->backward(actor_.input_gradient(), false);
  }

  /// F·v for the policy's parameters (ParameterGroup::policy: trunk, actor, log-std) at the
  /// parameters and observations of the last policy_pass, without forming F:
  ///   F v = (1/B) Σⱼ Jⱼᵀ Mⱼ Jⱼ v,
  /// Jⱼ v the change of sample j's distribution parameters (a forward-mode pass through trunk and
  /// actor, Mlp::forward_tangent), Mⱼ the distribution's Fisher metric (Categorical: diag(p) -
  /// ppᵀ on the logits; Gaussian: 1/σ² on the mean, 2 on each log σ), Jⱼᵀ the networks' backward.
  /// F is the Hessian of the mean KL(π || π_θ) at θ = the current parameters. No damping. The
  /// policy group's gradients serve as scratch and are overwritten. With mean_over > 0 the sum is
  /// divided by mean_over instead of B (one shard's share of a larger batch's F·v).
  void fisher_vector_product(const VectorCRef<S>& v, Vector<S>& out, Index mean_over = 0) {
    PGRAD_REQUIRE(v.size() == parameter_count(ParameterGroup::policy), "ActorCritic::fisher_vector_product: got ",
                  v.size(), " values for ", parameter_count(ParameterGroup::policy), " policy parameters");
    const Index trunk_size = trunk_ ? trunk_->parameters().size() : 0, actor_size = actor_.parameters().size();
    const Matrix<S>* trunk_tangent = trunk_ ? &trunk_->forward_tangent(v.head(trunk_size)) : nullptr;
    const Matrix<S>& head_tangent = actor_.forward_tangent(v.segment(trunk_size, actor_size), trunk_tangent);
    fisher_metric(head_tangent);
    const Index batch = head_tangent.cols(), over = mean_over > 0 ? mean_over : batch;
    metric_tangent_ *= S(1) / static_cast<S>(over);
    zero_grad(nullptr, ParameterGroup::policy);
    actor_.backward(metric_tangent_, trunk_.has_value());
    if (trunk_) trunk_->backward(actor_.input_gradient(), false);
    if constexpr (!discrete)  // a log-std shared by every sample: the batch mean of its metric
      if (has_log_std_block(config_))  // (B / mean_over: this share's part of the mean; exactly 1 unsharded)
        log_std_.grad = Distribution::log_std_fisher * (static_cast<S>(batch) / static_cast<S>(over)) *
                        v.tail(log_std_.size());
    flat_gradients(out, ParameterGroup::policy);
  }

  /// Checkpoints: the Scalar, the distribution, the layer sizes of trunk, actor and critic (empty
  /// when absent) and every parameter. load_state throws naming any difference in type or size,
  /// a non-finite parameter or a log-std outside [-20, 20].
  void save_state(Writer& w) const {
    w.section("ActorCritic");
    write_scalar_type<S>(w);
    w.u8(action_kind);
    if constexpr (!discrete) w.u64(static_cast<std::uint64_t>(config_.box_distribution));
    if constexpr (multi_discrete) {
      w.u64(nvec_.size());
      for (Index n : nvec_) w.i64(n);
    }
    for (const nn::Mlp<S>* net : networks()) {
      const std::vector<Index> none;
      const std::vector<Index>& sizes = net ? net->sizes() : none;
      w.u64(sizes.size());
      for (Index size : sizes) w.i64(size);
    }
    w.matrix(flat_parameters());
    if (dropout_.active()) w.rng(dropout_rng_);
  }
  void load_state(Reader& r) {
    r.section("ActorCritic");
    check_scalar_type<S>(r);
    const std::uint8_t file_kind = r.u8();
    PGRAD_REQUIRE(file_kind == action_kind, r.source(), ": action distribution differs: file ",
                  file_kind < 3 ? action_kind_names[file_kind] : "corrupt", ", policy ", action_kind_names[action_kind]);
    if constexpr (!discrete) {
      const auto kind = r.u64();
      PGRAD_REQUIRE(kind == static_cast<std::uint64_t>(config_.box_distribution), r.source(),
                    ": Box distribution differs: file ",
                    kind <= 2 ? box_distribution_name(static_cast<BoxDistribution>(kind)) : "corrupt", ", policy ",
                    box_distribution_name(config_.box_distribution));
    }
    if constexpr (multi_discrete) {
      const auto count = r.u64();
      PGRAD_REQUIRE(count == nvec_.size(), r.source(), ": MultiDiscrete components differ: file ", count, ", policy ",
                    nvec_.size());
      for (Index n : nvec_) {
        const auto found = r.i64();
        PGRAD_REQUIRE(found == n, r.source(), ": MultiDiscrete nvec differs: file has ", found, " where the policy has ",
                      n);
      }
    }
    const char* names[3] = {"trunk", "actor", "critic"};
    int k = 0;
    for (const nn::Mlp<S>* net : networks()) {
      const std::vector<Index> expected = net ? net->sizes() : std::vector<Index>{};
      const auto count = r.u64();
      PGRAD_REQUIRE(count <= 64, r.source(), ": corrupt ", names[k], " layer count ", count);
      std::vector<Index> found(static_cast<std::size_t>(count));
      for (auto& size : found) size = static_cast<Index>(r.i64());
      PGRAD_REQUIRE(found == expected, r.source(), ": ", names[k], " layer sizes differ: file has ",
                    pgrad::detail::join_sizes(found), ", policy has ", pgrad::detail::join_sizes(expected));
      ++k;
    }
    Vector<S> flat;
    r.matrix(flat, "ActorCritic policy parameters", parameter_count(), 1);  // finite, or it throws
    if (has_log_std_block(config_))
      PGRAD_REQUIRE((flat.tail(log_std_.size()).array().abs() <= S(PolicyConfig::max_abs_log_std)).all(), r.source(),
                    ": corrupt ActorCritic log-std (", flat.tail(log_std_.size()).transpose(), "): outside [-20, 20]");
    if (dropout_.active()) r.rng(dropout_rng_, "ActorCritic dropout");
    set_flat_parameters(flat);
  }

 private:
  static constexpr std::size_t max_blocks = 4;
  // The action distribution's code in checkpoints (0 and 1 were version 2's Box / Categorical flag).
  static constexpr std::uint8_t action_kind = multi_discrete ? 2 : discrete ? 1 : 0;
  static constexpr const char* action_kind_names[3] = {"Box", "Categorical", "MultiCategorical"};

  static Index total_choices(const std::vector<Index>& nvec) {
    PGRAD_REQUIRE(!nvec.empty(), "ActorCritic: nvec is empty (a MultiDiscrete space needs at least one component)");
    Index total = 0;
    for (std::size_t k = 0; k < nvec.size(); ++k) {
      PGRAD_REQUIRE(nvec[k] >= 1, "ActorCritic: nvec[", k, "] = ", nvec[k], " must be at least 1");
      total += nvec[k];
    }
    return total;
  }
  void set_nvec(const std::vector<Index>& nvec) {
    PGRAD_REQUIRE(total_choices(nvec) == action_size_, "ActorCritic: nvec sums to ", total_choices(nvec), ", the actor has ",
                  action_size_, " outputs");
    nvec_ = nvec;
    for (Distribution* dist : {&acting_dist_, &training_dist_, &evaluated_dist_, &fisher_dist_}) dist->set_nvec(nvec);
  }

  /// The parameter blocks that exist, in order (a fixed-capacity list: no allocation).
  template <class P>
  using BlockList = detail::BlockList<P, max_blocks>;
  template <class P, class Self>
  static BlockList<P> blocks_of(Self& self, ParameterGroup group) {
    BlockList<P> list;
    const bool policy = group != ParameterGroup::critic, critic = group != ParameterGroup::policy;
    if (policy && self.trunk_) list.add(self.trunk_->parameters());
    if (policy) list.add(self.actor_.parameters());
    if (critic && self.critic_) {
      list.critic = list.count;
      list.add(self.critic_->parameters());
    }
    if (has_log_std_block(self.config_) && policy) list.add(self.log_std_);
    return list;
  }
  BlockList<nn::Parameters<S>> blocks(ParameterGroup group = ParameterGroup::all) {
    return blocks_of<nn::Parameters<S>>(*this, group);
  }
  BlockList<const nn::Parameters<S>> blocks(ParameterGroup group = ParameterGroup::all) const {
    return blocks_of<const nn::Parameters<S>>(*this, group);
  }
  std::array<const nn::Mlp<S>*, 3> networks() const {
    return {trunk_ ? &*trunk_ : nullptr, &actor_, critic_ ? &*critic_ : nullptr};
  }

  // Calls f(b, block) for every block b of the group: the critic's on worker 1 (the thread that
  // runs the critic's passes, so its numbers stay in that core's cache), the others on this thread.
  template <class F>
  void for_each_block(ThreadPool* workers, ParameterGroup group, const F& f) {
    auto list = blocks(group);
    split(
        workers,
        [&] {
          for (std::size_t b = 0; b < list.size(); ++b)
            if (b != list.critic) f(b, *list.items[b]);
        },
        [&] {
          if (list.critic < list.size()) f(list.critic, *list.items[list.critic]);
        });
  }

  // Runs the actor's and the critic's share: side by side when there is a critic and a pool with
  // a second thread, one after the other otherwise.
  template <class ActorSide, class CriticSide>
  void split(ThreadPool* workers, const ActorSide& actor_side, const CriticSide& critic_side) {
    if (workers != nullptr && critic_) {
      workers->fork_join(actor_side, critic_side);
    } else {
      actor_side();
      critic_side();
    }
  }

  // The config (PolicyConfig::validate) and the sizes, before anything is allocated.
  static int check_sizes(Index observation_size, Index action_size, const PolicyConfig& config) {
    PGRAD_REQUIRE(observation_size > 0 && action_size > 0, "ActorCritic: observation size ", observation_size,
                  " and action size ", action_size, " must be positive");
    PGRAD_REQUIRE(observation_size <= PolicyConfig::max_hidden_size && action_size <= PolicyConfig::max_hidden_size,
                  "ActorCritic: observation size ", observation_size, " and action size ", action_size,
                  " must be at most ", PolicyConfig::max_hidden_size);
    config.validate("ActorCritic");
    PGRAD_REQUIRE(config.recurrent_size == 0, "ActorCritic: policy.recurrent_size = ", config.recurrent_size,
                  " asks for a recurrent policy: use RecurrentActorCritic (RecurrentPolicyFor<Env>)");
    const auto counts = config.parameter_counts(observation_size, action_size);
    const char* names[3] = {"shared_hidden", "actor_hidden", "critic_hidden"};
    for (int k = 0; k < 3; ++k)
      PGRAD_REQUIRE(counts[k] <= static_cast<double>(max_parameters), "ActorCritic: policy.", names[k], " gives ",
                    k == 0 ? "the shared trunk " : k == 1 ? "the actor " : "the critic ", counts[k],
                    " parameters, above the limit of ", max_parameters, " per network (",
                    counts[k] * sizeof(S) / 1073741824.0, " GiB for the values alone)");
    return 0;
  }
  static std::optional<nn::Mlp<S>> make_trunk(Index observation_size, const PolicyConfig& config) {
    if (config.shared_hidden.empty()) return std::nullopt;
    std::vector<Index> sizes{observation_size};
    sizes.insert(sizes.end(), config.shared_hidden.begin(), config.shared_hidden.end());
    return nn::Mlp<S>(sizes, config.activation, config.activation);
  }
  static Index feature_size(Index observation_size, const PolicyConfig& config) {
    return config.shared_hidden.empty() ? observation_size : config.shared_hidden.back();
  }
  void initialise(nn::Mlp<S>& net, double output_gain, Rng& rng) {
    detail::initialise_network(net, config_.init, config_.hidden_gain, output_gain, rng);
  }

  /// The heads' input: the trunk's features (inference path), or the observations themselves.
  MatrixCRef<S> features(const MatrixCRef<S>& observations) const {
    if (!trunk_) return observations;
    trunk_->predict(observations, features_);
    return features_;
  }
  MatrixCRef<S> features(const MatrixCRef<S>& observations, Matrix<S>& out,
                         typename nn::Mlp<S>::PredictScratch& scratch) const {
    trunk_->predict(observations, out, scratch);
    return out;
  }

  // The actor's side of a training pass on the heads' input x: forward, π into dist, the policy
  // part of the loss, its closed-form gradient, and the backward (dX too when there is a trunk).
  template <class PolicyPart>
  void actor_pass(const MatrixCRef<S>& x, const Actions& actions, PolicyPart& policy_part, Distribution& dist,
                  const Matrix<S>* dropout_masks, const BoolMatrix* action_masks) {
    if (uses_dropout() && dropout_masks == nullptr) {
      dropout_.draw(dropout_rng_, actor_.hidden_units(), x.cols(), training_masks_);
      dropout_masks = &training_masks_;
    }
    set_distribution(dist, actor_.forward(x, uses_dropout() ? dropout_masks : nullptr), action_masks);
    dist.log_prob(actions, pass_log_probs_);
    dist.entropy(pass_entropy_);
    policy_part(PolicyTerms<S>{pass_log_probs_, pass_entropy_, pass_log_prob_weight_, pass_entropy_weight_});
    if constexpr (discrete) {
      dist.loss_gradient(actions, pass_log_prob_weight_, pass_entropy_weight_, grad_head_);
    } else if (two_part_heads(config_)) {  // ∂L/∂(both parts) stacked as the actor's outputs
      dist.heads_loss_gradient(actions, pass_log_prob_weight_, pass_entropy_weight_, grad_head_);
    } else {
      dist.loss_gradient(actions, pass_log_prob_weight_, pass_entropy_weight_, grad_head_, grad_log_std_);
      log_std_.grad += grad_log_std_.rowwise().sum();
    }
    actor_.backward(grad_head_, trunk_.has_value());
  }

  void set_distribution(Distribution& dist, const MatrixCRef<S>& head, const BoolMatrix* action_masks = nullptr) {
    if constexpr (discrete) {
      if (action_masks != nullptr) {
        dist.set_logits(head, *action_masks);
        return;
      }
    } else {
      PGRAD_REQUIRE(action_masks == nullptr, "ActorCritic: action masks are for Categorical policies");
      if (two_part_heads(config_)) {
        dist.set_heads(head);
        return;
      }
    }
    detail::set_distribution<discrete>(dist, head, log_std_);
  }
  // Whether the actor's outputs are two parts of action_size rows (a state-dependent log σ, or
  // Beta's two heads), and whether there is a learned log-std vector (a Gaussian's otherwise).
  static bool two_part_heads(const PolicyConfig& config) {
    return !discrete && dist::ContinuousDistribution<S>::two_part_heads(config.box_distribution,
                                                                        config.state_dependent_std);
  }
  static bool has_log_std_block(const PolicyConfig& config) { return !discrete && !two_part_heads(config); }

  // M·(J v) into metric_tangent_: the distribution's Fisher metric on the actor's outputs.
  void fisher_metric(const Matrix<S>& head_tangent) {
    if constexpr (!discrete) {
      if (two_part_heads(config_)) {
        fisher_dist_.heads_fisher_product(head_tangent, metric_tangent_);
        return;
      }
    }
    fisher_dist_.fisher_product(head_tangent, metric_tangent_);
  }

  void concat(Vector<S> nn::Parameters<S>::*member, ParameterGroup group, Vector<S>& flat) const {
    blocks(group).concat(member, flat);
  }

  PolicyConfig config_;
  std::optional<nn::Mlp<S>> trunk_;
  nn::Mlp<S> actor_;
  std::optional<nn::Mlp<S>> critic_;
  nn::Parameters<S> log_std_;  // empty unless has_log_std_block
  Index action_size_;
  std::vector<Index> nvec_;  // MultiCategorical only
  // One distribution for acting (a few samples per call), one for training (a minibatch), one
  // for evaluate_actions and one for policy_pass (a whole batch), so that none resizes its
  // buffers when a rollout and an update alternate.
  Distribution acting_dist_, training_dist_, evaluated_dist_, fisher_dist_;
  Matrix<S> head_, grad_head_, grad_log_std_, grad_features_, metric_tangent_;
  RowVector<S> pass_log_probs_, pass_entropy_, pass_values_;                       // train_pass outputs
  RowVector<S> pass_log_prob_weight_, pass_entropy_weight_, pass_value_weight_;  // and the loss weights
  mutable Matrix<S> value_out_, features_;                                         // acting scratch
  mutable Matrix<S> background_values_, background_features_;                      // compute_values' own
  mutable typename nn::Mlp<S>::PredictScratch background_scratch_;
  Matrix<S> evaluated_head_, evaluated_features_, value_pass_features_;  // evaluate_actions' and value_pass' own
  typename nn::Mlp<S>::PredictScratch evaluated_scratch_, value_pass_scratch_;
  // Dropout: its masks while acting and while training, and their generator.
  nn::Dropout<S> dropout_;
  bool training_ = true;
  Rng dropout_rng_;
  Matrix<S> acting_masks_, training_masks_;
  typename nn::Mlp<S>::PredictScratch acting_scratch_;
};

/// The policy type that fits environment Env: Categorical for Discrete actions, MultiCategorical
/// for MultiDiscrete, ContinuousDistribution (PolicyConfig::box_distribution) for Box.
template <class Env, class S = typename Env::Scalar>
using PolicyFor = ActorCritic<
    S, std::conditional_t<envs::has_discrete_actions_v<Env>, dist::Categorical<S>,
                          std::conditional_t<envs::has_multi_discrete_actions_v<Env>, dist::MultiCategorical<S>,
                                             dist::ContinuousDistribution<S>>>>;

namespace detail {
/// Whether Policy has MultiCategorical actions (ActorCritic::multi_discrete; false for others).
template <class Policy, class = void>
struct is_multi_discrete_policy : std::false_type {};
template <class Policy>
struct is_multi_discrete_policy<Policy, std::void_t<decltype(Policy::multi_discrete)>>
    : std::bool_constant<Policy::multi_discrete> {};
}  // namespace detail

/// Builds the policy for an environment, sizing the networks from its spaces. The compile-time
/// checks say clearly when the environment does not meet the contract or Policy does not fit it.
template <class Policy, class Env>
Policy make_policy(const Env& env, const PolicyConfig& config, Rng& rng) {
  static_assert(envs::require_env<Env>());
  static_assert(Policy::discrete == (envs::has_discrete_actions_v<Env> || envs::has_multi_discrete_actions_v<Env>) &&
                    detail::is_multi_discrete_policy<Policy>::value == envs::has_multi_discrete_actions_v<Env>,
                "pgrad: the policy's distribution does not fit the environment's actions (Categorical needs an "
                "integer Action / Discrete space, MultiCategorical an integer Eigen vector / MultiDiscrete, "
                "ContinuousDistribution an Eigen-vector Action / Box space)");
  using Observation = typename Env::Observation;
  static_assert(Observation::ColsAtCompileTime == 1, "pgrad: Env::Observation must be a column vector");
  const Index obs_size = env.observation_space().size();
  if constexpr (Observation::RowsAtCompileTime != Eigen::Dynamic)
    PGRAD_REQUIRE(obs_size == Observation::RowsAtCompileTime, "make_policy: observation space has ", obs_size,
                  " dimensions but Env::Observation has ", Observation::RowsAtCompileTime);
  Index action_size = 0;
  if constexpr (envs::has_multi_discrete_actions_v<Env>) {
    return Policy(obs_size, env.action_space().nvec, config, rng);
  } else if constexpr (Policy::discrete) {
    action_size = env.action_space().n;
  } else {
    const auto space = env.action_space();
    action_size = space.size();
    if (config.box_distribution != BoxDistribution::gaussian)
      for (Index i = 0; i < action_size; ++i)
        PGRAD_REQUIRE(std::isfinite(double(space.low[i])) && std::isfinite(double(space.high[i])) &&
                          space.low[i] < space.high[i],
                      "make_policy: a ", box_distribution_name(config.box_distribution),
                      " policy maps its actions onto the action box, whose dimension ", i, " is [", space.low[i], ", ",
                      space.high[i], "]: it needs finite bounds with low < high");
  }
  return Policy(obs_size, action_size, config, rng);
}

}  // namespace pgrad
