#pragma once
// pgrad::RecurrentActorCritic: a policy with memory, MLP encoder → GRU → actor and critic heads.
#include <array>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/clip_grad.hpp>
#include <pgrad/nn/gru.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/policies/parameter_blocks.hpp>

namespace pgrad {

/// π(a | s_1..s_t) and V(s_1..s_t) through a recurrent state (CleanRL's ppo_atari_lstm agent with
/// a GRU; sb3-contrib's RecurrentPPO policies):
///   e_t = encoder(s_t)            MLP obs → PolicyConfig::shared_hidden (activation on every layer;
///                                 none when empty: the GRU reads the observation)
///   h_t = GRU(e_t, h_{t-1})       nn::Gru, PolicyConfig::recurrent_size; h_0 = 0 at an episode start
///   actor head  h_t → logits / mean (with a state-independent log-std for DiagGaussian)
///   critic head h_t → V           (none with with_critic = false)
/// With recurrent_shared (the default) actor and critic read one encoder and GRU; otherwise each
/// has its own, and the state holds both (rows 0..H-1 the actor's, H..2H-1 the critic's).
///
/// The policy is a plain value; the state is the caller's: a hidden_size() x N matrix, one column
/// per environment copy, that act() advances, reset_state() zeroes where an episode ended, and the
/// algorithms keep in the collector (and its checkpoints). Training replays whole sequences:
/// train_sequences() takes T·B samples of B sequences (column t·B + b), the state before their
/// first step and per-step reset flags, runs encoder, GRU (with backpropagation through time)
/// and heads forward and back, and accumulates ∂L/∂θ for
///   L = Σⱼ wⱼ log π(aⱼ|·) + Σⱼ eⱼ H[π(·|·)] + Σⱼ vⱼ V(·)
/// as ActorCritic::train_pass does. Parameter blocks in order: encoder (if any), GRU, actor head,
/// then the critic's own encoder and GRU (not shared), critic head, log-std (DiagGaussian).
/// Initialisation: CleanRL's, orthogonal with √2 (encoder), 1 (GRU weights, zero biases), 0.01
/// (policy head) and 1 (value head); with PolicyInit::pytorch_default, PyTorch's defaults.
template <class S, class Distribution>
class RecurrentActorCritic {
 public:
  using Scalar = S;
  using Actions = typename detail::DistributionTraits<Distribution>::Actions;
  static constexpr bool discrete = detail::DistributionTraits<Distribution>::discrete;
  static constexpr bool recurrent = true;

  RecurrentActorCritic(Index observation_size, Index action_size, const PolicyConfig& config, Rng& rng)
      : config_((check(observation_size, action_size, config), config)),
        core_(make_core(observation_size, config)),
        actor_(detail::layer_sizes(config.recurrent_size, config.actor_hidden, action_size), config.activation,
               nn::Activation::identity) {
    if (config.with_critic && !config.recurrent_shared) critic_core_.emplace(make_core(observation_size, config));
    if (config.with_critic)
      critic_.emplace(detail::layer_sizes(config.recurrent_size, config.critic_hidden, 1), config.activation,
                      nn::Activation::identity);
    initialise(core_, rng);
    if (critic_core_) initialise(*critic_core_, rng);
    initialise(actor_, config.actor_output_gain, rng);
    if (critic_) initialise(*critic_, config.critic_output_gain, rng);
    if constexpr (!discrete) {
      log_std_ = nn::Parameters<S>(action_size);
      log_std_.value.setConstant(static_cast<S>(config.initial_log_std));
    }
  }

  Index observation_size() const { return core_.encoder ? core_.encoder->input_size() : core_.gru.input_size(); }
  Index action_size() const { return actor_.output_size(); }
  const PolicyConfig& config() const { return config_; }
  bool has_critic() const { return critic_.has_value(); }
  /// Rows of the recurrent state: recurrent_size, twice that with separate actor and critic GRUs.
  Index hidden_size() const { return core_.gru.hidden_size() * (critic_core_ ? 2 : 1); }
  /// Box actions: always a Gaussian, clipped to the box (see box_env_actions).
  BoxDistribution box_distribution() const { return BoxDistribution::gaussian; }
  /// The actor's GRU, its encoder (null without one) and its head.
  const nn::Gru<S>& gru() const { return core_.gru; }
  const nn::Mlp<S>* encoder() const { return core_.encoder ? &*core_.encoder : nullptr; }
  const nn::Mlp<S>& actor() const { return actor_; }
  nn::Parameters<S>& log_std() { return log_std_; }
  const nn::Parameters<S>& log_std() const { return log_std_; }
  /// The action distribution of the last act() or act_deterministic().
  const Distribution& distribution() const { return acting_dist_; }
  /// The action distribution of the last evaluate_sequences() (buffers of its own, so that a
  /// whole rollout evaluated between rollouts does not resize the acting ones).
  const Distribution& evaluated_distribution() const { return evaluated_dist_; }

