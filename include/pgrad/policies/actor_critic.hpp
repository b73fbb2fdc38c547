#pragma once
// pgrad::ActorCritic: a policy network with a distribution head and an optional value network.
#include <array>
#include <cmath>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/detail/worker_pool.hpp>
#include <pgrad/distributions/categorical.hpp>
#include <pgrad/distributions/diag_gaussian.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/nn/clip_grad.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>

namespace pgrad {

/// How a policy's networks start: CleanRL's orthogonal layer_init (the default), or uniform
/// Xavier / He as in PyTorch-tutorial code.
enum class PolicyInit { orthogonal, xavier_uniform, he_uniform };

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
  bool with_critic = true;         ///< false: no value network (REINFORCE without baseline)
  double initial_log_std = 0.0;    ///< DiagGaussian only
  int num_threads = 1;             ///< 2: actor and critic passes run concurrently (same results)
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
}  // namespace detail

/// π(a|s) and V(s) for a batch of observations (obs_size x batch):
///   actor MLP  s → logits (Categorical) or mean (DiagGaussian, with a learned state-independent
///              log-std vector), critic MLP s → V(s); separate networks by default, or both heads on
///              a shared trunk MLP s → features (PolicyConfig::shared_hidden), whose gradient is the
///              sum of the two heads'.
/// act() samples actions with their log-probabilities and values (rollouts); act_deterministic()
/// takes the mode (evaluation); evaluate() is the training forward for an update, and
/// backward() turns per-sample loss weights into parameter gradients through the distribution's
/// closed-form gradient and the networks' backprop:
///   L = Σⱼ wⱼ log π(aⱼ|sⱼ) + Σⱼ eⱼ H[π(·|sⱼ)] + Σⱼ vⱼ V(sⱼ)   →   ∂L/∂θ accumulated in the gradients.
/// Parameters are four flat blocks: trunk (empty without one), actor, critic, log-std (empty for
/// Categorical).
template <class S, class Distribution>
class ActorCritic {
 public:
  using Scalar = S;
  using Actions = typename detail::DistributionTraits<Distribution>::Actions;
  static constexpr bool discrete = detail::DistributionTraits<Distribution>::discrete;

  /// observation_size inputs; action_size = number of actions (Categorical) or action dimension.
  ActorCritic(Index observation_size, Index action_size, const PolicyConfig& config, Rng& rng)
      : config_(config),
        trunk_(make_trunk(observation_size, config)),
        actor_(layer_sizes(feature_size(observation_size, config), config.actor_hidden, action_size),
               config.activation, nn::Activation::identity),
        critic_(layer_sizes(feature_size(observation_size, config), config.critic_hidden, 1), config.activation,
                nn::Activation::identity),
        pool_(config.with_critic ? config.num_threads : 1) {
    PGRAD_REQUIRE(config.num_threads >= 1, "ActorCritic: num_threads must be >= 1, got ", config.num_threads);
    PGRAD_REQUIRE(observation_size > 0 && action_size > 0, "ActorCritic: observation size ", observation_size,
                  " and action size ", action_size, " must be positive");
    if (trunk_) initialise(*trunk_, config.hidden_gain, rng);
    initialise(actor_, config.actor_output_gain, rng);
    initialise(critic_, config.critic_output_gain, rng);
    if constexpr (!discrete) {
      log_std_ = nn::Parameters<S>(action_size);
      log_std_.value.setConstant(static_cast<S>(config.initial_log_std));
    }
  }

  Index observation_size() const { return trunk_ ? trunk_->input_size() : actor_.input_size(); }
  bool has_shared_trunk() const { return trunk_.has_value(); }
  /// The shared trunk (only when has_shared_trunk()).
  const nn::Mlp<S>& trunk() const {
    PGRAD_REQUIRE(trunk_.has_value(), "ActorCritic::trunk: this policy has no shared trunk");
    return *trunk_;
  }
  Index action_size() const { return actor_.output_size(); }
  bool has_critic() const { return config_.with_critic; }
  const PolicyConfig& config() const { return config_; }
  nn::Mlp<S>& actor() { return actor_; }
  const nn::Mlp<S>& actor() const { return actor_; }
  nn::Mlp<S>& critic() { return critic_; }
  const nn::Mlp<S>& critic() const { return critic_; }
  nn::Parameters<S>& log_std() { return log_std_; }
  /// The action distribution of the last act() or act_deterministic().
  const Distribution& distribution() const { return acting_dist_; }

