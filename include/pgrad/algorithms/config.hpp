#pragma once
// pgrad::algo::OnPolicyConfig: the hyperparameters every on-policy algorithm shares, and how
// a configuration is checked, written into a checkpoint and compared with one.
#include <cmath>
#include <string>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/schedule.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/policies/actor_critic.hpp>

namespace pgrad::algo {

/// The coefficients of one update: a config's schedules evaluated at that update's training
/// progress (OnPolicyConfig::at), the only form in which losses and optimisers see them.
struct Coefficients {
  double learning_rate = 0, ent_coef = 0, vf_coef = 0;
};

/// What every on-policy algorithm is configured with (the set of Stable-Baselines3's
/// OnPolicyAlgorithm): what one rollout collects, how returns are discounted, the learning rate
/// and loss coefficients, the thread budget and the policy's networks. Each algorithm's config
/// derives from it, sets its own defaults in its constructor and adds its update's fields. The
/// defaults here are CleanRL's ppo.py.
///
/// A Schedule field is a function of training progress p in [0, 1] (a plain number is a
/// constant): the algorithm evaluates it at the start of each update, p = steps done in the run
/// / steps planned.
struct OnPolicyConfig {
  Index num_envs = 4;                 ///< environment copies stepped together
  Index num_steps = 128;              ///< steps of each copy per rollout
  double gamma = 0.99;                ///< discount factor γ
  double gae_lambda = 0.95;           ///< GAE's λ (1: Monte-Carlo / n-step returns, 0: one-step TD)
  Schedule learning_rate = Schedule::linear(2.5e-4, 0.0);  ///< linear annealing to 0, as CleanRL
  Schedule ent_coef = 0.01;           ///< entropy bonus coefficient
  double vf_coef = 0.5;               ///< value-loss coefficient
  double max_grad_norm = 0.5;         ///< global gradient-norm clip (0: none)
  bool normalize_advantages = true;   ///< to zero mean and unit std before the loss
  /// The run's thread budget, the calling thread included: the algorithm owns that many threads
  /// and lends them to the environment copies (when stepping them is slow enough to pay for it)
  /// and to the actor and critic passes. Results are bit-identical whatever the number.
  int num_threads = 1;
  /// Data-parallel shards: the num_envs copies, every minibatch and its gradient are split into
  /// this many equal shares, whose gradients are summed in shard order (ShardedMinibatch). An MPI
  /// run over N ranks needs data_shards = N (a multiple of N; num_envs a multiple of it); one
  /// process with data_shards = N reproduces that run bit for bit. 1: no split (the default).
  Index data_shards = 1;
  PolicyConfig policy{};
  /// The most memory, in GiB, the algorithm's buffers, networks and environment copies may need
  /// (estimated from the sizes before anything is allocated, see check_memory): a larger
  /// configuration is refused with an error naming the field that makes it large. Not a
  /// hyperparameter (checkpoints do not record it); raise it on a machine with more memory.
  double memory_limit_gib = 16;

  /// Samples per rollout.
  Index batch_size() const { return num_envs * num_steps; }

  /// The scheduled values at training progress p in [0, 1].
  Coefficients at(double progress) const { return {learning_rate(progress), ent_coef(progress), vf_coef}; }

  /// Calls f(name, value) for each of these fields (numbers as double, schedules as Schedule);
  /// a derived config's visit calls this first, then adds its own.
  template <class F>
  void visit(F&& f) const {
    f("num_envs", static_cast<double>(num_envs));
    f("num_steps", static_cast<double>(num_steps));
    f("gamma", gamma);
    f("gae_lambda", gae_lambda);
    f("learning_rate", learning_rate);
    f("ent_coef", ent_coef);
    f("vf_coef", vf_coef);
    f("max_grad_norm", max_grad_norm);
    f("normalize_advantages", normalize_advantages ? 1.0 : 0.0);
    f("policy.activation", static_cast<double>(policy.activation));
    f("policy.init", static_cast<double>(policy.init));
    f("policy.with_critic", policy.with_critic ? 1.0 : 0.0);
    if (policy.dropout > 0) f("policy.dropout", policy.dropout);
    if (policy.state_dependent_std) f("policy.state_dependent_std", 1.0);
    if (data_shards != 1) f("data_shards", static_cast<double>(data_shards));
  }

