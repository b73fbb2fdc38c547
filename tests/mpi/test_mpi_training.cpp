// Data-parallel training over MPI, run by ctest under `mpirun -np 2` (tests/CMakeLists.txt): every
// rank runs each test case; a case fails when it fails on any rank.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/distributed/mpi.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/wrapper.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace {

using CartPole = pgrad::envs::CartPole<float>;
using Pendulum = pgrad::envs::Pendulum<float>;

pgrad::distributed::MpiCommunicator& world() {
  static pgrad::distributed::MpiCommunicator communicator;
  return communicator;
}

// Small rollouts: 4 copies x 32 steps, 4 minibatches, 2 epochs.
pgrad::algo::PpoConfig small_ppo(pgrad::Index shards) {
  pgrad::algo::PpoConfig config;
  config.num_envs = 4;
  config.num_steps = 32;
  config.update_epochs = 2;
  config.data_shards = shards;
  return config;
}

template <class Algorithm>
void require_same_run(const Algorithm& distributed, const Algorithm& reference) {
  const auto a = distributed.policy().flat_parameters(), b = reference.policy().flat_parameters();
  REQUIRE(a.size() == b.size());
  CHECK((a.array() == b.array()).all());  // bit for bit
  CHECK(distributed.run_steps() == reference.run_steps());
  CHECK(distributed.collector().episodes().count() == reference.collector().episodes().count());
  CHECK(distributed.collector().episodes().mean_return() == reference.collector().episodes().mean_return());
}

// CartPole whose copy on one rank throws (or returns a NaN reward) at its `fail_at`-th step.
class FailingCartPole : public pgrad::envs::Wrapper<FailingCartPole, CartPole> {
  using Base = pgrad::envs::Wrapper<FailingCartPole, CartPole>;
  friend Base;

 public:
  using typename Base::Action;
  enum class Fault { none, exception, nan_reward };
  FailingCartPole(Fault fault, long long fail_at) : Base(CartPole{}), fault_(fault), fail_at_(fail_at) {}
  using Base::reset;
  auto step(const Action& action) {
    auto result = this->env_.step(action);
    if (++steps_ == fail_at_ && fault_ == Fault::exception) throw std::runtime_error("the simulator broke");
    if (steps_ == fail_at_ && fault_ == Fault::nan_reward) result.reward = std::numeric_limits<float>::quiet_NaN();
    return result;
  }

 private:
  Fault fault_;
  long long fail_at_;
  long long steps_ = 0;
};

}  // namespace

// The same configuration and seed trained `steps` steps over the 2 ranks and in this process
// alone (which holds both shards) must give the same run, bit for bit. `threads`: the
// distributed side's thread budget (results do not depend on it).
template <class Algorithm, class Env, class Config>
void check_same_as_one_process(const Env& env, const Config& config, std::uint64_t seed, long long steps,
                               int threads = 1) {
  Config threaded = config;
  threaded.num_threads = threads;
  Algorithm distributed(env, threaded, seed, &world());
  Algorithm reference(env, config, seed);
  CHECK(distributed.rollout().num_envs * 2 == reference.rollout().num_envs);
  distributed.learn(steps);
  reference.learn(steps);
  require_same_run(distributed, reference);
}

