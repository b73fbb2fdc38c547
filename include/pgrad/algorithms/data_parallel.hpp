#pragma once
// Data-parallel training: the Communicator between the processes of a run (MPI ranks), and how a
// run's environment copies, minibatches and gradients are split into shards. The library never
// includes MPI: pgrad/distributed/mpi.hpp implements Communicator over it.
#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include <pgrad/algorithms/report.hpp>
#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/algorithms/sequence_minibatch.hpp>
#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/returns/normalize.hpp>

namespace pgrad::algo {

/// The processes of one data-parallel run, numbered 0 .. size()-1, and the three collectives
/// training needs. Every process calls the same collectives in the same order (the training loop
/// does). SingleProcess is a run of one; pgrad::distributed::MpiCommunicator runs over MPI.
///
/// run_guarded(f) is how a phase of local work ends: when f throws on any process, every process
/// throws pgrad::Error "rank r of n: <message>" (r the lowest failing rank), so no process is left
/// waiting in a collective. A run of one process rethrows f's exception unchanged.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Every process's `count` values in rank order: all[r·count + i] = process r's mine[i].
  virtual void all_gather(const double* mine, Index count, double* all) = 0;
  /// Every process's bytes, in rank order.
  virtual std::vector<std::string> all_gather_bytes(const std::string& mine) = 0;
  /// Process `root`'s bytes, on every process.
  virtual void broadcast_bytes(std::string& bytes, int root) = 0;
  /// Wall time this process spent in the collectives so far (waiting for the others included).
  virtual double seconds() const { return 0.0; }

  bool is_root() const { return rank() == 0; }

  /// Runs f, then agrees with every other process on whether any of them failed (see above).
  template <class F>
  void run_guarded(F&& f) {
    if (size() == 1) {
      f();
      return;
    }
    std::string error;
    try {
      f();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "an exception without a message";
    } catch (...) {
      error = "an exception that is not a std::exception";
    }
    raise_any(error);
  }

  /// Process 0's `decision` on every process (whether to go on training, after the callbacks).
  bool root_decides(bool decision) {
    if (size() == 1) return decision;
    std::string bytes(1, decision ? '1' : '0');
    broadcast_bytes(bytes, 0);
    return bytes == "1";
  }

 private:
  // One flag per process; the messages only travel when a flag is set.
  void raise_any(const std::string& error) {
    flags_.resize(static_cast<std::size_t>(size()));
    const double mine = error.empty() ? 0.0 : 1.0;
    all_gather(&mine, 1, flags_.data());
    if (std::none_of(flags_.begin(), flags_.end(), [](double f) { return f != 0.0; })) return;
    const std::vector<std::string> messages = all_gather_bytes(error);
    for (std::size_t r = 0; r < messages.size(); ++r) {
      if (messages[r].empty()) continue;
      const std::string prefix = "pgrad: ";  // pgrad::Error's own prefix, not repeated
      const std::string& text = messages[r];
      throw Error("rank " + std::to_string(r) + " of " + std::to_string(size()) + ": " +
                  (text.compare(0, prefix.size(), prefix) == 0 ? text.substr(prefix.size()) : text));
    }
  }
  std::vector<double> flags_;
};

/// A run of one process: the collectives copy.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_gather(const double* mine, Index count, double* all) override { std::copy(mine, mine + count, all); }
  std::vector<std::string> all_gather_bytes(const std::string& mine) override { return {mine}; }
  void broadcast_bytes(std::string&, int) override {}
};

/// How a run's num_envs environment copies are split into `shards` equal groups (shard s owns
/// copies [s·E, (s+1)·E), E = num_envs / shards), and which of them this process holds:
/// shards [first_shard, first_shard + local_shards), i.e. copies [first_copy(), first_copy() +
/// local_copies()). With one process per shard that is an MPI run; one process holding every
/// shard computes the same sums in the same order (see ShardedMinibatch).
struct ShardLayout {
  Index num_envs = 1, shards = 1, first_shard = 0, local_shards = 1;

