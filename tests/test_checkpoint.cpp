// Checkpoints: round trip, exact resume (PPO and A2C on CartPole, PPO on a normalised Pendulum),
// corrupt or mismatched files, and atomic writes that never destroy the previous checkpoint.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/trpo.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/wrappers/clip_action.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>
#include <pgrad/envs/wrappers/rescale_action.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>
#include <pgrad/training/checkpoint.hpp>

#include "temp_path.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

using Catch::Matchers::Contains;
using CartPole = pgrad::envs::CartPole<float>;
using pgrad_test::TempPath;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

pgrad::algo::PpoConfig small_ppo() {
  pgrad::algo::PpoConfig config;
  config.num_envs = 2;
  config.num_steps = 32;
  config.num_minibatches = 2;
  config.update_epochs = 2;
  config.policy.actor_hidden = {16, 16};
  config.policy.critic_hidden = {16, 16};
  return config;
}

pgrad::algo::A2cConfig small_a2c() {
  pgrad::algo::A2cConfig config;
  config.num_envs = 4;
  config.num_steps = 5;
  config.learning_rate = pgrad::Schedule::linear(7e-4, 0.0);
  config.policy.actor_hidden = {16};
  config.policy.critic_hidden = {16};
  return config;
}

/// Stops after `n` updates of the current run.
pgrad::algo::UpdateCallback stop_after(long long n) {
  return [n](const pgrad::algo::UpdateReport& report) { return report.iteration < n; };
}

/// Trains 2N updates straight and N + save + load-into-a-new-object + N; returns both final
/// parameter vectors (and checks the runs' step and episode counters agree).
template <class Algorithm, class Env, class Config>
void check_exact_resume(const Env& env, const Config& config, long long n, const std::string& name) {
  const long long total = 2 * n * config.batch_size();
  Algorithm straight(env, config, 7);
  straight.learn(total);
  REQUIRE(straight.iteration() == 2 * n);

  TempPath file(name);
  pgrad::Vector<typename Algorithm::S> halfway;
  {
    Algorithm first(env, config, 7);
    first.learn(total, stop_after(n));
    REQUIRE(first.iteration() == n);
    halfway = first.policy().flat_parameters();
    pgrad::save_checkpoint(first, file.path);
  }
  // A new object with another seed: everything that matters must come from the file.
  Algorithm resumed(env, config, 12345);
  CHECK(resumed.policy().flat_parameters() != halfway);
  pgrad::load_checkpoint(resumed, file.path);
  CHECK(resumed.iteration() == n);
  CHECK(resumed.policy().flat_parameters() == halfway);
  resumed.learn(total);

  CHECK(resumed.iteration() == 2 * n);
  CHECK(resumed.collector().steps() == straight.collector().steps());
  CHECK(resumed.collector().episodes().count() == straight.collector().episodes().count());
  CHECK(resumed.collector().episodes().mean_return() == straight.collector().episodes().mean_return());
  CHECK(straight.policy().flat_parameters() != halfway);  // training moved the parameters
  // Bit-identical parameters.
  CHECK((resumed.policy().flat_parameters().array() == straight.policy().flat_parameters().array()).all());
  CHECK(resumed.collector().env().observations() == straight.collector().env().observations());
}

}  // namespace

TEST_CASE("Checkpoint round trip gives identical actions and values") {
  const CartPole env;
  pgrad::algo::Ppo<CartPole> trained(env, small_ppo(), 3);
  trained.learn(small_ppo().batch_size());
  TempPath file("roundtrip");
  pgrad::save_checkpoint(trained, file.path);

  pgrad::algo::Ppo<CartPole> loaded(env, small_ppo(), 99);
  pgrad::load_checkpoint(loaded, file.path);
  CHECK(loaded.policy().flat_parameters() == trained.policy().flat_parameters());

  pgrad::Rng rng(5);
  pgrad::Matrix<float> obs(4, 50);
  for (pgrad::Index j = 0; j < obs.cols(); ++j)
    for (pgrad::Index i = 0; i < 4; ++i) obs(i, j) = rng.uniform(-0.2f, 0.2f);
  pgrad::IndexRowVector a1, a2;
  trained.policy().act_deterministic(obs, a1);
  loaded.policy().act_deterministic(obs, a2);
  CHECK(a1 == a2);
  pgrad::RowVector<float> v1, v2;
  trained.policy().predict_values(obs, v1);
  loaded.policy().predict_values(obs, v2);
  CHECK(v1 == v2);
  // Sampled actions too: the collector's Rng came along.
  pgrad::RowVector<float> lp1, lp2, w1, w2;
  trained.policy().act(obs, trained.collector().rng(), a1, lp1, w1);
  loaded.policy().act(obs, loaded.collector().rng(), a2, lp2, w2);
  CHECK(a1 == a2);
  CHECK(lp1 == lp2);
}

