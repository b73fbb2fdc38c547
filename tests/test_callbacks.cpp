// Periodic evaluation and checkpoint callbacks, and stochastic evaluation.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/logger.hpp>

#include "temp_path.hpp"

#include <string>
#include <vector>

using Env = pgrad::envs::CartPole<float>;

namespace {
pgrad::algo::PpoConfig small_ppo() {
  pgrad::algo::PpoConfig config;
  config.num_steps = 32;
  return config;
}
}  // namespace

TEST_CASE("evaluate_every evaluates on schedule without changing training", "[training][callbacks]") {
  pgrad::algo::Ppo<Env> plain(Env{}, small_ppo(), 3);
  plain.learn(128 * 7);
  pgrad::algo::Ppo<Env> evaluated(Env{}, small_ppo(), 3);
  std::vector<long long> at;
  std::vector<double> returns;
  evaluated.learn(128 * 7, pgrad::evaluate_every(evaluated, Env{}, 3, 5, 11,
                                                 [&](const pgrad::algo::UpdateReport& r, const pgrad::EvaluationResult& e) {
                                                   at.push_back(r.iteration);
                                                   returns.push_back(e.mean_return);
                                                   return true;
                                                 }));
  CHECK(at == std::vector<long long>{3, 6});
  CHECK(returns.size() == 2);
  CHECK(evaluated.policy().flat_parameters() == plain.policy().flat_parameters());
}

TEST_CASE("evaluate_every can stop training", "[training][callbacks]") {
  pgrad::algo::Ppo<Env> ppo(Env{}, small_ppo(), 3);
  long long last = 0;
  ppo.learn(128 * 10, pgrad::all_of([&](const pgrad::algo::UpdateReport& r) { last = r.iteration; },
                                    pgrad::evaluate_every(ppo, Env{}, 2, 2, 1,
                                                          [](const auto&, const auto&) { return false; })));
  CHECK(last == 2);
  CHECK_THROWS_AS(pgrad::evaluate_every(ppo, Env{}, 0, 2, 1, [](const auto&, const auto&) { return true; }),
                  pgrad::Error);
}

TEST_CASE("checkpoint_every writes a checkpoint that resumes at its update", "[training][callbacks]") {
  const pgrad_test::TempPath file("callbacks_checkpoint");
  const std::string& path = file.path;
  pgrad::algo::Ppo<Env> ppo(Env{}, small_ppo(), 5);
  ppo.learn(128 * 5, pgrad::checkpoint_every(ppo, path, 2));  // written after updates 2 and 4
  pgrad::algo::Ppo<Env> resumed(Env{}, small_ppo(), 6);
  pgrad::load_checkpoint(resumed, path);
  CHECK(resumed.iteration() == 4);
  resumed.learn(128 * 5);  // the fifth update, as the original run did
  CHECK(resumed.policy().flat_parameters() == ppo.policy().flat_parameters());
}

TEST_CASE("stochastic evaluation samples actions reproducibly", "[training][evaluate]") {
  pgrad::algo::Ppo<Env> ppo(Env{}, small_ppo(), 2);
  const auto deterministic = pgrad::evaluate_policy(ppo.policy(), Env{}, 20, 9);
  const auto sampled = pgrad::evaluate_policy(ppo.policy(), Env{}, 20, 9, false);
  const auto again = pgrad::evaluate_policy(ppo.policy(), Env{}, 20, 9, false);
  CHECK(sampled.mean_return == again.mean_return);
  CHECK(sampled.mean_return != deterministic.mean_return);  // an untrained policy: near-uniform actions
  CHECK(sampled.min_length <= sampled.mean_length);
  CHECK(sampled.max_length >= sampled.mean_length);
  CHECK(sampled.min_length >= 1);
}