TEST_CASE("2 ranks train exactly as one process with the same copies in 2 shards", "[equivalence]") {
  namespace algo = pgrad::algo;
  REQUIRE(world().size() == 2);
  SECTION("PPO, CartPole (Categorical)") { check_same_as_one_process<algo::Ppo<CartPole>>(CartPole{}, small_ppo(2), 7, 6 * 128); }
  SECTION("PPO, Pendulum (DiagGaussian), 2 threads on the distributed side") {
    auto config = algo::presets::pendulum_ppo();
    config.num_envs = 4;
    config.num_steps = 64;
    config.data_shards = 2;
    check_same_as_one_process<algo::Ppo<Pendulum>>(Pendulum{}, config, 3, 4 * 256, 2);
  }
  SECTION("TRPO, CartPole and Pendulum (conjugate gradient on summed Fisher-vector products)") {
    auto cartpole = algo::presets::cartpole_trpo();
    cartpole.num_envs = 4;
    cartpole.num_steps = 64;
    cartpole.critic_minibatch_size = 48;  // a smaller last minibatch, shared unevenly
    cartpole.data_shards = 2;
    check_same_as_one_process<algo::Trpo<CartPole>>(CartPole{}, cartpole, 2, 4 * 256);
    auto pendulum = algo::presets::pendulum_trpo();
    pendulum.num_envs = 4;
    pendulum.num_steps = 64;
    pendulum.critic_minibatch_size = 64;
    pendulum.data_shards = 2;
    check_same_as_one_process<algo::Trpo<Pendulum>>(Pendulum{}, pendulum, 2, 4 * 256);
  }
  SECTION("A2C, CartPole") {
    algo::A2cConfig config;
    config.data_shards = 2;  // 8 copies x 5 steps
    check_same_as_one_process<algo::A2c<CartPole>>(CartPole{}, config, 5, 200 * 40);
  }
}

TEST_CASE("An exception or a NaN on one rank stops every rank with one message", "[fault]") {
  const bool faulty = world().rank() == 1;
  for (const auto fault : {FailingCartPole::Fault::exception, FailingCartPole::Fault::nan_reward}) {
    const FailingCartPole env(faulty ? fault : FailingCartPole::Fault::none, 100);
    pgrad::algo::Ppo<FailingCartPole> ppo(env, small_ppo(2), 1, &world());
    std::string message;
    try {
      ppo.learn(10 * 128);
    } catch (const pgrad::Error& error) {
      message = error.what();
    }
    INFO(message);
    CHECK(message.find("rank 1 of 2") != std::string::npos);
    if (fault == FailingCartPole::Fault::exception) CHECK(message.find("the simulator broke") != std::string::npos);
    CHECK(ppo.iteration() < 10);
  }
}

TEST_CASE("A 2-rank run resumes exactly from its checkpoint, and only with 2 ranks", "[resume]") {
  const std::string path = "mpi_resume.ckpt";
  pgrad::algo::Ppo<CartPole> first(CartPole{}, small_ppo(2), 11, &world());
  first.learn(8 * 128, [](const pgrad::algo::UpdateReport& r) { return r.iteration < 3; });
  pgrad::save_checkpoint(first, path);
  first.learn(8 * 128);

  pgrad::algo::Ppo<CartPole> resumed(CartPole{}, small_ppo(2), 99, &world());  // another seed: all is restored
  pgrad::load_checkpoint(resumed, path);
  CHECK(resumed.iteration() == 3);
  resumed.learn(8 * 128);
  require_same_run(resumed, first);

  // One process (with the same 2 shards) cannot take a 2-process checkpoint.
  pgrad::algo::SingleProcess alone;
  pgrad::algo::Ppo<CartPole> single(CartPole{}, small_ppo(2), 11, &alone);
  std::string message;
  try {
    if (world().is_root()) pgrad::load_checkpoint(single, path);
  } catch (const pgrad::Error& error) {
    message = error.what();
  }
  if (world().is_root()) CHECK(message.find("saved by a run of 2 processes; this run has 1") != std::string::npos);
  world().run_guarded([&] {
    if (world().is_root()) std::remove(path.c_str());
  });
}

TEST_CASE("PPO over 2 ranks solves CartPole", "[learning]") {
  auto config = pgrad::algo::presets::cartpole_ppo_fast();  // 8 copies: 4 per rank
  config.data_shards = 2;
  pgrad::algo::Ppo<CartPole> ppo(CartPole{}, config, 1, &world());
  ppo.learn(150000);
  CHECK(pgrad::evaluate_policy(ppo.policy(), CartPole{}, 100, 1).mean_return >= 475.0);
}

int main(int argc, char** argv) {
  pgrad::distributed::MpiSession mpi(argc, argv);
  return Catch::Session().run(argc, argv);
}