  /// `shards` (OnPolicyConfig::data_shards) split evenly over the communicator's processes.
  static ShardLayout of(Index num_envs, Index shards, const Communicator& comm) {
    const Index processes = comm.size();
    PGRAD_REQUIRE(shards >= 1 && num_envs % shards == 0, "data_shards = ", shards,
                  " must be at least 1 and divide num_envs = ", num_envs);
    PGRAD_REQUIRE(shards % processes == 0, "data_shards = ", shards, " must be a multiple of the ", processes,
                  " processes (MPI ranks) of the run: set data_shards = ", processes);
    ShardLayout layout;
    layout.num_envs = num_envs;
    layout.shards = shards;
    layout.local_shards = shards / processes;
    layout.first_shard = comm.rank() * layout.local_shards;
    return layout;
  }

  Index copies_per_shard() const { return num_envs / shards; }
  Index local_copies() const { return local_shards * copies_per_shard(); }
  Index first_copy() const { return first_shard * copies_per_shard(); }
  bool sharded() const { return shards > 1; }
};

/// A minibatch of a (possibly sharded) rollout, and what an update computes over it: advantage
/// normalisation, gradient steps (step, gradient_step), and sums of numbers or vectors over its
/// samples (sum, sum_vectors: TRPO's surrogate, KL, gradient and Fisher-vector products).
///
/// Unsharded (data_shards = 1), it is one MinibatchFor<Policy> and each of these is the plain
/// computation on it (normalize_in_place; zero_grad, the loss, clipping and the optimiser step).
/// Sharded, sample g = t·num_envs + c of the rollout belongs to the shard of copy c; each shard
/// this process holds gathers its samples of the minibatch in minibatch order, and
///   mean, std of the advantages = (Σ over shards of the shard's Σ A, then of Σ (A - mean)²) / n,
///   gradient                    = Σ over shards, in shard order, of the shard's gradient of
///                                 the loss averaged over the whole minibatch (n samples),
/// and likewise every sum, the partial sums travelling between processes by one
/// Communicator::all_gather each. The order of every sum depends on the shards only, never on
/// the processes: one process holding every shard gives the same parameters, bit for bit, as one
/// process per shard.
template <class Policy>
class ShardedMinibatch {
 public:
  using S = typename Policy::Scalar;
  using Batch = MinibatchFor<Policy>;
  using Rollout = RolloutBuffer<S, typename Policy::Actions>;

  ShardedMinibatch(ShardLayout layout, Communicator& comm) : layout_(layout), comm_(&comm) {
    PGRAD_REQUIRE(!layout.sharded() || !is_recurrent_v<Policy>,
                  "data_shards > 1 (MPI) does not train recurrent policies yet");
    batches_.resize(static_cast<std::size_t>(layout.local_shards));
    shard_samples_.resize(batches_.size());
  }

  /// The minibatch of the rollout's samples indices[start, start + count) (global sample ids).
  template <class IndexVector>
  void gather(const Rollout& rollout, const IndexVector& indices, Index start, Index count) {
    if (!layout_.sharded()) {
      batches_[0].gather(rollout, indices, start, count);
      return;
    }
    for (auto& samples : shard_samples_) samples.clear();
    const Index per_shard = layout_.copies_per_shard(), local = layout_.local_copies();
    for (Index k = start; k < start + count; ++k) {
      const Index g = indices[static_cast<std::size_t>(k)];
      const Index step = g / layout_.num_envs, copy = g % layout_.num_envs;
      const Index shard = copy / per_shard - layout_.first_shard;
      if (shard < 0 || shard >= layout_.local_shards) continue;
      shard_samples_[static_cast<std::size_t>(shard)].push_back(step * local + copy - layout_.first_copy());
    }
    for (std::size_t s = 0; s < batches_.size(); ++s) {
      const auto& samples = shard_samples_[s];
      batches_[s].gather(rollout, samples, 0, static_cast<Index>(samples.size()));
      batches_[s].loss_size = count;
    }
    size_ = count;
  }