  /// The interface of ActorCritic's dropout, which a recurrent policy does not have
  /// (PolicyConfig::dropout must be 0): training mode changes nothing, there are no masks.
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  Index dropout_mask_rows() const { return 0; }
  const Matrix<S>& acting_dropout_masks() const { return no_masks_; }
  void set_dropout_rng(const Rng&) {}

  /// Zeroes the state of every column whose episode ended (done(i); any bool row expression).
  template <class Flags>
  static void reset_state(Matrix<S>& hidden, const Flags& done) {
    PGRAD_REQUIRE(done.size() == hidden.cols(), "RecurrentActorCritic::reset_state: ", done.size(), " flags for ",
                  hidden.cols(), " states");
    for (Index i = 0; i < hidden.cols(); ++i)
      if (done(i)) hidden.col(i).setZero();
  }

  /// One step of N environments: advances `hidden` (hidden_size() x N) on the observations and
  /// samples actions with their log π (and V from the new state, zeros without a critic).
  /// `action_masks` (Categorical only: num_actions x N, true = allowed) restricts π to the
  /// allowed actions, as ActorCritic::act does.
  void act(const MatrixCRef<S>& observations, Matrix<S>& hidden, Rng& rng, Actions& actions,
           RowVector<S>& log_probs, RowVector<S>& values, const BoolMatrix* action_masks = nullptr) {
    advance(observations, hidden);
    act_from_state(rng, actions, log_probs, action_masks);
    state_values(values);
  }
  void act(const MatrixCRef<S>& observations, Matrix<S>& hidden, Rng& rng, Actions& actions,
           RowVector<S>& log_probs, const BoolMatrix* action_masks = nullptr) {
    advance(observations, hidden);
    act_from_state(rng, actions, log_probs, action_masks);
  }
  /// The most likely (allowed) action of each copy, advancing `hidden` (evaluation).
  void act_deterministic(const MatrixCRef<S>& observations, Matrix<S>& hidden, Actions& actions,
                         const BoolMatrix* action_masks = nullptr) {
    actor_outputs(observations, hidden, head_);
    set_distribution(acting_dist_, head_, action_masks);
    acting_dist_.mode(actions);
  }
  /// The actor head's outputs (logits, or the Gaussian mean) after advancing `hidden`.
  void actor_outputs(const MatrixCRef<S>& observations, Matrix<S>& hidden, Matrix<S>& head) {
    advance(observations, hidden);
    actor_.predict(state_[0], head);
  }
  /// V after one step from `hidden` on the observations, leaving `hidden` as it is (the
  /// time-limit bootstrap on a final observation, and V of the observation after a rollout).
  void predict_values(const MatrixCRef<S>& observations, const Matrix<S>& hidden, RowVector<S>& values) const {
    check_state(observations, hidden, "RecurrentActorCritic::predict_values");
    if (!critic_) {
      values.setZero(observations.cols());
      return;
    }
    const Core& core = critic_core_ ? *critic_core_ : core_;
    peek_state_ = hidden.middleRows(critic_core_ ? core_.gru.hidden_size() : 0, core.gru.hidden_size());
    if (core.encoder) {
      core.encoder->predict(observations, peek_features_, peek_scratch_);
      core.gru.step(peek_features_, peek_state_, peek_step_);
    } else {
      core.gru.step(observations, peek_state_, peek_step_);
    }
    critic_->predict(peek_state_, peek_values_, peek_scratch_);
    values = peek_values_.row(0);
  }

