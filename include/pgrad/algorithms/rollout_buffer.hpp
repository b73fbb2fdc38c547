#pragma once
// pgrad::algo::RolloutBuffer: one on-policy rollout of T steps x N environments.
#include <algorithm>
#include <numeric>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad::algo {

/// What the collect loop stores for up to T steps of N environments, sized once; `length` is the
/// number of steps the last collect stored (T, or fewer for a rollout of one whole episode).
///
/// Per-sample arrays are flat with sample index t·N + i (step t, environment i): observations
/// (obs_size x T·N), actions (1 or action_dim x T·N) and log_probs (1 x T·N). Per-step arrays are
/// N x T matrices whose element (i, t) has the same flat index: values V(s_t), rewards r_t,
/// terminated / truncated flags, final_values (V of the final observation of an episode cut by
/// a time limit at (i, t)), and the advantages and returns computed from them. For a recurrent
/// policy, initial_hidden holds each copy's state before the rollout's first step (state rows x
/// N; empty otherwise), from which the update replays the rollout's sequences.
template <class S, class Actions>
struct RolloutBuffer {
  Index num_steps = 0, num_envs = 0;
  Index length = 0;  ///< steps stored by the last collect (columns 0 .. length-1 of the per-step arrays)
  Matrix<S> observations;
  Actions actions;
  RowVector<S> log_probs;
  Matrix<S> values, rewards, final_values, advantages, returns;
  BoolMatrix terminated, truncated;
  Vector<S> last_values;  ///< V(s_T) after the last step, per environment
  /// The actor's dropout masks while acting (mask rows x T·N; empty for a policy without dropout).
  Matrix<S> dropout_masks;
  Matrix<S> initial_hidden;  ///< recurrent policies: the state before step 0, per environment
  /// The environments' action masks of the stored observations (num_actions x T·N, true =
  /// allowed; empty for an environment without action_mask()).
  BoolMatrix action_masks;

  void resize(Index steps, Index envs, Index observation_size, Index action_rows, Index dropout_rows = 0,
              Index hidden_rows = 0, Index mask_rows = 0) {
    PGRAD_REQUIRE(steps > 0 && envs > 0, "RolloutBuffer: steps (", steps, ") and environments (", envs,
                  ") must be positive");
    num_steps = steps;
    num_envs = envs;
    length = 0;
    observations.resize(observation_size, steps * envs);
    actions.resize(action_rows, steps * envs);
    log_probs.resize(steps * envs);
    for (Matrix<S>* m : {&values, &rewards, &final_values, &advantages, &returns}) m->setZero(envs, steps);
    terminated.setConstant(envs, steps, false);
    truncated.setConstant(envs, steps, false);
    last_values.setZero(envs);
    dropout_masks.resize(dropout_rows, dropout_rows > 0 ? steps * envs : 0);
    initial_hidden.setZero(hidden_rows, envs);
    action_masks.setConstant(mask_rows, mask_rows > 0 ? steps * envs : 0, true);
  }

  /// Samples stored by the last collect.
  Index size() const { return length * num_envs; }

  /// An N x T matrix seen as one row of T·N samples (same flat order as observations).
  static Eigen::Map<const RowVector<S>> flat(const Matrix<S>& m) { return {m.data(), m.size()}; }
  static Eigen::Map<RowVector<S>> flat(Matrix<S>& m) { return {m.data(), m.size()}; }
};

/// A minibatch gathered from a rollout by sample index (buffers reused between calls).
template <class S, class Actions>
struct Minibatch {
  Matrix<S> observations;
  Actions actions;
  RowVector<S> old_log_probs, old_values, advantages, returns;
  Matrix<S> dropout_masks;  ///< the acting pass's dropout masks (empty when the rollout has none)
  BoolMatrix action_masks;  ///< the environments' action masks (empty when the rollout has none)
  /// The samples a loss averages over: this batch's own (0), or, for one shard of a sharded
  /// minibatch (ShardedMinibatch), the whole minibatch's, so that the shards' losses add up.
  Index loss_size = 0;

  Index size() const { return observations.cols(); }
  Index mean_over() const { return loss_size > 0 ? loss_size : size(); }
  /// The action masks for a policy's passes (null without masks).
  const BoolMatrix* masks() const { return action_masks.size() > 0 ? &action_masks : nullptr; }

  /// Copies samples indices[start, start + count) of the rollout.
  template <class IndexVector>
  void gather(const RolloutBuffer<S, Actions>& rollout, const IndexVector& indices, Index start, Index count) {
    resize_like(rollout, count);
    for (Index k = 0; k < count; ++k) copy_sample(rollout, indices[static_cast<std::size_t>(start + k)], k);
  }