  /// The whole rollout: every sample, in rollout order (shard by shard when sharded).
  void gather_all(const Rollout& rollout) {
    if (!layout_.sharded()) {
      batches_[0].gather_all(rollout);
      return;
    }
    const Index per_shard = layout_.copies_per_shard(), local = layout_.local_copies();
    for (std::size_t s = 0; s < batches_.size(); ++s) {
      auto& samples = shard_samples_[s];
      samples.clear();
      for (Index t = 0; t < rollout.length; ++t)
        for (Index c = 0; c < per_shard; ++c) samples.push_back(t * local + static_cast<Index>(s) * per_shard + c);
    }
    for (std::size_t s = 0; s < batches_.size(); ++s) {
      batches_[s].gather(rollout, shard_samples_[s], 0, static_cast<Index>(shard_samples_[s].size()));
      batches_[s].loss_size = rollout.length * layout_.num_envs;
    }
    size_ = rollout.length * layout_.num_envs;
  }

  /// Advantages to zero mean and unit (n - 1) standard deviation over the whole minibatch, as
  /// normalize_in_place (with its `eps`) does for one batch.
  void normalize_advantages(S eps) {
    if (!layout_.sharded()) {
      normalize_in_place(batches_[0].advantages, eps);
      return;
    }
    const double mean = sum<1>([](const Batch& batch, Index) {
                          if constexpr (checks_enabled()) check_finite(batch.advantages, "normalize_advantages: input");
                          return std::array<double, 1>{batch.advantages.template cast<double>().sum()};
                        })[0] /
                        static_cast<double>(size_);
    const double sum_of_squares = sum<1>([mean](const Batch& batch, Index) {
      return std::array<double, 1>{(batch.advantages.template cast<double>().array() - mean).square().sum()};
    })[0];
    const double stddev = size_ > 1 ? std::sqrt(sum_of_squares / static_cast<double>(size_ - 1)) : 0.0;
    const double divisor = size_ > 1 && stddev + static_cast<double>(eps) > 0 ? stddev + static_cast<double>(eps) : 1.0;
    for (Batch& batch : batches_)
      for (Index j = 0; j < batch.size(); ++j)
        batch.advantages[j] = static_cast<S>((static_cast<double>(batch.advantages[j]) - mean) / divisor);
  }

  /// Samples in the whole minibatch (every shard's).
  Index size() const { return layout_.sharded() ? size_ : batches_[0].size(); }
  bool sharded() const { return layout_.sharded(); }
  /// This process's shards (their shares are shard(0 .. local_shards() - 1)).
  Index local_shards() const { return layout_.local_shards; }
  /// The share of this process's s-th shard (the whole minibatch when unsharded: s = 0).
  const Batch& shard(Index s) const { return batches_[static_cast<std::size_t>(s)]; }

  /// One gradient step of `loss` (PpoLoss, PolicyGradientLoss) on the minibatch, as
  /// step(ParameterGroup::all) with the loss's compute.
  template <class Loss, class Coefficients, class Optimizer>
  LossStats gradient_step(Policy& policy, Loss& loss, const Coefficients& coefficients, double max_grad_norm,
                          Optimizer& optimizer, ThreadPool& workers, double& grad_norm) {
    return step(
        policy, ParameterGroup::all,
        [&](const Batch& batch) { return loss.compute(policy, batch, coefficients, &workers); }, max_grad_norm,
        optimizer, &workers, grad_norm);
  }