  /// The training pass on B sequences of T steps (observations obs_size x T·B, column t·B + b;
  /// actions likewise), from `initial_hidden` (hidden_size() x B) with the state zeroed before
  /// step t of sequence b where resets[t·B + b]: forward through encoder, GRU and heads, the loss
  /// parts (as ActorCritic::train_pass: policy_part reads log π and H and writes their weights,
  /// value_part reads V and writes its weight), and the backward through time. Gradients
  /// accumulate (see zero_grad). `workers` is accepted for the common interface; the pass runs
  /// on the calling thread. π is restricted by `action_masks` (one column per sample) as in act().
  template <class PolicyPart, class ValuePart>
  void train_sequences(const MatrixCRef<S>& observations, const Actions& actions, const Matrix<S>& initial_hidden,
                       const BoolRowVector& resets, Index sequences, PolicyPart&& policy_part, ValuePart&& value_part,
                       ThreadPool* workers = nullptr, const BoolMatrix* action_masks = nullptr) {
    (void)workers;
    sequence_forward(observations, initial_hidden, resets, sequences);
    actor_side(actions, policy_part, training_dist_, action_masks);
    if (critic_)
      pass_values_ = critic_->forward(outputs(critic_core_ ? 1 : 0)).row(0);
    else
      pass_values_.setZero(observations.cols());
    value_part(ValueTerms<S>{pass_values_, pass_value_weight_});
    grad_state_ = actor_.input_gradient();
    if (critic_) {
      critic_->backward(pass_value_weight_, true);
      if (critic_core_)
        core_backward(*critic_core_, critic_->input_gradient());
      else
        grad_state_ += critic_->input_gradient();
    }
    core_backward(core_, grad_state_);
  }

  /// log π, entropy and V of given actions along B sequences (as train_sequences, without the
  /// backward); evaluated_distribution() is then that π. It overwrites the training pass's
  /// forward state (and what fisher_vector_product reads).
  void evaluate_sequences(const MatrixCRef<S>& observations, const Actions& actions, const Matrix<S>& initial_hidden,
                          const BoolRowVector& resets, Index sequences, RowVector<S>& log_probs, RowVector<S>& entropy,
                          RowVector<S>& values, const BoolMatrix* action_masks = nullptr) {
    sequence_forward(observations, initial_hidden, resets, sequences);
    evaluate_actor(actions, log_probs, entropy, action_masks);
    if (critic_) {
      critic_->predict(outputs(critic_core_ ? 1 : 0), value_out_);
      values = value_out_.row(0);
    } else {
      values.setZero(observations.cols());
    }
  }

  /// log π and entropy of given actions along B sequences, without the critic (TRPO's surrogate
  /// and KL): only the actor's encoder and GRU run. evaluated_distribution() is then that π.
  void evaluate_sequences(const MatrixCRef<S>& observations, const Actions& actions, const Matrix<S>& initial_hidden,
                          const BoolRowVector& resets, Index sequences, RowVector<S>& log_probs,
                          RowVector<S>& entropy, const BoolMatrix* action_masks = nullptr) {
    check_sequences(observations, initial_hidden, sequences);
    core_forward(0, observations, initial_hidden, resets, sequences);
    evaluate_actor(actions, log_probs, entropy, action_masks);
  }

  /// A training pass of the policy alone over B sequences (TRPO's gradient; as
  /// ActorCritic::policy_pass): the forward of the actor's encoder, GRU and head, the policy
  /// part of a loss (as in train_sequences), and the backward through time, accumulating the
  /// gradients of the policy group (a separate critic GRU and the critic head take no part). It
  /// also prepares fisher_vector_product at these parameters and sequences.
  template <class PolicyPart>
  void policy_pass(const MatrixCRef<S>& observations, const Actions& actions, const Matrix<S>& initial_hidden,
                   const BoolRowVector& resets, Index sequences, PolicyPart&& policy_part,
                   const BoolMatrix* action_masks = nullptr) {
    check_sequences(observations, initial_hidden, sequences);
    core_forward(0, observations, initial_hidden, resets, sequences);
    actor_side(actions, policy_part, fisher_dist_, action_masks);
    core_backward(core_, actor_.input_gradient());
  }