  /// Throws pgrad::Error naming the algorithm and the first invalid field.
  void validate(const char* algorithm) const {
    // Bounds that keep every buffer allocatable: a wrong order of magnitude is a clear error,
    // not std::bad_alloc.
    constexpr double max_samples = 1e9;
    PGRAD_REQUIRE(num_envs > 0 && num_envs <= 1000000, algorithm, ": num_envs must be in [1, 1e6], got ", num_envs);
    PGRAD_REQUIRE(num_steps > 0 && static_cast<double>(num_steps) <= max_samples, algorithm,
                  ": num_steps must be in [1, 1e9], got ", num_steps);
    PGRAD_REQUIRE(static_cast<double>(num_envs) * static_cast<double>(num_steps) <= max_samples, algorithm,
                  ": num_envs * num_steps = ", static_cast<double>(num_envs) * static_cast<double>(num_steps),
                  " samples per rollout is above 1e9");
    check_unit_interval(gamma, algorithm, "gamma");
    check_unit_interval(gae_lambda, algorithm, "gae_lambda");
    PGRAD_REQUIRE(learning_rate.min() >= 0 && learning_rate(0.0) > 0, algorithm,
                  ": learning_rate must start positive and never be negative, got ", learning_rate.min(),
                  " to ", learning_rate.max());
    PGRAD_REQUIRE(ent_coef.min() >= 0, algorithm, ": ent_coef must be >= 0, got ", ent_coef.min());
    PGRAD_REQUIRE(vf_coef >= 0 && std::isfinite(vf_coef), algorithm, ": vf_coef must be >= 0, got ", vf_coef);
    PGRAD_REQUIRE(max_grad_norm >= 0 && std::isfinite(max_grad_norm), algorithm,
                  ": max_grad_norm must be >= 0 (0 = no clipping), got ", max_grad_norm);
    PGRAD_REQUIRE(num_threads >= 1 && num_threads <= 1024, algorithm, ": num_threads must be in [1, 1024], got ",
                  num_threads);
    PGRAD_REQUIRE(data_shards >= 1 && num_envs % data_shards == 0, algorithm, ": data_shards must be at least 1 "
                  "and divide num_envs = ", num_envs, ", got ", data_shards);
    PGRAD_REQUIRE(std::isfinite(memory_limit_gib) && memory_limit_gib > 0, algorithm,
                  ": memory_limit_gib must be finite and positive, got ", memory_limit_gib);
    policy.validate(algorithm);
  }