TEST_CASE("learn after a finished run starts a new run as before") {
  const CartPole env;
  pgrad::algo::Ppo<CartPole> ppo(env, small_ppo(), 3);
  const long long total = 2 * small_ppo().batch_size();
  ppo.learn(total);
  CHECK(ppo.iteration() == 2);
  CHECK(ppo.collector().steps() == total);
  long long first_iteration = 0;
  ppo.learn(total, [&](const pgrad::algo::UpdateReport& r) {
    if (first_iteration == 0) first_iteration = r.iteration;
    return true;
  });
  CHECK(first_iteration == 1);
  CHECK(ppo.iteration() == 2);
  CHECK(ppo.collector().steps() == 2 * total);
  CHECK(ppo.iterations_for(total) == 2);
  CHECK(ppo.iterations_for(total + 1) == 3);
}

TEST_CASE("Wrapped environments continue exactly after load_state") {
  using Pendulum = pgrad::envs::Pendulum<float>;
  using Wrapped = pgrad::envs::ClipAction<pgrad::envs::RescaleAction<
      pgrad::envs::NormalizeObservation<pgrad::envs::TimeLimit<pgrad::envs::RecordEpisodeStatistics<Pendulum>>>>>;
  const Pendulum pendulum;
  const pgrad::envs::RecordEpisodeStatistics<Pendulum> recorded(pendulum);
  const Wrapped prototype(
      pgrad::envs::RescaleAction(pgrad::envs::NormalizeObservation(pgrad::envs::TimeLimit(recorded, 30))));
  Wrapped a = prototype;
  pgrad::Rng rng(11);
  a.reset(rng);
  Wrapped::Action action;
  for (int k = 0; k < 45; ++k) {  // past one time-limit reset
    action << std::sin(0.3f * static_cast<float>(k));
    if (a.step(action).done()) a.reset(rng);
  }
  pgrad::Writer w;
  a.save_state(w);
  Wrapped b = prototype;
  pgrad::Reader r(w.bytes());
  b.load_state(r);
  r.finish();
  CHECK(b.inner().inner().statistics().count() == a.inner().inner().statistics().count());
  bool same = true;
  for (int k = 0; k < 40; ++k) {
    action << std::cos(0.2f * static_cast<float>(k));
    const auto ra = a.step(action);
    const auto rb = b.step(action);
    same = same && ra.observation == rb.observation && ra.reward == rb.reward && ra.truncated == rb.truncated;
    if (ra.done()) {
      pgrad::Rng ra_rng(k), rb_rng(k);
      same = same && a.reset(ra_rng) == b.reset(rb_rng);
    }
  }
  CHECK(same);
  CHECK(a.inner().inner().inner().elapsed_steps() == b.inner().inner().inner().elapsed_steps());
  // A fresh (never loaded) copy does not follow the same trajectory: the check can fail.
  Wrapped c = prototype;
  pgrad::Rng other(11);
  c.reset(other);
  action << 0.5f;
  CHECK(c.step(action).observation != a.step(action).observation);
}

TEST_CASE("Exact resume of PPO on CartPole") {
  check_exact_resume<pgrad::algo::Ppo<CartPole>>(CartPole(), small_ppo(), 3, "ppo_cartpole");
}

TEST_CASE("Exact resume of A2C on CartPole") {
  check_exact_resume<pgrad::algo::A2c<CartPole>>(CartPole(), small_a2c(), 3, "a2c_cartpole");
}

TEST_CASE("Exact resume of PPO on Pendulum with a state-dependent log-std head") {
  pgrad::algo::PpoConfig config = small_ppo();
  config.policy.state_dependent_std = true;
  check_exact_resume<pgrad::algo::Ppo<pgrad::envs::Pendulum<float>>>(pgrad::envs::Pendulum<float>(), config, 3,
                                                                     "ppo_pendulum_state_dependent_std");
}

namespace {
// TRPO with 2 copies x 32 steps and 2 critic epochs of 16-sample minibatches.
pgrad::algo::TrpoConfig small_trpo() {
  pgrad::algo::TrpoConfig config;
  config.num_envs = 2;
  config.num_steps = 32;
  config.critic_minibatch_size = 16;
  config.critic_epochs = 2;
  return config;
}
}  // namespace