  /// Samples actions for a batch of observations; also gives log π(a|s) and V(s) (0 without a critic).
  void act(const MatrixCRef<S>& observations, Rng& rng, Actions& actions, RowVector<S>& log_probs,
           RowVector<S>& values) {
    const MatrixCRef<S> x = features(observations);
    const auto actor_pass = [&] { sample_actions(x, rng, actions, log_probs); };
    const auto critic_pass = [&] { critic_values(x, values); };
    // Below a few dozen samples the passes take about as long as waking a thread.
    if (observations.cols() >= parallel_batch_threshold) {
      pool_.fork_join(actor_pass, critic_pass);
    } else {
      actor_pass();
      critic_pass();
    }
  }

  /// Samples actions and their log π(a|s) only: a rollout gets the values of its steps in
  /// batches from start_values instead.
  void act(const MatrixCRef<S>& observations, Rng& rng, Actions& actions, RowVector<S>& log_probs) {
    sample_actions(features(observations), rng, actions, log_probs);
  }

  /// Starts computing V(s) for a block of observations into `values` (zeros without a critic)
  /// on the critic's thread and returns at once; wait_values() waits for them (with one thread
  /// they are computed here). Meanwhile the policy may act and predict values, but not train,
  /// and both buffers must be left alone. Each column's value has the same bits as act() gives.
  void start_values(const MatrixCRef<S>& observations, Eigen::Ref<RowVector<S>> values) {
    PGRAD_REQUIRE(values.size() == observations.cols(), "ActorCritic::start_values: ", observations.cols(),
                  " observations but room for ", values.size(), " values");
    value_job_ = ValueJob{this, observations.data(), observations.rows(), observations.cols(),
                          observations.outerStride(), values.data()};
    pool_.start(value_job_);
  }

  /// Waits for the values start_values began (returns at once when none are pending).
  void wait_values() { pool_.join(); }

  /// start_values' computation on the calling thread, with the same buffers and the same bits
  /// (for when the other cores are busy, e.g. stepping environments).
  void compute_values(const MatrixCRef<S>& observations, Eigen::Ref<RowVector<S>> values) const {
    PGRAD_REQUIRE(values.size() == observations.cols(), "ActorCritic::compute_values: ", observations.cols(),
                  " observations but room for ", values.size(), " values");
    background_values(ValueJob{this, observations.data(), observations.rows(), observations.cols(),
                               observations.outerStride(), values.data()});
  }

  /// The most likely action (argmax / mean) for each observation.
  void act_deterministic(const MatrixCRef<S>& observations, Actions& actions) {
    actor_.predict(features(observations), head_);
    set_distribution(acting_dist_, head_);
    acting_dist_.mode(actions);
  }

  /// V(s) for each observation (zeros without a critic).
  void predict_values(const MatrixCRef<S>& observations, RowVector<S>& values) const {
    critic_values(features(observations), values);
  }

  /// Training forward: log π(a|s), entropy and V(s) for stored observations and actions; keeps
  /// what backward() needs.
  void evaluate(const MatrixCRef<S>& observations, const Actions& actions, RowVector<S>& log_probs,
                RowVector<S>& entropy, RowVector<S>& values) {
    const MatrixCRef<S> x = trunk_ ? MatrixCRef<S>(trunk_->forward(observations)) : observations;
    pool_.fork_join(
        [&] {
          set_distribution(training_dist_, actor_.forward(x));
          training_dist_.log_prob(actions, log_probs);
          training_dist_.entropy(entropy);
        },
        [&] {
          if (config_.with_critic)
            values = critic_.forward(x).row(0);
          else
            values.setZero(x.cols());
        });
  }