  /// Estimates, in double (no overflow), the memory training needs for these sizes and throws
  /// pgrad::Error if it is above memory_limit_gib, naming the largest contributor (the samples
  /// of a rollout, num_envs * num_steps; a network, by its policy.*_hidden field; or the
  /// num_envs environment copies) and the memory it would need. The estimate, in bytes, with
  /// B = num_envs * num_steps samples, s = scalar_bytes, o = observation_size:
  ///   samples   B * (2 * ((o + 8) * s + 8 * action_rows) + 8 + 4 * s * (layer widths + o))
  ///             (the rollout, a gathered copy, shuffling indices, the training pass' activations)
  ///   networks  6 * s * parameters   (values, gradients, two optimiser moments, scratch)
  ///   copies    num_envs * (env_bytes + (2 * o + 4) * s + 64)
  /// Called by the algorithm's constructor after validate(), before anything is allocated.
  void check_memory(const char* algorithm, Index observation_size, Index action_size, Index action_rows,
                    double scalar_bytes, double env_bytes) const {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    const double samples = static_cast<double>(num_envs) * static_cast<double>(num_steps);
    const double obs = static_cast<double>(observation_size);
    double widths = obs + static_cast<double>(action_size) + 1;
    for (const auto* list : {&policy.shared_hidden, &policy.actor_hidden, &policy.critic_hidden})
      for (Index size : *list) widths += static_cast<double>(size);
    const double sample_bytes =
        samples * (2 * ((obs + 8) * scalar_bytes + 8 * static_cast<double>(action_rows)) + 8 +
                   4 * scalar_bytes * widths);
    const auto counts = policy.parameter_counts(observation_size, action_size);
    const double copies = static_cast<double>(num_envs) * (env_bytes + (2 * obs + 4) * scalar_bytes + 64);
    double network_bytes = 0;
    int largest = 0;
    for (int k = 0; k < 3; ++k) {
      network_bytes += 6 * scalar_bytes * counts[k];
      if (counts[k] > counts[largest]) largest = k;
    }
    const double total = sample_bytes + network_bytes + copies;
    if (total <= memory_limit_gib * gib) return;
    const char* fields[3] = {"policy.shared_hidden", "policy.actor_hidden", "policy.critic_hidden"};
    if (sample_bytes >= network_bytes && sample_bytes >= copies)
      detail::fail(algorithm, ": num_envs * num_steps = ", samples, " samples per rollout need about ",
                   sample_bytes / gib, " GiB (", total / gib, " GiB in all), above memory_limit_gib = ",
                   memory_limit_gib);
    if (network_bytes >= copies)
      detail::fail(algorithm, ": ", fields[largest], " gives a network of ", counts[largest],
                   " parameters; the networks need about ", network_bytes / gib, " GiB (", total / gib,
                   " GiB in all), above memory_limit_gib = ", memory_limit_gib);
    detail::fail(algorithm, ": num_envs = ", num_envs, " environment copies need about ", copies / gib, " GiB (",
                 total / gib, " GiB in all), above memory_limit_gib = ", memory_limit_gib);
  }

  /// Throws unless value is in [0, 1].
  static void check_unit_interval(double value, const char* algorithm, const char* field) {
    PGRAD_REQUIRE(value >= 0.0 && value <= 1.0, algorithm, ": ", field, " must be in [0, 1], got ", value);
  }
};

namespace detail {
/// Turns a config's visit(f) into named numbers for `sink(name, double)`: a Schedule becomes
/// its number of points and each point's progress and value.
template <class Sink>
struct NumberVisitor {
  Sink sink;
  void operator()(const std::string& name, double value) { sink(name, value); }
  void operator()(const std::string& name, const Schedule& schedule) {
    const auto& points = schedule.points();
    sink(name + ".points", static_cast<double>(points.size()));
    for (std::size_t k = 0; k < points.size(); ++k) {
      sink(name + "[" + std::to_string(k) + "].progress", points[k].first);
      sink(name + "[" + std::to_string(k) + "].value", points[k].second);
    }
  }
};
template <class Sink>
NumberVisitor<Sink> number_visitor(Sink sink) {
  return NumberVisitor<Sink>{std::move(sink)};
}
}  // namespace detail

/// The head of every algorithm checkpoint: the algorithm's name, its Scalar and every
/// hyperparameter as a named number.
template <class S, class Config>
void write_algorithm_header(Writer& w, const char* algorithm, const Config& config) {
  w.section(algorithm);
  write_scalar_type<S>(w);
  config.visit(detail::number_visitor([&w](const std::string& name, double value) { w.named(name, value); }));
}
/// Reads what write_algorithm_header wrote and throws naming the first difference
/// ("Ppo hyperparameter gamma differs: file has 0.99, program has 0.98").
template <class S, class Config>
void check_algorithm_header(Reader& r, const char* algorithm, const Config& config) {
  r.section(algorithm);
  check_scalar_type<S>(r);
  const std::string what = std::string(algorithm) + " hyperparameter";
  config.visit(detail::number_visitor(
      [&r, &what](const std::string& name, double value) { r.expect_same(what, name, value); }));
}

}  // namespace pgrad::algo
