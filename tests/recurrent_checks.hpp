#pragma once
// What the recurrent-policy tests share: the policy types and a small configuration, and the
// checks every algorithm training a recurrent policy must pass (same bits whatever the thread
// count, exact resume from a checkpoint).
#include <catch2/catch.hpp>

#include <initializer_list>

#include <pgrad/algorithms/report.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>

namespace pgrad_test {

template <class S>
using Discrete = pgrad::RecurrentActorCritic<S, pgrad::dist::Categorical<S>>;
template <class S>
using Gaussian = pgrad::RecurrentActorCritic<S, pgrad::dist::DiagGaussian<S>>;

/// CartPole with its velocities hidden: the algorithms' tests' partially observed task.
using HiddenVelocityCartPole = pgrad::envs::SelectObservation<pgrad::envs::CartPole<float>, 2>;
inline HiddenVelocityCartPole hidden_velocity_cartpole() {
  return pgrad::envs::hide_cartpole_velocity(pgrad::envs::CartPole<float>{});
}

/// A recurrent policy: encoder {encoder}, GRU of `state`, actor and critic heads {heads}, one
/// GRU shared or one each.
inline pgrad::PolicyConfig gru_policy(bool shared, pgrad::Index encoder, pgrad::Index state, pgrad::Index heads) {
  pgrad::PolicyConfig config;
  config.shared_hidden = {encoder};
  config.recurrent_size = state;
  config.recurrent_shared = shared;
  config.actor_hidden = {heads};
  config.critic_hidden = {heads};
  return config;
}

/// The gradient tests' policy: encoder {5}, GRU 4, heads {3}; the actor's output gain 1 (not
/// 0.01: the tests want the policy's gradients and metric well above rounding).
inline pgrad::PolicyConfig small_recurrent_config(bool shared) {
  pgrad::PolicyConfig config = gru_policy(shared, 5, 4, 3);
  config.actor_output_gain = 1.0;
  return config;
}

/// The algorithms' tests' GRU policy: encoder {8}, GRU 8, heads {8}.
inline pgrad::PolicyConfig small_gru_policy(bool shared) { return gru_policy(shared, 8, 8, 8); }

/// Runs of `steps` environment steps with each thread count give the same parameters and
/// carried states, bit for bit, as with the first.
template <class Algorithm, class Env, class Config>
void check_same_bits_across_threads(const Env& env, Config config, long long steps,
                                    std::initializer_list<int> thread_counts) {
  pgrad::Vector<typename Algorithm::S> reference;
  pgrad::Matrix<typename Algorithm::S> reference_hidden;
  for (int threads : thread_counts) {
    INFO("threads " << threads << ", shared " << config.policy.recurrent_shared);
    config.num_threads = threads;
    Algorithm algorithm(env, config, 11);
    algorithm.learn(steps);
    if (reference.size() == 0) {
      reference = algorithm.policy().flat_parameters();
      reference_hidden = algorithm.collector().hidden();
      continue;
    }
    CHECK((algorithm.policy().flat_parameters().array() == reference.array()).all());
    CHECK((algorithm.collector().hidden().array() == reference_hidden.array()).all());
  }
}

/// A run of 6 updates stopped after 3, saved, and loaded into another algorithm
/// (`resumed`, built by the caller with another seed) ends with the same parameters, carried
/// states and episode log as the run straight through.
template <class Algorithm, class Env, class Config>
void check_exact_resume(const Env& env, const Config& config, Algorithm& resumed) {
  const long long total = 6 * config.batch_size();
  Algorithm straight(env, config, 7);
  straight.learn(total);
  pgrad::Writer writer;
  pgrad::Vector<typename Algorithm::S> halfway;
  {
    Algorithm first(env, config, 7);
    first.learn(total, [](const pgrad::algo::UpdateReport& report) { return report.iteration < 3; });
    halfway = first.policy().flat_parameters();
    REQUIRE(first.collector().hidden().cwiseAbs().maxCoeff() > 0);  // the states matter
    first.save_state(writer);
  }
  pgrad::Reader reader(writer.bytes(), "test");
  resumed.load_state(reader);
  CHECK((resumed.policy().flat_parameters().array() == halfway.array()).all());
  resumed.learn(total);
  CHECK(resumed.iteration() == 6);
  CHECK((straight.policy().flat_parameters().array() != halfway.array()).any());
  CHECK((resumed.policy().flat_parameters().array() == straight.policy().flat_parameters().array()).all());
  CHECK((resumed.collector().hidden().array() == straight.collector().hidden().array()).all());
  CHECK(resumed.collector().episodes().mean_return() == straight.collector().episodes().mean_return());
}

}  // namespace pgrad_test