  /// Backward of evaluate(): accumulates ∂L/∂θ for L = Σ w·log π + Σ e·H + Σ v·V, given the
  /// per-sample weights w (log_prob_weight), e (entropy_weight) and v (value_weight = ∂L/∂V).
  void backward(const Actions& actions, const RowVectorCRef<S>& log_prob_weight,
                const RowVectorCRef<S>& entropy_weight, const RowVectorCRef<S>& value_weight) {
    pool_.fork_join([&] { actor_backward(actions, log_prob_weight, entropy_weight); },
                    [&] {
                      if (config_.with_critic) critic_.backward(value_weight, trunk_.has_value());
                    });
    trunk_backward();
  }

  /// evaluate() and backward() in one pass, for a loss L = L_π(log π, H) + L_V(V) whose policy
  /// part sees only the actor's outputs and whose value part only the critic's (PPO, A2C and
  /// REINFORCE all split so). The parts are callables
  ///   policy_part(log_probs, entropy, log_prob_weight, entropy_weight): reads log π(aⱼ|sⱼ) and
  ///       H(sⱼ), writes ∂L/∂log π and ∂L/∂H per sample;
  ///   value_part(values, value_weight): reads V(sⱼ) (zeros without a critic), writes ∂L/∂V.
  /// With num_threads = 2, actor forward → policy_part → actor backward runs alongside critic
  /// forward → value_part → critic backward: one hand-off per minibatch, so the two parts must
  /// not write to the same variables. A shared trunk goes forward first and backward last.
  /// Gradients accumulate as backward() does.
  template <class PolicyPart, class ValuePart>
  void train_pass(const MatrixCRef<S>& observations, const Actions& actions, PolicyPart&& policy_part,
                  ValuePart&& value_part) {
    const MatrixCRef<S> x = trunk_ ? MatrixCRef<S>(trunk_->forward(observations)) : observations;
    pool_.fork_join(
        [&] {
          set_distribution(training_dist_, actor_.forward(x));
          training_dist_.log_prob(actions, pass_log_probs_);
          training_dist_.entropy(pass_entropy_);
          policy_part(std::as_const(pass_log_probs_), std::as_const(pass_entropy_), pass_log_prob_weight_,
                      pass_entropy_weight_);
          actor_backward(actions, pass_log_prob_weight_, pass_entropy_weight_);
        },
        [&] {
          if (config_.with_critic)
            pass_values_ = critic_.forward(x).row(0);
          else
            pass_values_.setZero(x.cols());
          value_part(std::as_const(pass_values_), pass_value_weight_);
          if (config_.with_critic) critic_.backward(pass_value_weight_, trunk_.has_value());
        });
    trunk_backward();
  }

  void zero_grad() {
    for_each_block([](std::size_t, nn::Parameters<S>& block) { block.zero_grad(); });
  }

  /// One optimiser step over all parameter blocks (Adam, RMSprop or Sgd; their moments are kept
  /// per block, so updating the blocks on two threads gives the same numbers as one).
  template <class Optimizer>
  void apply(Optimizer& optimizer) {
    optimizer.begin_step(blocks().size());
    for_each_block([&](std::size_t b, nn::Parameters<S>& block) { optimizer.update_block(b, block); });
  }

  /// Global-norm clipping over all gradients (as nn::clip_grad_norm); returns the norm before
  /// clipping.
  S clip_gradients(S max_norm) {
    std::array<double, 4> squared{};
    for_each_block([&](std::size_t b, nn::Parameters<S>& block) {
      squared[b] = static_cast<double>(block.grad.squaredNorm());
    });
    const nn::GradientClip<S> clip = nn::gradient_clip(squared[0] + squared[1] + squared[2] + squared[3], max_norm);
    if (clip.scale < S(1)) for_each_block([&](std::size_t, nn::Parameters<S>& block) { block.grad *= clip.scale; });
    return clip.norm;
  }

  /// All parameters (trunk, actor, critic, log-std) as one vector, and back; all gradients likewise.
  Vector<S> flat_parameters() const { return concat(&nn::Parameters<S>::value); }
  Vector<S> flat_gradients() const { return concat(&nn::Parameters<S>::grad); }
  void set_flat_parameters(const VectorCRef<S>& flat) {
    PGRAD_REQUIRE(flat.size() == parameter_count(), "ActorCritic::set_flat_parameters: got ", flat.size(),
                  " values for ", parameter_count(), " parameters");
    Index offset = 0;
    for (nn::Parameters<S>* block : blocks()) {
      block->value = flat.segment(offset, block->size());
      offset += block->size();
    }
  }
  Index parameter_count() const {
    Index count = 0;
    for (const nn::Parameters<S>* block : blocks()) count += block->size();
    return count;
  }