TEST_CASE("Exact resume of PPO and TRPO on Pendulum with bounded distributions") {
  using Pendulum = pgrad::envs::Pendulum<float>;
  for (pgrad::BoxDistribution kind : {pgrad::BoxDistribution::squashed_gaussian, pgrad::BoxDistribution::beta}) {
    const std::string name = pgrad::box_distribution_name(kind);
    INFO(name);
    pgrad::algo::PpoConfig config = small_ppo();
    config.policy.box_distribution = kind;
    check_exact_resume<pgrad::algo::Ppo<Pendulum>>(Pendulum(), config, 3, "ppo_pendulum_" + name);
    pgrad::algo::TrpoConfig trpo = small_trpo();
    trpo.policy.box_distribution = kind;
    check_exact_resume<pgrad::algo::Trpo<Pendulum>>(Pendulum(), trpo, 3, "trpo_pendulum_" + name);
  }
}

TEST_CASE("A checkpoint of one Box distribution does not load into a policy of another") {
  using Pendulum = pgrad::envs::Pendulum<float>;
  const TempPath file("box_kind");
  pgrad::algo::PpoConfig config = small_ppo();
  config.policy.box_distribution = pgrad::BoxDistribution::beta;
  pgrad::algo::Ppo<Pendulum> beta(Pendulum(), config, 3);
  pgrad::save_checkpoint(beta, file.path);
  config.policy.box_distribution = pgrad::BoxDistribution::squashed_gaussian;
  pgrad::algo::Ppo<Pendulum> squashed(Pendulum(), config, 3);
  CHECK_THROWS_WITH(pgrad::load_checkpoint(squashed, file.path),
                    Contains("Box distribution differs: file beta, policy squashed_gaussian"));
}

TEST_CASE("Exact resume of TRPO on CartPole") {
  pgrad::algo::TrpoConfig config = small_trpo();
  config.policy.actor_hidden = {16};
  config.policy.critic_hidden = {16};
  check_exact_resume<pgrad::algo::Trpo<CartPole>>(CartPole(), config, 3, "trpo_cartpole");
}

TEST_CASE("Exact resume of PPO on Pendulum with normalised observations and rewards") {
  using Pendulum = pgrad::envs::Pendulum<float>;
  using Wrapped = pgrad::envs::NormalizeReward<
      pgrad::envs::NormalizeObservation<pgrad::envs::RecordEpisodeStatistics<pgrad::envs::TimeLimit<Pendulum>>>>;
  const Wrapped env(pgrad::envs::NormalizeObservation(
      pgrad::envs::RecordEpisodeStatistics(pgrad::envs::TimeLimit<Pendulum>(Pendulum(), 50))));
  pgrad::algo::PpoConfig config = small_ppo();
  config.num_steps = 40;  // episodes of 50 steps end inside rollouts
  config.clip_coef = pgrad::Schedule::linear(0.3, 0.1);
  check_exact_resume<pgrad::algo::Ppo<Wrapped>>(env, config, 3, "ppo_pendulum");

  // The normaliser statistics travel in the checkpoint.
  pgrad::algo::Ppo<Wrapped> a(env, config, 1), b(env, config, 2);
  a.learn(config.batch_size());
  TempPath file("ppo_pendulum_stats");
  pgrad::save_checkpoint(a, file.path);
  pgrad::load_checkpoint(b, file.path);
  for (pgrad::Index i = 0; i < config.num_envs; ++i) {
    const auto& sa = a.collector().env().env(i).inner().statistics();
    const auto& sb = b.collector().env().env(i).inner().statistics();
    CHECK(sa.count() > 1.0);
    CHECK(sa.count() == sb.count());
    CHECK(sa.mean() == sb.mean());
    CHECK(sa.var() == sb.var());
    CHECK(a.collector().env().env(i).statistics().var() == b.collector().env().env(i).statistics().var());
    CHECK(a.collector().env().env(i).discounted_return() == b.collector().env().env(i).discounted_return());
  }
}

namespace {
// REINFORCE (whole episodes: the run counts steps, not rollouts) stopped after 3 updates, saved,
// loaded into an algorithm with another seed and run on matches a straight run bit for bit.
void check_reinforce_resume(const pgrad::algo::ReinforceConfig& config, long long steps, const std::string& name) {
  const CartPole env;
  pgrad::algo::Reinforce<CartPole> straight(env, config, 4);
  straight.learn(steps);
  pgrad::algo::Reinforce<CartPole> first(env, config, 4);
  first.learn(steps, stop_after(3));
  TempPath file(name);
  pgrad::save_checkpoint(first, file.path);
  pgrad::algo::Reinforce<CartPole> resumed(env, config, 8);
  pgrad::load_checkpoint(resumed, file.path);
  resumed.learn(steps);
  CHECK(resumed.iteration() == straight.iteration());
  CHECK(straight.iteration() > 6);
  CHECK(resumed.policy().flat_parameters() == straight.policy().flat_parameters());
}
}  // namespace