  /// Copies every sample the rollout holds, in order.
  void gather_all(const RolloutBuffer<S, Actions>& rollout) {
    const Index count = rollout.size();
    resize_like(rollout, count);
    observations = rollout.observations.leftCols(count);
    actions = rollout.actions.leftCols(count);
    old_log_probs = rollout.log_probs.head(count);
    old_values = RolloutBuffer<S, Actions>::flat(rollout.values).head(count);
    advantages = RolloutBuffer<S, Actions>::flat(rollout.advantages).head(count);
    returns = RolloutBuffer<S, Actions>::flat(rollout.returns).head(count);
    dropout_masks = rollout.dropout_masks.leftCols(rollout.dropout_masks.size() > 0 ? count : 0);
    action_masks = rollout.action_masks.leftCols(rollout.action_masks.size() > 0 ? count : 0);
  }

  /// The training pass of a loss on this batch (ActorCritic::train_pass, with the actor's dropout
  /// masks when given, and the batch's action masks).
  template <class Policy, class PolicyPart, class ValuePart>
  void train_pass(Policy& policy, PolicyPart&& policy_part, ValuePart&& value_part, ThreadPool* workers,
                  const Matrix<S>* masks = nullptr) const {
    policy.train_pass(observations, actions, policy_part, value_part, workers, masks, this->masks());
  }
  /// The policy's half of a training pass on this batch (ActorCritic::policy_pass: TRPO's gradient).
  template <class Policy, class PolicyPart>
  void policy_pass(Policy& policy, PolicyPart&& policy_part) const {
    policy.policy_pass(observations, actions, policy_part, masks());
  }
  /// The critic's half (ActorCritic::value_pass: TRPO's value steps).
  template <class Policy, class ValuePart>
  void value_pass(Policy& policy, ValuePart&& value_part) const {
    policy.value_pass(observations, value_part);
  }
  /// log π and entropy of this batch's actions (ActorCritic::evaluate_actions); the policy's
  /// evaluated_distribution() is then π on the batch.
  template <class Policy>
  void evaluate(Policy& policy, RowVector<S>& log_probs, RowVector<S>& entropy) const {
    policy.evaluate_actions(observations, actions, log_probs, entropy, masks());
  }

 protected:
  void resize_like(const RolloutBuffer<S, Actions>& rollout, Index count) {
    observations.resize(rollout.observations.rows(), count);
    actions.resize(rollout.actions.rows(), count);
    for (RowVector<S>* v : {&old_log_probs, &old_values, &advantages, &returns}) v->resize(count);
    dropout_masks.resize(rollout.dropout_masks.rows(), rollout.dropout_masks.size() > 0 ? count : 0);
    action_masks.resize(rollout.action_masks.rows(), rollout.action_masks.size() > 0 ? count : 0);
  }
  // Sample j of the rollout into column k.
  void copy_sample(const RolloutBuffer<S, Actions>& rollout, Index j, Index k) {
    // Columns of a few rows: plain copies (Eigen's per-column assignment costs more than the data).
    std::copy_n(rollout.observations.col(j).data(), observations.rows(), observations.col(k).data());
    std::copy_n(rollout.actions.col(j).data(), actions.rows(), actions.col(k).data());
    old_log_probs[k] = rollout.log_probs[j];
    old_values[k] = RolloutBuffer<S, Actions>::flat(rollout.values)[j];
    advantages[k] = RolloutBuffer<S, Actions>::flat(rollout.advantages)[j];
    returns[k] = RolloutBuffer<S, Actions>::flat(rollout.returns)[j];
    if (rollout.dropout_masks.size() > 0) dropout_masks.col(k) = rollout.dropout_masks.col(j);
    if (rollout.action_masks.size() > 0) action_masks.col(k) = rollout.action_masks.col(j);
  }
};

/// The order in which an update visits a rollout's samples, epoch after epoch (PPO's minibatches,
/// TRPO's critic minibatches), drawn from the run's Stream::minibatch_shuffle: restart() puts
/// the samples in order at the start of an update, shuffle() permutes the current order
/// (Fisher-Yates) before each epoch. No allocation after construction.
class MinibatchOrder {
 public:
  MinibatchOrder(Index samples, RandomStreams& streams)
      : rng_(streams.take(Stream::minibatch_shuffle)), order_(static_cast<std::size_t>(samples)) {}

  void restart() { std::iota(order_.begin(), order_.end(), Index(0)); }
  void shuffle() { pgrad::shuffle(order_.begin(), order_.end(), rng_); }
  const std::vector<Index>& indices() const { return order_; }

  /// Checkpoints: the shuffling stream.
  void save_state(Writer& w) const { w.rng(rng_); }
  void load_state(Reader& r) { r.rng(rng_, "minibatch shuffling"); }

 private:
  Rng rng_;
  std::vector<Index> order_;
};

}  // namespace pgrad::algo
