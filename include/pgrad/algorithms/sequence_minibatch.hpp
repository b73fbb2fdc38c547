#pragma once
// pgrad::algo::SequenceMinibatch: minibatches of whole environment sequences for recurrent policies.
#include <type_traits>

#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/core/check.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>

namespace pgrad::algo {

/// A minibatch of M whole environment sequences of a rollout (CleanRL's LSTM PPO: a minibatch is
/// a subset of the environment copies, each with every step of the rollout), for a recurrent
/// policy: the samples of Minibatch in sequence layout (column t·M + k for step t of the k-th
/// chosen copy), the copies' states before the rollout (initial_hidden, state rows x M), and
/// reset flags: resets[t·M + k] is true where copy k's previous step ended an episode (its state
/// is zeroed before step t, as during the rollout; the state stored at t = 0 is already reset).
/// The gradient flows back over the whole rollout length and stops at those resets.
template <class S, class Actions>
struct SequenceMinibatch : Minibatch<S, Actions> {
  Matrix<S> initial_hidden;
  BoolRowVector resets;
  Index sequences = 0;

  /// The sequences of copies indices[start, start + count).
  template <class IndexVector>
  void gather(const RolloutBuffer<S, Actions>& rollout, const IndexVector& indices, Index start, Index count) {
    const Index steps = rollout.length, envs = rollout.num_envs;
    PGRAD_REQUIRE(rollout.initial_hidden.cols() == envs && rollout.initial_hidden.rows() > 0,
                  "SequenceMinibatch: the rollout holds no recurrent states (a feed-forward policy's rollout?)");
    this->resize_like(rollout, steps * count);
    initial_hidden.resize(rollout.initial_hidden.rows(), count);
    resets.resize(steps * count);
    sequences = count;
    for (Index k = 0; k < count; ++k) {
      const Index env = indices[static_cast<std::size_t>(start + k)];
      PGRAD_REQUIRE(env >= 0 && env < envs, "SequenceMinibatch: environment index ", env, " outside [0, ", envs, ")");
      initial_hidden.col(k) = rollout.initial_hidden.col(env);
      for (Index t = 0; t < steps; ++t) {
        this->copy_sample(rollout, t * envs + env, t * count + k);
        resets[t * count + k] = t > 0 && (rollout.terminated(env, t - 1) || rollout.truncated(env, t - 1));
      }
    }
  }

  /// Every sequence of the rollout, copies in order.
  void gather_all(const RolloutBuffer<S, Actions>& rollout) {
    all_.resize(static_cast<std::size_t>(rollout.num_envs));
    for (std::size_t i = 0; i < all_.size(); ++i) all_[i] = static_cast<Index>(i);
    gather(rollout, all_, 0, rollout.num_envs);
  }

  /// The training pass of a loss on these sequences (RecurrentActorCritic::train_sequences).
  /// Recurrent policies have no dropout: `masks` must be null.
  template <class Policy, class PolicyPart, class ValuePart>
  void train_pass(Policy& policy, PolicyPart&& policy_part, ValuePart&& value_part, ThreadPool* workers,
                  const Matrix<S>* masks = nullptr) const {
    PGRAD_REQUIRE(masks == nullptr, "SequenceMinibatch: recurrent policies take no dropout masks");
    policy.train_sequences(this->observations, this->actions, initial_hidden, resets, sequences, policy_part,
                           value_part, workers, this->masks());
  }
  /// The policy's half of a training pass on these sequences (RecurrentActorCritic::policy_pass).
  template <class Policy, class PolicyPart>
  void policy_pass(Policy& policy, PolicyPart&& policy_part) const {
    policy.policy_pass(this->observations, this->actions, initial_hidden, resets, sequences, policy_part,
                       this->masks());
  }
  /// The critic's half (RecurrentActorCritic::value_pass).
  template <class Policy, class ValuePart>
  void value_pass(Policy& policy, ValuePart&& value_part) const {
    policy.value_pass(this->observations, initial_hidden, resets, sequences, value_part);
  }
  /// log π and entropy of the sequences' actions (RecurrentActorCritic::evaluate_sequences); the
  /// policy's evaluated_distribution() is then π on them.
  template <class Policy>
  void evaluate(Policy& policy, RowVector<S>& log_probs, RowVector<S>& entropy) const {
    policy.evaluate_sequences(this->observations, this->actions, initial_hidden, resets, sequences, log_probs,
                              entropy, this->masks());
  }

 private:
  std::vector<Index> all_;
};

/// The minibatch type of Policy: whole sequences for a recurrent policy, samples otherwise.
template <class Policy>
using MinibatchFor = std::conditional_t<is_recurrent_v<Policy>,
                                        SequenceMinibatch<typename Policy::Scalar, typename Policy::Actions>,
                                        Minibatch<typename Policy::Scalar, typename Policy::Actions>>;

/// What an update shuffles into minibatches: environment copies (whole sequences) for a
/// recurrent policy, samples otherwise.
template <class Policy>
Index minibatch_units(Index num_envs, Index batch_size) {
  return is_recurrent_v<Policy> ? num_envs : batch_size;
}

}  // namespace pgrad::algo