TEST_CASE("Reinforce resumes from its step count") {
  pgrad::algo::ReinforceConfig config;
  config.policy.actor_hidden = {16};
  check_reinforce_resume(config, 300, "reinforce");
}

TEST_CASE("Reinforce with dropout (DataCamp's preset) resumes exactly: the dropout stream is in the checkpoint") {
  pgrad::algo::ReinforceConfig config = pgrad::algo::presets::cartpole_reinforce_datacamp();
  config.policy.actor_hidden = {16};
  check_reinforce_resume(config, 600, "reinforce_dropout");
  // A policy without dropout cannot take its checkpoint (the recorded hyperparameters differ).
  pgrad::algo::Reinforce<CartPole> with_dropout(CartPole(), config, 4);
  TempPath file("reinforce_dropout_mismatch");
  pgrad::save_checkpoint(with_dropout, file.path);
  config.policy.dropout = 0;
  pgrad::algo::Reinforce<CartPole> other(CartPole(), config, 8);
  CHECK_THROWS_WITH(pgrad::load_checkpoint(other, file.path), Contains("policy.dropout"));
}

TEST_CASE("Corrupt and mismatched checkpoints throw errors naming the problem") {
  const CartPole env;
  pgrad::algo::Ppo<CartPole> ppo(env, small_ppo(), 3);
  TempPath good("good"), bad("bad");
  pgrad::save_checkpoint(ppo, good.path);
  const std::string bytes = read_bytes(good.path);
  REQUIRE(bytes.size() > 100);
  REQUIRE(bytes.substr(0, 8) == "PGRADCKP");
  pgrad::algo::Ppo<CartPole> target(env, small_ppo(), 3);

  SECTION("truncated file") {
    write_bytes(bad.path, bytes.substr(0, bytes.size() - 9));
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("truncated"));
    write_bytes(bad.path, bytes.substr(0, 15));
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("truncated"));
    write_bytes(bad.path, bytes.substr(0, 5));
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("truncated"));
    write_bytes(bad.path, "");
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("not a pgrad checkpoint"));
  }
  SECTION("one flipped byte") {
    for (std::size_t at : {bytes.size() / 2, std::size_t(30), bytes.size() - 12}) {
      std::string flipped = bytes;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
      write_bytes(bad.path, flipped);
      CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("corrupt: checksum mismatch"));
    }
  }
  SECTION("wrong magic") {
    std::string other = bytes;
    other[3] = 'X';
    write_bytes(bad.path, other);
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("not a pgrad checkpoint"));
    write_bytes(bad.path, "hello");
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path), Contains("not a pgrad checkpoint"));
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path + ".missing"), Contains("cannot open"));
  }
  SECTION("other format version with a valid checksum (older and newer)") {
    for (char version : {char(2), char(4)}) {
      std::string other = bytes;
      other[8] = version;  // version field, little-endian
      const std::size_t body = other.size() - 8;
      std::uint64_t hash = pgrad::detail::fnv1a64(other.data(), body);
      for (int k = 0; k < 8; ++k) other[body + k] = static_cast<char>((hash >> (8 * k)) & 0xFF);
      write_bytes(bad.path, other);
      CHECK_THROWS_WITH(pgrad::load_checkpoint(target, bad.path),
                        Contains("format version " + std::to_string(int(version)) + " is not supported") &&
                            Contains("this pgrad reads version 3"));
    }
  }
  SECTION("different network size") {
    pgrad::algo::PpoConfig config = small_ppo();
    config.policy.actor_hidden = {32};
    pgrad::algo::Ppo<CartPole> other(env, config, 3);
    CHECK_THROWS_WITH(pgrad::load_checkpoint(other, good.path),
                      Contains("actor layer sizes differ: file has 4-16-16-2, policy has 4-32-2"));
  }
  SECTION("other Scalar") {
    using CartPoleD = pgrad::envs::CartPole<double>;
    pgrad::algo::Ppo<CartPoleD> other(CartPoleD(), small_ppo(), 3);
    CHECK_THROWS_WITH(pgrad::load_checkpoint(other, good.path), Contains("Scalar differs: file float, program double"));
  }
  SECTION("other hyperparameters") {
    pgrad::algo::PpoConfig config = small_ppo();
    config.gamma = 0.98;
    pgrad::algo::Ppo<CartPole> other(env, config, 3);
    CHECK_THROWS_WITH(pgrad::load_checkpoint(other, good.path), Contains("Ppo hyperparameter gamma differs"));
  }
  SECTION("other algorithm") {
    pgrad::algo::A2c<CartPole> other(env, small_a2c(), 3);
    CHECK_THROWS_WITH(pgrad::load_checkpoint(other, good.path), Contains("file has 'Ppo', program expects 'A2c'"));
  }
  SECTION("other environment time limit") {
    pgrad::algo::Ppo<CartPole> other(CartPole(200), small_ppo(), 3);
    CHECK_THROWS_WITH(pgrad::load_checkpoint(other, good.path), Contains("max_episode_steps differs"));
  }
}

