#pragma once
// Checkpoints of every algorithm on a plain and on a wrapped environment, from small training
// runs, and the one way they are loaded: into a new algorithm, followed by one more update. The
// corruption test (test_checkpoint_corruption.cpp), the fuzzers and their seed-corpus generator
// (tests/fuzz/) share them, so that a fuzzer's input loads exactly as the tests load it.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/wrappers/clip_action.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>
#include <pgrad/training/checkpoint.hpp>

namespace checkpoint_targets {

using CartPole = pgrad::envs::CartPole<float>;
using Pendulum = pgrad::envs::Pendulum<float>;
/// Pendulum with every stateful wrapper: a 20-step time limit, episode statistics, observation
/// and reward normalisation, action clipping.
using WrappedPendulum = pgrad::envs::ClipAction<pgrad::envs::NormalizeReward<pgrad::envs::NormalizeObservation<
    pgrad::envs::RecordEpisodeStatistics<pgrad::envs::TimeLimit<Pendulum>>>>>;

inline WrappedPendulum wrapped_pendulum() {
  return WrappedPendulum(pgrad::envs::NormalizeReward(pgrad::envs::NormalizeObservation(
      pgrad::envs::RecordEpisodeStatistics(pgrad::envs::TimeLimit<Pendulum>(Pendulum(), 20)))));
}

inline pgrad::algo::PpoConfig ppo_config() {
  pgrad::algo::PpoConfig config;
  config.num_envs = 2;
  config.num_steps = 16;
  config.num_minibatches = 2;
  config.update_epochs = 2;
  config.policy.actor_hidden = {8};
  config.policy.critic_hidden = {8};
  return config;
}
/// PPO with a shared trunk (Gaussian actions).
inline pgrad::algo::PpoConfig trunk_ppo_config() {
  pgrad::algo::PpoConfig config = ppo_config();
  config.policy.shared_hidden = {8};
  return config;
}
inline pgrad::algo::A2cConfig a2c_config(pgrad::algo::A2cConfig::Optimizer optimizer) {
  pgrad::algo::A2cConfig config;
  config.num_envs = 2;
  config.num_steps = 5;
  config.optimizer = optimizer;
  config.policy.actor_hidden = {8};
  config.policy.critic_hidden = {8};
  return config;
}
/// REINFORCE with a baseline.
inline pgrad::algo::ReinforceConfig reinforce_config() {
  pgrad::algo::ReinforceConfig config;
  config.num_steps = 64;
  config.policy.actor_hidden = {8};
  config.policy.critic_hidden = {8};
  config.policy.with_critic = true;
  return config;
}

/// TRPO (its critic's Adam state and minibatch order); with `trunk`, a shared trunk.
inline pgrad::algo::TrpoConfig trpo_config(bool trunk) {
  pgrad::algo::TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 16;
  config.critic_minibatch_size = 16;
  config.critic_epochs = 2;
  config.policy.actor_hidden = {8};
  config.policy.critic_hidden = {8};
  if (trunk) config.policy.shared_hidden = {8};
  return config;
}

/// DataCamp's REINFORCE (dropout: its stream is in the checkpoint), smaller.
inline pgrad::algo::ReinforceConfig reinforce_dropout_config() {
  pgrad::algo::ReinforceConfig config = pgrad::algo::presets::cartpole_reinforce_datacamp();
  config.num_steps = 64;
  config.policy.actor_hidden = {8};
  return config;
}
/// Recurrent PPO (an encoder and separate GRUs for actor and critic) on CartPole without velocities.
inline pgrad::algo::PpoConfig recurrent_ppo_config() {
  pgrad::algo::PpoConfig config = ppo_config();
  config.policy.shared_hidden = {4};
  config.policy.recurrent_size = 4;
  config.policy.recurrent_shared = false;
  return config;
}
using HiddenVelocityCartPole = pgrad::envs::SelectObservation<CartPole, 2>;

/// What loading a checkpoint file into a new algorithm led to.
struct Outcome {
  enum Kind { load_refused, updated, update_refused, non_finite_parameters } kind = load_refused;
  std::string message;  ///< the pgrad::Error's, for the refusals
};

/// One kind of checkpoint.
struct Target {
  std::string name;
  /// Substrings every checkpoint of this kind contains (its algorithm's and environment's
  /// section names): a fuzzer tries only the targets whose strings its input has.
  std::vector<std::string> markers;
  /// The checkpoint payload of a run trained for a few updates; with `fields`, the fields of
  /// the payload as the Writer wrote them (offsets in the payload).
  std::function<std::string(std::vector<pgrad::WrittenField>* fields)> payload;
  /// Loads the bytes of a checkpoint file into a new algorithm; if that succeeds, runs one more
  /// update and checks every parameter is finite. Only pgrad::Error is caught.
  std::function<Outcome(const std::string& file)> load_and_update;
};

namespace detail {
template <class Algorithm, class Env, class Config>
Target make_target(std::string name, std::vector<std::string> markers, Env env, Config config, int updates) {
  Target target;
  target.name = std::move(name);
  target.markers = std::move(markers);
  target.payload = [env, config, updates](std::vector<pgrad::WrittenField>* fields) {
    Algorithm algorithm(env, config, 1);
    algorithm.learn(1000000, [updates](const pgrad::algo::UpdateReport& report) { return report.iteration < updates; });
    pgrad::Writer writer;
    writer.record_fields(fields);
    writer.section("pgrad checkpoint");
    algorithm.save_state(writer);
    return writer.bytes();
  };
  target.load_and_update = [env, config](const std::string& file) {
    Algorithm algorithm(env, config, 2);
    try {
      pgrad::load_checkpoint_bytes(algorithm, file, "corrupt checkpoint");
    } catch (const pgrad::Error& error) {
      return Outcome{Outcome::load_refused, error.what()};
    }
    try {
      algorithm.learn(pgrad::max_saved_counter, [](const pgrad::algo::UpdateReport&) { return false; });
    } catch (const pgrad::Error& error) {
      return Outcome{Outcome::update_refused, error.what()};
    }
    if (!algorithm.policy().flat_parameters().allFinite()) return Outcome{Outcome::non_finite_parameters, ""};
    return Outcome{Outcome::updated, ""};
  };
  return target;
}
}  // namespace detail

/// PPO, A2C (RMSprop and Adam), REINFORCE (without and with dropout) and TRPO on CartPole; PPO and TRPO with a shared trunk
/// and A2C with Adam on the wrapped Pendulum; recurrent PPO on CartPole without velocities.
inline std::vector<Target> all() {
  using pgrad::algo::A2c;
  using pgrad::algo::Ppo;
  using pgrad::algo::Reinforce;
  using pgrad::algo::Trpo;
  using Optimizer = pgrad::algo::A2cConfig::Optimizer;
  std::vector<Target> targets;
  targets.push_back(detail::make_target<Ppo<CartPole>>("ppo_cartpole", {"Ppo", "CartPole"}, CartPole(), ppo_config(), 3));
  targets.push_back(detail::make_target<A2c<CartPole>>("a2c_cartpole", {"A2c", "RMSprop", "CartPole"}, CartPole(),
                                                       a2c_config(Optimizer::rmsprop), 6));
  targets.push_back(detail::make_target<Reinforce<CartPole>>("reinforce_cartpole", {"Reinforce", "CartPole"},
                                                             CartPole(), reinforce_config(), 3));
  targets.push_back(detail::make_target<Ppo<WrappedPendulum>>("ppo_wrapped_pendulum", {"Ppo", "Pendulum"},
                                                              wrapped_pendulum(), trunk_ppo_config(), 3));
  targets.push_back(detail::make_target<A2c<WrappedPendulum>>("a2c_adam_wrapped_pendulum", {"A2c", "Adam", "Pendulum"},
                                                              wrapped_pendulum(), a2c_config(Optimizer::adam), 6));
  targets.push_back(detail::make_target<Reinforce<CartPole>>("reinforce_dropout_cartpole", {"Reinforce", "CartPole"},
                                                             CartPole(), reinforce_dropout_config(), 3));
  targets.push_back(detail::make_target<Trpo<CartPole>>("trpo_cartpole", {"Trpo", "CartPole"}, CartPole(),
                                                        trpo_config(false), 3));
  targets.push_back(detail::make_target<Trpo<WrappedPendulum>>("trpo_wrapped_pendulum", {"Trpo", "Pendulum"},
                                                               wrapped_pendulum(), trpo_config(true), 3));
  targets.push_back(detail::make_target<Ppo<HiddenVelocityCartPole, pgrad::RecurrentPolicyFor<HiddenVelocityCartPole>>>(
      "recurrent_ppo_cartpole", {"Ppo", "RecurrentActorCritic", "SelectObservation"},
      pgrad::envs::hide_cartpole_velocity(CartPole()), recurrent_ppo_config(), 3));
  return targets;
}

/// True when `bytes` contains every marker of `target`.
inline bool may_be(const Target& target, const std::string& bytes) {
  for (const std::string& marker : target.markers)
    if (bytes.find(marker) == std::string::npos) return false;
  return true;
}

/// `file` with its length field and checksum recomputed for the bytes between them (inputs of
/// at least the header and checksum size; shorter ones are returned unchanged).
inline std::string with_valid_framing(std::string file) {
  const std::size_t header = 20, trailer = 8;
  if (file.size() < header + trailer) return file;
  const std::uint64_t length = file.size() - header - trailer;
  for (int k = 0; k < 8; ++k) file[12 + k] = static_cast<char>((length >> (8 * k)) & 0xFF);
  const std::size_t body = file.size() - trailer;
  const std::uint64_t hash = pgrad::detail::fnv1a64(file.data(), body);
  for (int k = 0; k < 8; ++k) file[body + k] = static_cast<char>((hash >> (8 * k)) & 0xFF);
  return file;
}

}  // namespace checkpoint_targets
