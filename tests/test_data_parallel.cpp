// Data-parallel shards in one process (the MPI side is tests/mpi/test_mpi_training.cpp): the
// layout, the sharded minibatch's gather and advantage normalisation, the bound between a sharded
// and an unsharded run, and the configurations that cannot be sharded.
#include <catch2/catch.hpp>

#include "error_message.hpp"

#include <pgrad/algorithms/presets.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>

#include <algorithm>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

namespace {

using CartPole = pgrad::envs::CartPole<double>;
using pgrad::Index;

// A communicator that only answers rank() and size() (for ShardLayout).
class Pretend final : public pgrad::algo::Communicator {
 public:
  Pretend(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_gather(const double*, Index, double*) override { FAIL("no collectives here"); }
  std::vector<std::string> all_gather_bytes(const std::string&) override { FAIL("no collectives here"); return {}; }
  void broadcast_bytes(std::string&, int) override { FAIL("no collectives here"); }

 private:
  int rank_, size_;
};

}  // namespace

TEST_CASE("ShardLayout splits the copies evenly over the processes", "[data_parallel]") {
  const auto layout = pgrad::algo::ShardLayout::of(12, 6, Pretend(1, 3));
  CHECK(layout.copies_per_shard() == 2);
  CHECK(layout.local_shards == 2);
  CHECK(layout.first_shard == 2);
  CHECK(layout.first_copy() == 4);
  CHECK(layout.local_copies() == 4);
  CHECK(error_of([] { pgrad::algo::ShardLayout::of(12, 5, Pretend(0, 1)); }).find("divide num_envs = 12") !=
        std::string::npos);
  CHECK(error_of([] { pgrad::algo::ShardLayout::of(12, 3, Pretend(0, 2)); }).find("multiple of the 2 processes") !=
        std::string::npos);
}

TEST_CASE("Sharded minibatches hold each sample once, with the whole minibatch's normalisation",
          "[data_parallel]") {
  using Policy = pgrad::PolicyFor<CartPole>;
  pgrad::algo::SingleProcess one;
  const auto layout = pgrad::algo::ShardLayout::of(4, 2, one);
  pgrad::algo::RolloutBuffer<double, Policy::Actions> rollout;
  rollout.resize(5, 4, 4, 1);
  rollout.length = 5;
  for (Index j = 0; j < 20; ++j) {  // sample j carries its id in its observation and advantage
    rollout.observations.col(j).setConstant(static_cast<double>(j));
    rollout.advantages(j % 4, j / 4) = 0.5 * static_cast<double>(j * j % 7) - 1.0;
  }
  std::vector<Index> order(20);
  std::iota(order.begin(), order.end(), Index(0));
  std::reverse(order.begin(), order.end());
  const Index start = 3, count = 10;

  pgrad::algo::ShardedMinibatch<Policy> sharded(layout, one);
  sharded.gather(rollout, order, start, count);
  sharded.normalize_advantages(1e-8);
  pgrad::algo::Minibatch<double, Policy::Actions> whole;
  whole.gather(rollout, order, start, count);
  pgrad::normalize_in_place(whole.advantages, 1e-8);

  // The two shards (copies 0-1 and 2-3) split the minibatch's samples between them.
  std::vector<Index> seen;
  for (const auto* batch : {&sharded.shard(0), &sharded.shard(1)}) {
    CHECK(batch->mean_over() == count);
    for (Index k = 0; k < batch->size(); ++k) {
      const Index id = static_cast<Index>(batch->observations(0, k));
      seen.push_back(id);
      const Index position = std::find(whole.observations.row(0).begin(), whole.observations.row(0).end(),
                                       static_cast<double>(id)) - whole.observations.row(0).begin();
      CHECK(batch->advantages[k] == Approx(whole.advantages[position]).margin(1e-12));
    }
  }
  for (Index id : seen) CHECK(((id % 4) < 2) == (std::find(seen.begin(), seen.end(), id) - seen.begin() <
                                                 sharded.shard(0).size()));
  std::sort(seen.begin(), seen.end());
  std::vector<Index> expected(order.begin() + start, order.begin() + start + count);
  std::sort(expected.begin(), expected.end());
  CHECK(seen == expected);
}

// The largest parameter difference between a run in two shards and the unsharded run, after
// `steps` steps from the same seed (double).
template <class Algorithm, class Config>
double sharded_minus_unsharded(Config config, long long steps) {
  Algorithm unsharded(CartPole{}, config, 4);
  config.data_shards = 2;
  Algorithm sharded(CartPole{}, config, 4);
  CHECK(sharded.rollout().num_envs == config.num_envs);  // one process holds both shards
  unsharded.learn(steps);
  sharded.learn(steps);
  return (unsharded.policy().flat_parameters() - sharded.policy().flat_parameters()).cwiseAbs().maxCoeff();
}

TEST_CASE("Two shards in one process stay within rounding of the unsharded run", "[data_parallel]") {
  // Sums in another order: not bit for bit, but the same run to rounding (double, 2 updates).
  pgrad::algo::PpoConfig config;
  config.num_steps = 32;
  const double difference = sharded_minus_unsharded<pgrad::algo::Ppo<CartPole>>(config, 2 * 128);
  CHECK(difference <= 1e-9);
  CHECK(difference > 0);  // the order did change
}

TEST_CASE("TRPO in two shards stays close to the unsharded run", "[data_parallel]") {
  // The gradient is the same to the last bit here; the Fisher-vector products differ by rounding
  // (1e-16 relative) and 15 conjugate-gradient steps amplify that: after 2 updates in double the
  // parameters differ by about 4e-7 (an update moves them by about 1e-2).
  auto config = pgrad::algo::presets::cartpole_trpo();
  config.num_envs = 4;
  config.num_steps = 64;
  config.critic_minibatch_size = 64;
  const double difference = sharded_minus_unsharded<pgrad::algo::Trpo<CartPole>>(config, 2 * 256);
  CHECK(difference <= 2e-6);
  CHECK(difference > 0);
}

TEST_CASE("What cannot be sharded says so", "[data_parallel]") {
  namespace presets = pgrad::algo::presets;
  auto reinforce = presets::cartpole_reinforce();
  reinforce.num_envs = 2;
  reinforce.data_shards = 2;
  CHECK(error_of([&] { pgrad::algo::Reinforce<CartPole> r(CartPole{}, reinforce, 1); }).find("Reinforce") !=
        std::string::npos);
  auto gru = presets::cartpole_ppo_gru();
  gru.data_shards = 2;
  CHECK(error_of([&] { pgrad::algo::Ppo<CartPole, pgrad::RecurrentPolicyFor<CartPole>> p(CartPole{}, gru, 1); })
            .find("recurrent") != std::string::npos);
  pgrad::algo::PpoConfig odd;
  odd.data_shards = 3;  // 4 copies
  CHECK(error_of([&] { pgrad::algo::Ppo<CartPole> p(CartPole{}, odd, 1); }).find("data_shards must be at least 1 "
                                                                                   "and divide num_envs = 4") !=
        std::string::npos);
}
