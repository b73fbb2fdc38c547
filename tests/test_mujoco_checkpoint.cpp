// Exact resume of PPO on Walker2d, Hopper and HalfCheetah (MuJoCo state in the checkpoint): 3 + 3
// updates with a save and a load into a new object give the same parameters, observations and
// counters as 6 straight, with the environments stepped on 2 threads.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/half_cheetah.hpp>
#include <pgrad/envs/hopper.hpp>
#include <pgrad/envs/walker2d.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/training/checkpoint.hpp>

#include "temp_path.hpp"

#include <string>

TEMPLATE_TEST_CASE("Exact resume of PPO on the MuJoCo tasks", "[checkpoint][mujoco]", pgrad::envs::Walker2d<float>,
                   pgrad::envs::Hopper<float>, pgrad::envs::HalfCheetah<float>) {
  using Env = pgrad::envs::NormalizeObservation<TestType>;
  pgrad::algo::PpoConfig config = pgrad::algo::PpoConfig::continuous_defaults();
  config.num_envs = 2;
  config.num_steps = 64;
  config.num_minibatches = 2;
  config.update_epochs = 2;
  config.num_threads = 2;
  const Env env{TestType()};
  const long long total = 6 * config.batch_size();
  const pgrad_test::TempPath file("mujoco_checkpoint");  // ctest runs the three environments at once
  const std::string& path = file.path;

  pgrad::algo::Ppo<Env> straight(env, config, 3);
  straight.learn(total);

  {
    pgrad::algo::Ppo<Env> first(env, config, 3);
    first.learn(total, [](const pgrad::algo::UpdateReport& r) { return r.iteration < 3; });
    REQUIRE(first.iteration() == 3);
    pgrad::save_checkpoint(first, path);
  }
  pgrad::algo::Ppo<Env> resumed(env, config, 99);
  pgrad::load_checkpoint(resumed, path);
  resumed.learn(total);

  CHECK(resumed.iteration() == 6);
  CHECK(resumed.collector().steps() == straight.collector().steps());
  CHECK(resumed.collector().episodes().count() == straight.collector().episodes().count());
  CHECK(resumed.collector().env().observations() == straight.collector().env().observations());
  CHECK(resumed.policy().flat_parameters() == straight.policy().flat_parameters());
}