 private:
  static std::optional<nn::Mlp<S>> make_trunk(Index observation_size, const PolicyConfig& config) {
    if (config.shared_hidden.empty()) return std::nullopt;
    std::vector<Index> sizes{observation_size};
    sizes.insert(sizes.end(), config.shared_hidden.begin(), config.shared_hidden.end());
    return nn::Mlp<S>(sizes, config.activation, config.activation);
  }
  static Index feature_size(Index observation_size, const PolicyConfig& config) {
    return config.shared_hidden.empty() ? observation_size : config.shared_hidden.back();
  }

  /// The heads' input: the trunk's features (inference path), or the observations themselves.
  MatrixCRef<S> features(const MatrixCRef<S>& observations) const {
    if (!trunk_) return observations;
    trunk_->predict(observations, features_);
    return features_;
  }

  // Actor half of backward(): the distribution's closed-form gradient, then the actor's backprop.
  void actor_backward(const Actions& actions, const RowVectorCRef<S>& log_prob_weight,
                      const RowVectorCRef<S>& entropy_weight) {
    if constexpr (discrete) {
      training_dist_.loss_gradient(actions, log_prob_weight, entropy_weight, grad_head_);
    } else {
      training_dist_.loss_gradient(actions, log_prob_weight, entropy_weight, grad_head_, grad_log_std_);
      log_std_.grad += grad_log_std_.rowwise().sum();
    }
    actor_.backward(grad_head_, trunk_.has_value());
  }

  // The trunk's backward of the summed feature gradients of both heads (nothing without a trunk).
  void trunk_backward() {
    if (!trunk_) return;
    grad_features_ = actor_.input_gradient();
    if (config_.with_critic) grad_features_ += critic_.input_gradient();
    trunk_->backward(grad_features_, false);
  }

  void sample_actions(const MatrixCRef<S>& x, Rng& rng, Actions& actions, RowVector<S>& log_probs) {
    actor_.predict(x, head_);
    set_distribution(acting_dist_, head_);
    acting_dist_.sample(rng, actions);
    acting_dist_.log_prob(actions, log_probs);
  }

  // The background pass of start_values, with buffers of its own so that it can run while the
  // caller acts and predicts with the same networks.
  struct ValueJob {
    const ActorCritic* policy = nullptr;
    const S* observations = nullptr;
    Index rows = 0, cols = 0, stride = 0;
    S* values = nullptr;
    void operator()() const { policy->background_values(*this); }
  };
  void background_values(const ValueJob& job) const {
    const Eigen::Map<const Matrix<S>, 0, Eigen::OuterStride<>> observations(job.observations, job.rows, job.cols,
                                                                           Eigen::OuterStride<>(job.stride));
    Eigen::Map<RowVector<S>> values(job.values, job.cols);
    if (!config_.with_critic) {
      values.setZero();
      return;
    }
    if (trunk_) {
      trunk_->predict(observations, job_features_, job_scratch_);
      critic_.predict(job_features_, job_value_out_, job_scratch_);
    } else {
      critic_.predict(observations, job_value_out_, job_scratch_);
    }
    values = job_value_out_.row(0);
  }

  void critic_values(const MatrixCRef<S>& x, RowVector<S>& values) const {
    if (!config_.with_critic) {
      values.setZero(x.cols());
      return;
    }
    critic_.predict(x, value_out_);
    values = value_out_.row(0);
  }

  // Calls f(b, block) for the four parameter blocks: the critic's on the thread that runs the
  // critic's passes, the others on the caller's, so each network's numbers stay in the cache of
  // the core that uses them (with num_threads = 1, all in order on the caller).
  template <class F>
  void for_each_block(const F& f) {
    const auto b = blocks();
    pool_.fork_join(
        [&] {
          f(0, *b[0]);
          f(1, *b[1]);
          f(3, *b[3]);
        },
        [&] { f(2, *b[2]); });
  }