  /// One gradient step on `group`'s parameters: zero their gradients, compute(share) accumulates
  /// the gradient of the loss on each of this process's shares (averaged over the whole
  /// minibatch: Batch::mean_over) and returns its LossStats; the shards' gradients and
  /// statistics are summed in shard order; then global-norm clipping at max_grad_norm (0: none;
  /// `grad_norm` gets the norm before clipping) and one optimiser step.
  template <class Compute, class Optimizer>
  LossStats step(Policy& policy, ParameterGroup group, Compute&& compute, double max_grad_norm,
                 Optimizer& optimizer, ThreadPool* workers, double& grad_norm) {
    LossStats stats;
    if (!layout_.sharded()) {
      policy.zero_grad(workers, group);
      stats = compute(batches_[0]);
    } else if constexpr (!is_recurrent_v<Policy>) {  // recurrent policies are never sharded (constructor)
      const Index parameters = policy.parameter_count(group);
      reduce(parameters + stats_count, [&](Index s, Eigen::Ref<Vector<double>> slot) {
        policy.zero_grad(workers, group);
        LossStats share;
        if (batches_[static_cast<std::size_t>(s)].size() > 0) share = compute(batches_[static_cast<std::size_t>(s)]);
        policy.flat_gradients(flat_, group);
        slot.head(parameters) = flat_.template cast<double>();
        slot.tail(stats_count) << share.policy_loss, share.value_loss, share.entropy, share.approx_kl,
            share.clip_fraction;
      }, total_);
      flat_ = total_.head(parameters).template cast<S>();
      policy.set_flat_gradients(flat_, group);
      stats.policy_loss = total_[parameters];
      stats.value_loss = total_[parameters + 1];
      stats.entropy = total_[parameters + 2];
      stats.approx_kl = total_[parameters + 3];
      stats.clip_fraction = total_[parameters + 4];
    }
    grad_norm = static_cast<double>(policy.clip_gradients(static_cast<S>(max_grad_norm), workers, group));
    policy.apply(optimizer, workers, group);
    return stats;
  }

  /// Σ over the whole minibatch of K numbers: f(share, s) returns the sums over this process's
  /// s-th share; the shards' sums are added in shard order (unsharded: f(whole minibatch, 0)).
  template <std::size_t K, class F>
  std::array<double, K> sum(F&& f) {
    if (!layout_.sharded()) return f(batches_[0], Index(0));
    reduce(static_cast<Index>(K), [&](Index s, Eigen::Ref<Vector<double>> slot) {
      const std::array<double, K> share = f(batches_[static_cast<std::size_t>(s)], s);
      for (std::size_t k = 0; k < K; ++k) slot[static_cast<Index>(k)] = share[k];
    }, total_);
    std::array<double, K> out{};
    for (std::size_t k = 0; k < K; ++k) out[k] = total_[static_cast<Index>(k)];
    return out;
  }

  /// Σ over the shards of a vector: f(share, s, out) sets `out` (size n) for this process's s-th
  /// share; `result` gets the sum in shard order (unsharded: f(whole minibatch, 0, result)).
  template <class F>
  void sum_vectors(Index n, F&& f, Vector<S>& result) {
    if (!layout_.sharded()) {
      f(batches_[0], Index(0), result);
      return;
    }
    reduce(n, [&](Index s, Eigen::Ref<Vector<double>> slot) {
      f(batches_[static_cast<std::size_t>(s)], s, flat_);
      slot = flat_.template cast<double>();
    }, total_);
    result = total_.template cast<S>();
  }

 private:
  static constexpr Index stats_count = 5;

  // Every shard's `n` values: f(s, slot) fills this process's shard s's (guarded), one
  // all_gather brings every process's, and `total` gets their sum in shard order.
  template <class F>
  void reduce(Index n, F&& f, Vector<double>& total) {
    local_.resize(n * layout_.local_shards);
    all_.resize(n * layout_.shards);
    comm_->run_guarded([&] {
      for (Index s = 0; s < layout_.local_shards; ++s) f(s, local_.segment(s * n, n));
    });
    comm_->all_gather(local_.data(), local_.size(), all_.data());
    total = all_.head(n);
    for (Index s = 1; s < layout_.shards; ++s) total += all_.segment(s * n, n);
  }

  ShardLayout layout_;
  Communicator* comm_;
  std::vector<Batch> batches_;
  std::vector<std::vector<Index>> shard_samples_;
  Index size_ = 0;
  Vector<S> flat_;
  Vector<double> local_, all_, total_;
};

}  // namespace pgrad::algo