  /// F·v for the policy group's parameters (encoder, GRU, actor head, log-std) at the parameters
  /// and sequences of the last policy_pass, without forming F:
  ///   F v = (1/B) Σⱼ Jⱼᵀ Mⱼ Jⱼ v   over the T·B samples j,
  /// Jⱼ v the change of sample j's distribution parameters: a forward-mode pass through the
  /// encoder (Mlp::forward_tangent), the GRU over the whole sequence from the stored initial
  /// states, cut at the resets (Gru::forward_tangent), and the actor head; Mⱼ the
  /// distribution's Fisher metric; Jⱼᵀ the backward through time. F is the Hessian of the mean
  /// KL(π || π_θ) over the samples at θ = the current parameters. No damping. The policy group's
  /// gradients serve as scratch and are overwritten. With mean_over > 0 the sum is divided by
  /// mean_over instead of B.
  void fisher_vector_product(const VectorCRef<S>& v, Vector<S>& out, Index mean_over = 0) {
    PGRAD_REQUIRE(v.size() == parameter_count(ParameterGroup::policy),
                  "RecurrentActorCritic::fisher_vector_product: got ", v.size(), " values for ",
                  parameter_count(ParameterGroup::policy), " policy parameters");
    const Index encoder_size = core_.encoder ? core_.encoder->parameters().size() : 0;
    const Index gru_size = core_.gru.parameter_count(), actor_size = actor_.parameters().size();
    const Matrix<S>* encoder_tangent = core_.encoder ? &core_.encoder->forward_tangent(v.head(encoder_size)) : nullptr;
    const Matrix<S>& state_tangent = core_.gru.forward_tangent(v.segment(encoder_size, gru_size), encoder_tangent);
    const Matrix<S>& head_tangent =
        actor_.forward_tangent(v.segment(encoder_size + gru_size, actor_size), &state_tangent);
    fisher_dist_.fisher_product(head_tangent, metric_tangent_);
    const Index batch = head_tangent.cols(), over = mean_over > 0 ? mean_over : batch;
    metric_tangent_ *= S(1) / static_cast<S>(over);
    zero_grad(nullptr, ParameterGroup::policy);
    actor_.backward(metric_tangent_, true);
    core_backward(core_, actor_.input_gradient());
    if constexpr (!discrete)  // a log-std shared by every sample: the batch mean of its metric
      log_std_.grad = Distribution::log_std_fisher * (static_cast<S>(batch) / static_cast<S>(over)) *
                      v.tail(log_std_.size());
    flat_gradients(out, ParameterGroup::policy);
  }

  /// A training pass of the critic alone over B sequences (TRPO's value steps; as
  /// ActorCritic::value_pass): V along the sequences, the value part of a loss, and the
  /// backward. With a shared GRU only the critic head gets a gradient (the encoder and GRU only
  /// feed it, by the inference path with buffers of their own, so the policy's trust region is
  /// kept and the policy's passes keep their state); with its own, the critic's encoder and GRU
  /// get theirs through time. Needs a critic.
  template <class ValuePart>
  void value_pass(const MatrixCRef<S>& observations, const Matrix<S>& initial_hidden, const BoolRowVector& resets,
                  Index sequences, ValuePart&& value_part) {
    PGRAD_REQUIRE(critic_.has_value(), "RecurrentActorCritic::value_pass: this policy has no critic");
    check_sequences(observations, initial_hidden, sequences);
    if (critic_core_) {
      core_forward(1, observations, initial_hidden, resets, sequences);
      pass_values_ = critic_->forward(outputs(1)).row(0);
    } else {
      predict_states(observations, initial_hidden, resets, sequences);
      pass_values_ = critic_->forward(value_states_).row(0);
    }
    value_part(ValueTerms<S>{pass_values_, pass_value_weight_});
    critic_->backward(pass_value_weight_, critic_core_.has_value());
    if (critic_core_) core_backward(*critic_core_, critic_->input_gradient());
  }

  void zero_grad(ThreadPool* = nullptr, ParameterGroup group = ParameterGroup::all) {
    for (nn::Parameters<S>* block : blocks(group)) block->zero_grad();
  }
  /// Global-norm clipping over the group's gradients (as ActorCritic::clip_gradients).
  S clip_gradients(S max_norm, ThreadPool* = nullptr, ParameterGroup group = ParameterGroup::all) {
    double sum = 0;
    for (nn::Parameters<S>* block : blocks(group)) sum += static_cast<double>(block->grad.squaredNorm());
    if (max_norm <= S(0)) return nn::gradient_clip(sum, std::numeric_limits<S>::infinity()).norm;
    const nn::GradientClip<S> clip = nn::gradient_clip(sum, max_norm);
    if (clip.scale < S(1))
      for (nn::Parameters<S>* block : blocks(group)) block->grad *= clip.scale;
    return clip.norm;
  }
  /// One optimiser step over the group's blocks.
  template <class Optimizer>
  void apply(Optimizer& optimizer, ThreadPool* = nullptr, ParameterGroup group = ParameterGroup::all) {
    auto list = blocks(group);
    optimizer.begin_step(list.size());
    for (std::size_t b = 0; b < list.size(); ++b) optimizer.update_block(b, *list.items[b]);
  }