  std::array<nn::Parameters<S>*, 4> blocks() {
    return {trunk_ ? &trunk_->parameters() : &no_trunk_, &actor_.parameters(), &critic_.parameters(), &log_std_};
  }
  std::array<const nn::Parameters<S>*, 4> blocks() const {
    return {trunk_ ? &trunk_->parameters() : &no_trunk_, &actor_.parameters(), &critic_.parameters(), &log_std_};
  }

  static std::vector<Index> layer_sizes(Index in, const std::vector<Index>& hidden, Index out) {
    std::vector<Index> sizes{in};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(out);
    return sizes;
  }

  void initialise(nn::Mlp<S>& net, double output_gain, Rng& rng) {
    switch (config_.init) {
      case PolicyInit::orthogonal: nn::init_orthogonal(net, rng, config_.hidden_gain, output_gain); break;
      case PolicyInit::xavier_uniform: nn::init_xavier_uniform(net, rng); break;
      case PolicyInit::he_uniform: nn::init_he_uniform(net, rng); break;
    }
  }

  void set_distribution(Distribution& dist, const MatrixCRef<S>& head) {
    if constexpr (discrete)
      dist.set_logits(head);
    else
      dist.set_state_independent(head, log_std_.value);
  }

  Vector<S> concat(Vector<S> nn::Parameters<S>::*member) const {
    Vector<S> flat(parameter_count());
    Index offset = 0;
    for (const nn::Parameters<S>* block : blocks()) {
      flat.segment(offset, block->size()) = block->*member;
      offset += block->size();
    }
    return flat;
  }

  PolicyConfig config_;
  std::optional<nn::Mlp<S>> trunk_;
  nn::Mlp<S> actor_, critic_;
  nn::Parameters<S> log_std_, no_trunk_;
  // One distribution for acting (a few samples per call) and one for training (a minibatch), so
  // that neither resizes its buffers when a rollout and an update alternate.
  Distribution acting_dist_, training_dist_;
  Matrix<S> head_, grad_head_, grad_log_std_, grad_features_;
  RowVector<S> pass_log_probs_, pass_entropy_, pass_values_;                       // train_pass outputs
  RowVector<S> pass_log_prob_weight_, pass_entropy_weight_, pass_value_weight_;  // and the loss weights
  mutable Matrix<S> value_out_, features_;
  ValueJob value_job_;
  mutable Matrix<S> job_value_out_, job_features_;
  mutable typename nn::Mlp<S>::PredictScratch job_scratch_;
  detail::OwnedPool pool_;  // runs the actor and critic passes concurrently when num_threads = 2
  static constexpr Index parallel_batch_threshold = 32;
};

/// The policy type that fits environment Env: Categorical for Discrete actions, DiagGaussian for Box.
template <class Env, class S = typename Env::Scalar>
using PolicyFor = ActorCritic<S, std::conditional_t<envs::has_discrete_actions_v<Env>, dist::Categorical<S>,
                                                    dist::DiagGaussian<S>>>;

/// Builds the policy for an environment, sizing the networks from its spaces. The compile-time
/// checks say clearly when the environment does not meet the contract or Policy does not fit it.
template <class Policy, class Env>
Policy make_policy(const Env& env, const PolicyConfig& config, Rng& rng) {
  static_assert(envs::require_env<Env>());
  static_assert(Policy::discrete == envs::has_discrete_actions_v<Env>,
                "pgrad: the policy's distribution does not fit the environment's actions (Categorical "
                "needs an integer Action / Discrete space, DiagGaussian an Eigen-vector Action / Box space)");
  using Observation = typename Env::Observation;
  static_assert(Observation::ColsAtCompileTime == 1, "pgrad: Env::Observation must be a column vector");
  const Index obs_size = env.observation_space().size();
  if constexpr (Observation::RowsAtCompileTime != Eigen::Dynamic)
    PGRAD_REQUIRE(obs_size == Observation::RowsAtCompileTime, "make_policy: observation space has ", obs_size,
                  " dimensions but Env::Observation has ", Observation::RowsAtCompileTime);
  Index action_size = 0;
  if constexpr (Policy::discrete)
    action_size = env.action_space().n;
  else
    action_size = env.action_space().size();
  return Policy(obs_size, action_size, config, rng);
}

}  // namespace pgrad