namespace {
/// A CartPole without save_state / load_state: training works, exact-resume checkpoints do not.
class PlainCartPole {
 public:
  using Scalar = float;
  using Observation = CartPole::Observation;
  using Action = CartPole::Action;
  auto observation_space() const { return env_.observation_space(); }
  auto action_space() const { return env_.action_space(); }
  Observation reset(pgrad::Rng& rng) { return env_.reset(rng); }
  pgrad::envs::StepResult<Observation> step(const Action& a) { return env_.step(a); }

 private:
  CartPole env_;
};
}  // namespace

TEST_CASE("A failed checkpoint write leaves the previous file intact") {
  const CartPole env;
  pgrad::algo::Ppo<CartPole> ppo(env, small_ppo(), 3);
  TempPath file("atomic");
  pgrad::save_checkpoint(ppo, file.path);
  const std::string before = read_bytes(file.path);
  ppo.learn(small_ppo().batch_size());  // the state changes

  SECTION("the temporary file cannot be created") {
    // The temporary's name is unique per call (tests/test_file_io.cpp covers that layer): ask for
    // it under a regular file, which cannot hold one.
    CHECK_THROWS_WITH(pgrad::save_checkpoint(ppo, file.path + "/ckpt"), Contains("cannot create"));
  }
  SECTION("the target directory does not exist") {
    CHECK_THROWS_WITH(pgrad::save_checkpoint(ppo, "/nonexistent_pgrad_dir/ckpt"), Contains("cannot create"));
  }
  SECTION("the state cannot be serialised midway") {
    using Wrapped = pgrad::envs::RecordEpisodeStatistics<PlainCartPole>;
    pgrad::algo::Ppo<Wrapped> plain(Wrapped(PlainCartPole{}), small_ppo(), 3);
    plain.learn(small_ppo().batch_size());
    CHECK_THROWS_WITH(pgrad::save_checkpoint(plain, file.path),
                      Contains("exact resume needs") && Contains("PlainCartPole"));
  }
  CHECK(read_bytes(file.path) == before);
  pgrad::algo::Ppo<CartPole> reloaded(env, small_ppo(), 9);
  CHECK_NOTHROW(pgrad::load_checkpoint(reloaded, file.path));
  CHECK(reloaded.iteration() == 0);
}

TEST_CASE("Writer and Reader round trip values and check tags") {
  pgrad::Writer w;
  w.section("numbers");
  w.u32(0xDEADBEEF);
  w.i64(-5);
  w.f32(1.5f);
  w.f64(-0.1);
  w.string("abc");
  pgrad::Matrix<double> m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  w.matrix(m);
  // Little-endian layout of the 32-bit integer after the section tag (1 + 8 + 7 bytes).
  CHECK(static_cast<unsigned char>(w.bytes()[16]) == 0xEF);
  CHECK(static_cast<unsigned char>(w.bytes()[19]) == 0xDE);

  pgrad::Reader r(w.bytes());
  r.section("numbers");
  CHECK(r.u32() == 0xDEADBEEF);
  CHECK(r.i64() == -5);
  CHECK(r.f32() == 1.5f);
  CHECK(r.f64() == -0.1);
  CHECK(r.string() == "abc");
  pgrad::Matrix<double> back;
  r.matrix(back, "m", 2, 3);
  CHECK(back == m);
  r.finish();
  CHECK_THROWS_WITH(r.u8(), Contains("truncated"));

  pgrad::Reader wrong(w.bytes());
  CHECK_THROWS_WITH(wrong.section("letters"), Contains("file has 'numbers', program expects 'letters'"));
  pgrad::Reader sizes(w.bytes());
  sizes.section("numbers");
  sizes.u32();
  sizes.i64();
  sizes.f32();
  sizes.f64();
  sizes.string();
  pgrad::Matrix<double> small;
  CHECK_THROWS_WITH(sizes.matrix(small, "m", 3, 2), Contains("m sizes differ: file has 2x3, program has 3x2"));
}