  /// The group's parameters (or gradients) in block order as one vector, and back.
  Vector<S> flat_parameters(ParameterGroup group = ParameterGroup::all) const {
    return concat(&nn::Parameters<S>::value, group);
  }
  Vector<S> flat_gradients(ParameterGroup group = ParameterGroup::all) const {
    return concat(&nn::Parameters<S>::grad, group);
  }
  /// The same into the caller's vector (no allocation once it has the size).
  void flat_parameters(Vector<S>& out, ParameterGroup group) const { blocks(group).concat(&nn::Parameters<S>::value, out); }
  void flat_gradients(Vector<S>& out, ParameterGroup group) const { blocks(group).concat(&nn::Parameters<S>::grad, out); }
  void set_flat_parameters(const VectorCRef<S>& flat, ParameterGroup group = ParameterGroup::all) {
    blocks(group).set_values(flat, "RecurrentActorCritic");
  }
  Index parameter_count(ParameterGroup group = ParameterGroup::all) const { return blocks(group).parameter_count(); }
  std::vector<Index> block_sizes(ParameterGroup group = ParameterGroup::all) const { return blocks(group).sizes(); }

  /// Checkpoints: the Scalar, the distribution, the architecture (the sizes of every encoder,
  /// GRU and head, in block order) and every parameter. load_state throws naming any difference,
  /// a non-finite parameter or a log-std outside [-20, 20].
  void save_state(Writer& w) const {
    w.section("RecurrentActorCritic");
    write_scalar_type<S>(w);
    w.boolean(discrete);
    const std::vector<Index> sizes = architecture();
    w.u64(sizes.size());
    for (Index size : sizes) w.i64(size);
    w.matrix(flat_parameters());
  }
  void load_state(Reader& r) {
    r.section("RecurrentActorCritic");
    check_scalar_type<S>(r);
    PGRAD_REQUIRE(r.boolean() == discrete, r.source(), ": action distribution differs from the policy's (",
                  discrete ? "Categorical" : "DiagGaussian", ")");
    const std::vector<Index> expected = architecture();
    const auto count = r.u64();
    PGRAD_REQUIRE(count <= 4 * 64, r.source(), ": corrupt RecurrentActorCritic size count ", count);
    std::vector<Index> found(static_cast<std::size_t>(count));
    for (auto& size : found) size = static_cast<Index>(r.i64());
    PGRAD_REQUIRE(found == expected, r.source(), ": RecurrentActorCritic architecture differs: file has ",
                  pgrad::detail::join_sizes(found), ", policy has ", pgrad::detail::join_sizes(expected));
    Vector<S> flat;
    r.matrix(flat, "RecurrentActorCritic policy parameters", parameter_count(), 1);
    if constexpr (!discrete)
      PGRAD_REQUIRE((flat.tail(log_std_.size()).array().abs() <= S(PolicyConfig::max_abs_log_std)).all(), r.source(),
                    ": corrupt RecurrentActorCritic log-std: outside [-20, 20]");
    set_flat_parameters(flat);
  }

 private:
  // An encoder (optional) and a GRU, with the buffers of its steps.
  struct Core {
    std::optional<nn::Mlp<S>> encoder;
    nn::Gru<S> gru;
  };

  static constexpr std::size_t max_blocks = 8;
  template <class P>
  using BlockList = detail::BlockList<P, max_blocks>;
  template <class P, class Self>
  static BlockList<P> blocks_of(Self& self, ParameterGroup group) {
    BlockList<P> list;
    const bool policy = group != ParameterGroup::critic, critic = group != ParameterGroup::policy;
    const auto add_core = [&list](auto& core) {
      if (core.encoder) list.add(core.encoder->parameters());
      list.add(core.gru.parameters());
    };
    if (policy) {
      add_core(self.core_);
      list.add(self.actor_.parameters());
    }
    if (critic && self.critic_core_) add_core(*self.critic_core_);
    if (critic && self.critic_) list.add(self.critic_->parameters());
    if constexpr (!discrete)
      if (policy) list.add(self.log_std_);
    return list;
  }
  BlockList<nn::Parameters<S>> blocks(ParameterGroup group = ParameterGroup::all) {
    return blocks_of<nn::Parameters<S>>(*this, group);
  }
  BlockList<const nn::Parameters<S>> blocks(ParameterGroup group = ParameterGroup::all) const {
    return blocks_of<const nn::Parameters<S>>(*this, group);
  }
  Vector<S> concat(Vector<S> nn::Parameters<S>::*member, ParameterGroup group) const {
    Vector<S> flat;
    blocks(group).concat(member, flat);
    return flat;
  }

  // Every network's sizes in block order, each list preceded by its length (checkpoints).
  std::vector<Index> architecture() const {
    std::vector<Index> sizes;
    const auto add = [&](const std::vector<Index>& list) {
      sizes.push_back(static_cast<Index>(list.size()));
      sizes.insert(sizes.end(), list.begin(), list.end());
    };
    const auto add_core = [&](const Core& core) {
      add(core.encoder ? core.encoder->sizes() : std::vector<Index>{});
      add({core.gru.input_size(), core.gru.hidden_size()});
    };
    sizes.push_back(critic_core_ ? 2 : 1);  // the number of cores
    add_core(core_);
    add(actor_.sizes());
    if (critic_core_) add_core(*critic_core_);
    add(critic_ ? critic_->sizes() : std::vector<Index>{});
    return sizes;
  }

  static int check(Index observation_size, Index action_size, const PolicyConfig& config) {
    PGRAD_REQUIRE(observation_size > 0 && action_size > 0 && observation_size <= PolicyConfig::max_hidden_size &&
                      action_size <= PolicyConfig::max_hidden_size,
                  "RecurrentActorCritic: observation size ", observation_size, " and action size ", action_size,
                  " must be in [1, ", PolicyConfig::max_hidden_size, "]");
    config.validate("RecurrentActorCritic");
    PGRAD_REQUIRE(config.recurrent_size > 0, "RecurrentActorCritic: policy.recurrent_size must be positive (the "
                  "GRU's state size), got ", config.recurrent_size);
    PGRAD_REQUIRE(config.dropout == 0, "RecurrentActorCritic: policy.dropout = ", config.dropout,
                  " is not supported by recurrent policies (use 0)");
    const auto counts = config.parameter_counts(observation_size, action_size);
    for (double count : counts)
      PGRAD_REQUIRE(count <= static_cast<double>(PolicyConfig::max_parameters),
                    "RecurrentActorCritic: a network would have ", count, " parameters, above the limit of ",
                    PolicyConfig::max_parameters);
    return 0;
  }
  static Core make_core(Index observation_size, const PolicyConfig& config) {
    if (config.shared_hidden.empty()) return Core{std::nullopt, nn::Gru<S>(observation_size, config.recurrent_size)};
    std::vector<Index> sizes{observation_size};
    sizes.insert(sizes.end(), config.shared_hidden.begin(), config.shared_hidden.end());
    return Core{nn::Mlp<S>(sizes, config.activation, config.activation),
                nn::Gru<S>(config.shared_hidden.back(), config.recurrent_size)};
  }
  void initialise(nn::Mlp<S>& net, double output_gain, Rng& rng) {
    detail::initialise_network(net, config_.init, config_.hidden_gain, output_gain, rng);
  }
  void initialise(Core& core, Rng& rng) {
    if (core.encoder) initialise(*core.encoder, config_.hidden_gain, rng);
    if (config_.init == PolicyInit::pytorch_default)
      nn::init_pytorch_default(core.gru, rng);
    else
      nn::init_orthogonal(core.gru, rng, 1.0);
  }

  void check_state(const MatrixCRef<S>& observations, const Matrix<S>& hidden, const char* who) const {
    PGRAD_REQUIRE(hidden.rows() == hidden_size() && hidden.cols() == observations.cols(), who, ": state is ",
                  hidden.rows(), "x", hidden.cols(), ", expected ", hidden_size(), "x", observations.cols());
  }

  // Steps every core's GRU on the observations: state_[c] holds core c's new state, copied back
  // into its rows of `hidden`.
  void advance(const MatrixCRef<S>& observations, Matrix<S>& hidden) {
    check_state(observations, hidden, "RecurrentActorCritic::act");
    const Index h = core_.gru.hidden_size();
    for (std::size_t c = 0; c < (critic_core_ ? 2u : 1u); ++c) {
      const Core& core = c == 0 ? core_ : *critic_core_;
      state_[c] = hidden.middleRows(static_cast<Index>(c) * h, h);
      if (core.encoder) {
        core.encoder->predict(observations, features_, predict_scratch_);
        core.gru.step(features_, state_[c], step_scratch_);
      } else {
        core.gru.step(observations, state_[c], step_scratch_);
      }
      hidden.middleRows(static_cast<Index>(c) * h, h) = state_[c];
    }
  }
  void act_from_state(Rng& rng, Actions& actions, RowVector<S>& log_probs, const BoolMatrix* action_masks) {
    actor_.predict(state_[0], head_);
    set_distribution(acting_dist_, head_, action_masks);
    acting_dist_.sample(rng, actions);
    acting_dist_.log_prob(actions, log_probs);
  }
  void state_values(RowVector<S>& values) const {
    if (!critic_) {
      values.setZero(state_[0].cols());
      return;
    }
    critic_->predict(state_[critic_core_ ? 1 : 0], value_out_);
    values = value_out_.row(0);
  }

  void check_sequences(const MatrixCRef<S>& observations, const Matrix<S>& initial_hidden, Index sequences) const {
    PGRAD_REQUIRE(sequences > 0 && observations.cols() % sequences == 0 && initial_hidden.rows() == hidden_size() &&
                      initial_hidden.cols() == sequences,
                  "RecurrentActorCritic: ", observations.cols(), " samples with a ", initial_hidden.rows(), "x",
                  initial_hidden.cols(), " initial state are not whole steps of ", sequences,
                  " sequences with a state of ", hidden_size());
  }
  // The training forward of every core over the sequences.
  void sequence_forward(const MatrixCRef<S>& observations, const Matrix<S>& initial_hidden,
                        const BoolRowVector& resets, Index sequences) {
    check_sequences(observations, initial_hidden, sequences);
    for (std::size_t c = 0; c < (critic_core_ ? 2u : 1u); ++c)
      core_forward(c, observations, initial_hidden, resets, sequences);
  }
  // The training forward of core c (0: the actor's or the shared one, 1: the critic's own) from
  // its rows of the initial state; outputs(c) is then its states.
  void core_forward(std::size_t c, const MatrixCRef<S>& observations, const Matrix<S>& initial_hidden,
                    const BoolRowVector& resets, Index sequences) {
    const Index h = core_.gru.hidden_size();
    Core& core = c == 0 ? core_ : *critic_core_;
    initial_[c] = initial_hidden.middleRows(static_cast<Index>(c) * h, h);
    outputs_[c] = core.encoder ? &core.gru.forward(core.encoder->forward(observations), initial_[c], resets, sequences)
                               : &core.gru.forward(observations, initial_[c], resets, sequences);
  }
  // The shared core's states along the sequences into value_states_ by the inference path
  // (encoder predict, GRU step by step with the resets), leaving the training forward alone.
  void predict_states(const MatrixCRef<S>& observations, const Matrix<S>& initial_hidden, const BoolRowVector& resets,
                      Index sequences) {
    const Index steps = observations.cols() / sequences;
    PGRAD_REQUIRE(resets.size() == 0 || resets.size() == observations.cols(), "RecurrentActorCritic: ",
                  resets.size(), " reset flags for ", observations.cols(), " samples");
    if (core_.encoder) core_.encoder->predict(observations, value_features_, value_scratch_);
    const MatrixCRef<S> input = core_.encoder ? MatrixCRef<S>(value_features_) : observations;
    value_state_ = initial_hidden;
    value_states_.resize(value_state_.rows(), observations.cols());
    for (Index t = 0; t < steps; ++t) {
      for (Index b = 0; b < sequences; ++b)
        if (resets.size() > 0 && resets[t * sequences + b]) value_state_.col(b).setZero();
      core_.gru.step(input.middleCols(t * sequences, sequences), value_state_, value_step_);
      value_states_.middleCols(t * sequences, sequences) = value_state_;
    }
  }
  // The actor head's side of a training pass on the states of core 0: forward, π into dist, the
  // policy part of the loss, its closed-form gradient, and the head's backward (with dL/dh).
  template <class PolicyPart>
  void actor_side(const Actions& actions, PolicyPart& policy_part, Distribution& dist,
                  const BoolMatrix* action_masks) {
    set_distribution(dist, actor_.forward(outputs(0)), action_masks);
    dist.log_prob(actions, pass_log_probs_);
    dist.entropy(pass_entropy_);
    policy_part(PolicyTerms<S>{pass_log_probs_, pass_entropy_, pass_log_prob_weight_, pass_entropy_weight_});
    if constexpr (discrete) {
      dist.loss_gradient(actions, pass_log_prob_weight_, pass_entropy_weight_, grad_head_);
    } else {
      dist.loss_gradient(actions, pass_log_prob_weight_, pass_entropy_weight_, grad_head_, grad_log_std_);
      log_std_.grad += grad_log_std_.rowwise().sum();
    }
    actor_.backward(grad_head_, true);
  }
  // π on the states of core 0 into evaluated_dist_, and log π and entropy of the actions.
  void evaluate_actor(const Actions& actions, RowVector<S>& log_probs, RowVector<S>& entropy,
                      const BoolMatrix* action_masks) {
    actor_.predict(outputs(0), evaluated_head_, evaluated_scratch_);
    set_distribution(evaluated_dist_, evaluated_head_, action_masks);
    evaluated_dist_.log_prob(actions, log_probs);
    evaluated_dist_.entropy(entropy);
  }
  const Matrix<S>& outputs(std::size_t c) const { return *outputs_[c]; }
  void core_backward(Core& core, const Matrix<S>& grad_state) {
    core.gru.backward(grad_state, core.encoder.has_value());
    if (core.encoder) core.encoder->backward(core.gru.input_gradient(), false);
  }

  // π from the head's outputs, restricted by action masks (Categorical only) when given.
  void set_distribution(Distribution& dist, const MatrixCRef<S>& head, const BoolMatrix* action_masks = nullptr) {
    if constexpr (discrete) {
      if (action_masks != nullptr) {
        PGRAD_REQUIRE(action_masks->cols() == head.cols(), "RecurrentActorCritic: ", action_masks->cols(),
                      " action masks for ", head.cols(), " samples");
        dist.set_logits(head, *action_masks);
        return;
      }
    } else {
      PGRAD_REQUIRE(action_masks == nullptr, "RecurrentActorCritic: action masks are for Categorical policies");
    }
    detail::set_distribution<discrete>(dist, head, log_std_);
  }

  PolicyConfig config_;
  bool training_ = true;
  Matrix<S> no_masks_;
  Core core_;
  nn::Mlp<S> actor_;
  std::optional<Core> critic_core_;
  std::optional<nn::Mlp<S>> critic_;
  nn::Parameters<S> log_std_;
  // One distribution for acting, one for train_sequences, one for evaluate_sequences and one for
  // policy_pass (and fisher_vector_product), so that none resizes when rollouts and updates alternate.
  Distribution acting_dist_, training_dist_, evaluated_dist_, fisher_dist_;
  // Acting buffers (state_[c]: core c's state after the step).
  std::array<Matrix<S>, 2> state_, initial_;
  std::array<const Matrix<S>*, 2> outputs_{};
  Matrix<S> features_, head_, grad_head_, grad_log_std_, grad_state_, metric_tangent_;
  Matrix<S> evaluated_head_;  // evaluate_sequences' own
  typename nn::Mlp<S>::PredictScratch evaluated_scratch_;
  // value_pass's own (a shared core's inference path).
  Matrix<S> value_features_, value_state_, value_states_;
  typename nn::Mlp<S>::PredictScratch value_scratch_;
  typename nn::Gru<S>::StepScratch value_step_;
  mutable Matrix<S> value_out_;
  typename nn::Mlp<S>::PredictScratch predict_scratch_;
  typename nn::Gru<S>::StepScratch step_scratch_;
  // predict_values' own buffers.
  mutable Matrix<S> peek_state_, peek_features_, peek_values_;
  mutable typename nn::Mlp<S>::PredictScratch peek_scratch_;
  mutable typename nn::Gru<S>::StepScratch peek_step_;
  RowVector<S> pass_log_probs_, pass_entropy_, pass_values_;
  RowVector<S> pass_log_prob_weight_, pass_entropy_weight_, pass_value_weight_;
};

/// The recurrent policy type that fits environment Env (Categorical or DiagGaussian head).
template <class Env, class S = typename Env::Scalar>
using RecurrentPolicyFor =
    RecurrentActorCritic<S, std::conditional_t<envs::has_discrete_actions_v<Env>, dist::Categorical<S>,
                                               dist::DiagGaussian<S>>>;

/// True for policies with a recurrent state (RecurrentActorCritic), false for ActorCritic.
template <class Policy, class = void>
struct is_recurrent : std::false_type {};
template <class Policy>
struct is_recurrent<Policy, std::enable_if_t<Policy::recurrent>> : std::true_type {};
template <class Policy>
constexpr bool is_recurrent_v = is_recurrent<Policy>::value;

/// Rows of a policy's recurrent state (0 for a feed-forward policy).
template <class Policy>
Index hidden_rows_of(const Policy& policy) {
  if constexpr (is_recurrent_v<Policy>)
    return policy.hidden_size();
  else
    return 0;
}

}  // namespace pgrad
