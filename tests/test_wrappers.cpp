// Wrappers and RunningMeanStd: running statistics against two-pass computations, frozen
// normalisers, reward normalisation against an independent discounted-return computation,
// time limit, action clipping and rescaling, episode statistics; the shared transforms
// (envs/transforms.hpp) and the Wrapper base (envs/wrapper.hpp).
#include <catch2/catch.hpp>

#include <pgrad/core/running_mean_std.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/wrappers/clip_action.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>
#include <pgrad/envs/wrappers/rescale_action.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/envs/wrapper.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using pgrad::Index;
using pgrad::Rng;
using pgrad::RunningMeanStd;
using namespace pgrad::envs;
using Catch::Matchers::Contains;

namespace {

// Population mean and variance by two passes over samples (columns), combined with the prior
// (mean 0, variance 1, pseudo-count eps) the way pooling two sample sets does.
struct TwoPass {
  Eigen::VectorXd mean, var;
};
TwoPass two_pass(const Eigen::MatrixXd& samples, double eps) {
  const double n = static_cast<double>(samples.cols());
  const Eigen::VectorXd data_mean = samples.rowwise().mean();
  Eigen::VectorXd centred_sq = Eigen::VectorXd::Zero(samples.rows());
  for (Index j = 0; j < samples.cols(); ++j)
    centred_sq += (samples.col(j) - data_mean).cwiseAbs2();
  TwoPass out;
  out.mean = data_mean * (n / (n + eps));
  // M2 = prior M2 (eps * 1) + data M2 + between-group term; var = M2 / (n + eps).
  out.var = (Eigen::VectorXd::Constant(samples.rows(), eps) + centred_sq +
             data_mean.cwiseAbs2() * (eps * n / (n + eps))) /
            (n + eps);
  return out;
}

// An environment that plays a script: observation = step counter, reward and end flags from
// tables; it records the last action it received. Box actions in [-1, 2] x [0, 3].
struct ScriptedEnv {
  using Scalar = double;
  using Observation = Eigen::Matrix<double, 1, 1>;
  using Action = Eigen::Matrix<double, 2, 1>;

  std::vector<double> rewards{1.0};
  std::vector<int> ends{0};  // 0 none, 1 terminated, 2 truncated, 3 both
  std::vector<double> observations{};  // if non-empty, replaces the step counter
  Index t = 0;
  Action last_action = Action::Zero();

  Box<double> observation_space() const { return Box<double>::unbounded(1); }
  Box<double> action_space() const {
    Eigen::VectorXd low(2), high(2);
    low << -1, 0;
    high << 2, 3;
    return Box<double>(low, high);
  }
  Observation reset(Rng&) { return Observation::Constant(value(t)); }
  StepResult<Observation> step(const Action& action) {
    last_action = action;
    StepResult<Observation> r;
    const auto k = static_cast<std::size_t>(t);
    r.reward = rewards[k % rewards.size()];
    const int end = ends[k % ends.size()];
    r.terminated = end & 1;
    r.truncated = end & 2;
    ++t;
    r.observation = Observation::Constant(value(t));
    return r;
  }
  double value(Index i) const {
    return observations.empty() ? double(i)
                                : observations[static_cast<std::size_t>(i) % observations.size()];
  }
};

static_assert(require_env<ScriptedEnv>());
static_assert(require_env<TimeLimit<CartPole<float>>>());
static_assert(require_env<NormalizeObservation<CartPole<float>>>());
static_assert(require_env<NormalizeReward<Pendulum<float>>>());
static_assert(require_env<ClipAction<Pendulum<float>>>());
static_assert(require_env<RescaleAction<Pendulum<float>>>());
static_assert(require_env<RecordEpisodeStatistics<CartPole<float>>>());
static_assert(require_env<RecordEpisodeStatistics<NormalizeReward<RescaleAction<ClipAction<Pendulum<double>>>>>>());
static_assert(is_wrapper_v<TimeLimit<CartPole<float>>> && !is_wrapper_v<CartPole<float>>);
static_assert(is_wrapper_v<ClipAction<RescaleAction<Pendulum<float>>>>);

// A user's wrapper on the base: only the reward changes (scaled by 2); the rest is forwarded.
template <class Env>
class DoubleReward : public Wrapper<DoubleReward<Env>, Env> {
  using Base = Wrapper<DoubleReward<Env>, Env>;

 public:
  static constexpr const char* state_section = "DoubleReward";
  explicit DoubleReward(Env env) : Base(std::move(env)) {}
  auto step(const typename Base::Action& action) {
    auto result = this->env_.step(action);
    result.reward *= 2;
    return result;
  }
};
static_assert(require_env<DoubleReward<CartPole<float>>>());
static_assert(require_env<DoubleReward<TimeLimit<DoubleReward<Pendulum<double>>>>>());
static_assert(is_wrapper_v<DoubleReward<CartPole<float>>>);
static_assert(std::is_same_v<DoubleReward<Pendulum<float>>::Action, Pendulum<float>::Action>);

}  // namespace

TEST_CASE("RunningMeanStd matches a two-pass computation over batches of any size", "[wrappers]") {
  Rng rng(17);
  const Index features = 5, total = 1000;
  Eigen::MatrixXd data(features, total);
  for (Index j = 0; j < total; ++j)
    for (Index i = 0; i < features; ++i) data(i, j) = 3.0 * i - 2.0 + (1.0 + i) * rng.normal<double>();

  for (const double eps : {1e-4, 0.0}) {
    RunningMeanStd<double> stats(features, eps);
    const std::vector<Index> batches = {1, 7, 50, 1, 1, 300, 2, 139, 499};
    Index used = 0;
    for (const Index b : batches) {
      stats.update(data.middleCols(used, b));
      used += b;
      const TwoPass expected = two_pass(data.leftCols(used), eps);
      INFO("eps " << eps << " after " << used << " samples");
      for (Index i = 0; i < features; ++i) {
        CHECK(stats.mean()[i] == Approx(expected.mean[i]).epsilon(1e-12).margin(1e-14));
        CHECK(stats.var()[i] == Approx(expected.var[i]).epsilon(1e-12));
      }
      CHECK(stats.count() == Approx(used + eps).epsilon(1e-15));
    }
    REQUIRE(used == total);
  }

  // update_from_moments with a batch's own moments equals update with the batch.
  RunningMeanStd<double> a(features), b(features);
  a.update(data.leftCols(10));
  b.update(data.leftCols(10));
  a.update(data.middleCols(10, 90));
  const TwoPass moments = two_pass(data.middleCols(10, 90), 0.0);
  b.update_from_moments(moments.mean, moments.var, 90.0);
  CHECK(a.mean().isApprox(b.mean(), 1e-13));
  CHECK(a.var().isApprox(b.var(), 1e-13));

  // Float statistics agree to float precision; the count stays exact in double.
  RunningMeanStd<float> f(features);
  f.update(data.cast<float>());
  const TwoPass expected = two_pass(data, 1e-4);
  CHECK(f.mean().cast<double>().isApprox(expected.mean, 1e-5));
  CHECK(f.var().cast<double>().isApprox(expected.var, 1e-5));
  CHECK(f.count() == 1000.0001);
}

TEST_CASE("RunningMeanStd refuses bad input", "[wrappers]") {
  RunningMeanStd<double> stats(3);
  CHECK_THROWS_WITH(stats.update(Eigen::MatrixXd::Zero(2, 4)), Contains("2 rows") && Contains("3 features"));
  Eigen::MatrixXd bad = Eigen::MatrixXd::Zero(3, 2);
  bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(stats.update(bad), Contains("non-finite"));
  CHECK(stats.count() == 1e-4);  // untouched
  Eigen::VectorXd negative(3);
  negative << 1, -1, 1;
  CHECK_THROWS_AS(stats.set(Eigen::VectorXd::Zero(3), negative, 5.0), pgrad::Error);
  CHECK_THROWS_AS(RunningMeanStd<double>(2, -1.0), pgrad::Error);
  stats.update(Eigen::MatrixXd::Zero(3, 0));  // empty batch: no-op
  CHECK(stats.count() == 1e-4);
}

TEST_CASE("NormalizeObservation standardises with the statistics of every observation so far",
          "[wrappers]") {
  // The raw environment and the wrapped one run side by side with the same seed and actions.
  CartPole<double> raw_env;
  NormalizeObservation<CartPole<double>> env(CartPole<double>{});
  Rng raw_rng(4), rng(4), actions(5);
  std::vector<Eigen::Vector4d> seen;
  auto check = [&](const Eigen::Vector4d& raw, const Eigen::Vector4d& normalised) {
    seen.push_back(raw);
    Eigen::MatrixXd all(4, static_cast<Index>(seen.size()));
    for (std::size_t k = 0; k < seen.size(); ++k) all.col(static_cast<Index>(k)) = seen[k];
    const TwoPass stats = two_pass(all, 1e-4);
    const Eigen::Vector4d expected =
        ((raw - stats.mean).array() / (stats.var.array() + 1e-8).sqrt()).max(-10.0).min(10.0);
    for (Index i = 0; i < 4; ++i) CHECK(normalised[i] == Approx(expected[i]).epsilon(1e-9).margin(1e-12));
  };
  check(raw_env.reset(raw_rng), env.reset(rng));
  for (int t = 0; t < 300; ++t) {
    const Index a = static_cast<Index>(actions.below(2));
    const auto raw = raw_env.step(a);
    const auto normalised = env.step(a);
    REQUIRE(raw.terminated == normalised.terminated);
    REQUIRE(raw.reward == normalised.reward);
    check(raw.observation, normalised.observation);
    if (raw.done()) check(raw_env.reset(raw_rng), env.reset(rng));
  }
  CHECK(env.statistics().count() == Approx(static_cast<double>(seen.size()) + 1e-4));
  CHECK(env.observation_space().high == Eigen::Vector4d::Constant(10.0));
}

TEST_CASE("NormalizeObservation clips at 10 standard deviations", "[wrappers]") {
  ScriptedEnv script;
  script.observations.assign(400, 0.0);
  script.observations[300] = 1e6;  // a spike after 300 zeros: z-score ~ sqrt(300) > 10
  NormalizeObservation<ScriptedEnv> env(script);
  Rng rng(1);
  env.reset(rng);
  double spike = 0;
  for (int t = 1; t <= 300; ++t) spike = env.step(ScriptedEnv::Action::Zero()).observation[0];
  CHECK(spike == 10.0);
  CHECK(env.step(ScriptedEnv::Action::Zero()).observation[0] < 0.0);
}

TEST_CASE("A frozen NormalizeObservation does not move and its statistics transfer", "[wrappers]") {
  NormalizeObservation<Pendulum<double>> env(Pendulum<double>{});
  Rng rng(8), actions(9);
  env.reset(rng);
  for (int t = 0; t < 150; ++t) env.step(Pendulum<double>::Action::Constant(actions.uniform(-2.0, 2.0)));
  env.set_training(false);
  REQUIRE_FALSE(env.training());
  const auto frozen = env.statistics();

  Pendulum<double> raw_env;
  NormalizeObservation<Pendulum<double>> copy(Pendulum<double>{});
  copy.set_statistics(frozen);
  copy.set_training(false);
  Rng r1(3), r2(3), r3(3);
  env.reset(r1);
  copy.reset(r2);
  raw_env.reset(r3);
  for (int t = 0; t < 40; ++t) {
    const auto a = Pendulum<double>::Action::Constant(actions.uniform(-2.0, 2.0));
    const auto x = env.step(a);
    const auto y = copy.step(a);
    const auto raw = raw_env.step(a);
    CHECK(x.observation == y.observation);
    CHECK(x.observation == env.normalize(raw.observation));
  }
  CHECK(env.statistics().mean() == frozen.mean());
  CHECK(env.statistics().var() == frozen.var());
  CHECK(env.statistics().count() == frozen.count());
  CHECK_THROWS_AS(env.set_statistics(RunningMeanStd<double>(2)), pgrad::Error);
}

TEST_CASE("NormalizeReward scales by the running std of the discounted return", "[wrappers]") {
  ScriptedEnv script;
  script.rewards = {1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 2.5};
  script.ends = {0, 0, 0, 1, 0, 2, 0, 0, 0, 3, 0};  // terminations reset G; truncation alone does not
  const double gamma = 0.9;
  NormalizeReward<ScriptedEnv> env(script, gamma);
  Rng rng(1);
  env.reset(rng);
  double g = 0.0;
  std::vector<double> returns;
  for (int t = 0; t < 120; ++t) {
    const double reward = script.rewards[static_cast<std::size_t>(t) % script.rewards.size()];
    const int end = script.ends[static_cast<std::size_t>(t) % script.ends.size()];
    g = g * gamma * ((end & 1) ? 0.0 : 1.0) + reward;
    returns.push_back(g);
    const auto r = env.step(ScriptedEnv::Action::Zero());
    const Eigen::Map<const Eigen::RowVectorXd> all(returns.data(), static_cast<Index>(returns.size()));
    const double var = two_pass(all, 1e-4).var[0];
    const double expected = std::clamp(reward / std::sqrt(var + 1e-8), -10.0, 10.0);
    INFO("step " << t);
    CHECK(r.reward == Approx(expected).epsilon(1e-10).margin(1e-14));
    CHECK(env.discounted_return() == Approx(g).epsilon(1e-13));
    CHECK(r.terminated == bool(end & 1));
    CHECK(r.truncated == bool(end & 2));
    if (r.done()) env.reset(rng);  // reset does not clear G (Gymnasium)
  }
  // Frozen: statistics stay put.
  env.set_training(false);
  const auto before = env.statistics();
  for (int t = 0; t < 20; ++t) env.step(ScriptedEnv::Action::Zero());
  CHECK(env.statistics().var() == before.var());
  CHECK(env.statistics().count() == before.count());
}

TEST_CASE("NormalizeReward clips at 10", "[wrappers]") {
  ScriptedEnv script;
  script.rewards.assign(500, 1e-3);
  script.rewards[400] = 1e4;
  NormalizeReward<ScriptedEnv> env(script, 0.0);  // gamma 0: G = r
  Rng rng(1);
  env.reset(rng);
  double last = 0;
  for (int t = 0; t <= 400; ++t) last = env.step(ScriptedEnv::Action::Zero()).reward;
  CHECK(last == 10.0);
  CHECK_THROWS_AS(NormalizeReward<ScriptedEnv>(script, 1.5), pgrad::Error);
}

TEST_CASE("TimeLimit truncates at its limit and reports the effective one", "[wrappers]") {
  TimeLimit<Pendulum<double>> env(Pendulum<double>(0), 7);  // the inner env has no limit
  CHECK(env.max_episode_steps() == 7);
  Rng rng(2);
  for (int episode = 0; episode < 3; ++episode) {
    env.reset(rng);
    for (int t = 1; t <= 7; ++t) {
      const auto r = env.step(Pendulum<double>::Action::Zero());
      CHECK(r.truncated == (t == 7));
      CHECK_FALSE(r.terminated);
      CHECK(env.elapsed_steps() == t);
    }
  }
  CHECK(TimeLimit<CartPole<float>>(CartPole<float>(), 1000).max_episode_steps() == 500);
  CHECK(TimeLimit<CartPole<float>>(CartPole<float>(), 100).max_episode_steps() == 100);
  CHECK(max_episode_steps_of(NormalizeObservation<TimeLimit<Pendulum<float>>>(
            TimeLimit<Pendulum<float>>(Pendulum<float>(), 50))) == 50);
  CHECK_THROWS_AS(TimeLimit<CartPole<float>>(CartPole<float>(), 0), pgrad::Error);

  // A terminal step at the limit reports both flags (Gymnasium).
  TimeLimit<CartPole<double>> cart(CartPole<double>(0), 1);
  Rng r(1);
  cart.reset(r);
  CartPole<double>::State falling;
  falling << 0, 0, 0.2, 1.0;
  cart.inner().set_state(falling);
  const auto both = cart.step(1);
  CHECK(both.terminated);
  CHECK(both.truncated);
}

TEST_CASE("ClipAction clips each dimension to the inner bounds", "[wrappers]") {
  ClipAction<ScriptedEnv> env(ScriptedEnv{});
  Rng rng(1);
  env.reset(rng);
  env.step(ScriptedEnv::Action(5.0, -4.0));
  CHECK(env.inner().last_action == ScriptedEnv::Action(2.0, 0.0));
  env.step(ScriptedEnv::Action(-3.0, 1.5));
  CHECK(env.inner().last_action == ScriptedEnv::Action(-1.0, 1.5));
  env.step(ScriptedEnv::Action(0.25, 3.0));
  CHECK(env.inner().last_action == ScriptedEnv::Action(0.25, 3.0));
  CHECK_FALSE(env.action_space().is_bounded());
  CHECK_THROWS_WITH(env.step(ScriptedEnv::Action(std::nan(""), 0.0)), Contains("non-finite"));

  // Through Pendulum: a torque of 5 acts like 2.
  ClipAction<Pendulum<double>> pendulum(Pendulum<double>{});
  pendulum.inner().set_state(0.0, 0.0);
  CHECK(pendulum.step(Pendulum<double>::Action::Constant(5.0)).reward == Approx(-0.004));
}

TEST_CASE("RescaleAction maps -1 to 1 affinely onto the inner bounds", "[wrappers]") {
  RescaleAction<ScriptedEnv> env(ScriptedEnv{});
  Rng rng(1);
  env.reset(rng);
  env.step(ScriptedEnv::Action(-1.0, -1.0));
  CHECK(env.inner().last_action == ScriptedEnv::Action(-1.0, 0.0));
  env.step(ScriptedEnv::Action(1.0, 1.0));
  CHECK(env.inner().last_action == ScriptedEnv::Action(2.0, 3.0));
  env.step(ScriptedEnv::Action(0.0, 0.5));
  CHECK(env.inner().last_action[0] == Approx(0.5));
  CHECK(env.inner().last_action[1] == Approx(2.25));
  env.step(ScriptedEnv::Action(3.0, -7.0));  // beyond [-1, 1]: clipped to the inner bounds
  CHECK(env.inner().last_action == ScriptedEnv::Action(2.0, 0.0));
  CHECK(env.action_space().low == Eigen::Vector2d(-1, -1));
  CHECK(env.action_space().high == Eigen::Vector2d(1, 1));

  // Custom range [0, 10] onto Pendulum's [-2, 2]: 7.5 -> 1.
  RescaleAction<Pendulum<double>> pendulum(Pendulum<double>{}, 0.0, 10.0);
  pendulum.inner().set_state(0.0, 0.0);
  pendulum.step(Pendulum<double>::Action::Constant(7.5));
  CHECK(pendulum.inner().theta_dot() == Approx(3.0 * 1.0 * 0.05));
  CHECK_THROWS_AS(RescaleAction<ClipAction<ScriptedEnv>>(ClipAction<ScriptedEnv>(ScriptedEnv{})),
                  pgrad::Error);  // unbounded inner action space
  CHECK_THROWS_AS(RescaleAction<ScriptedEnv>(ScriptedEnv{}, 1.0, 1.0), pgrad::Error);
}

TEST_CASE("RecordEpisodeStatistics records the return and length of each episode", "[wrappers]") {
  RecordEpisodeStatistics<Pendulum<double>> env(Pendulum<double>(25));
  Pendulum<double> raw(25);
  Rng rng(6), raw_rng(6), actions(7);
  CHECK(env.episode_count() == 0);
  CHECK(env.last_episode().length == 0);
  for (int episode = 1; episode <= 3; ++episode) {
    env.reset(rng);
    raw.reset(raw_rng);
    double sum = 0;
    for (int t = 1; t <= 25; ++t) {
      const auto a = Pendulum<double>::Action::Constant(actions.uniform(-2.0, 2.0));
      const auto r = env.step(a);
      const auto expected = raw.step(a);
      CHECK(r.reward == expected.reward);
      sum += expected.reward;
      if (t < 25) CHECK(env.current_length() == t);
    }
    CHECK(env.episode_count() == static_cast<std::uint64_t>(episode));
    CHECK(env.last_episode().length == 25);
    CHECK(env.last_episode().episode_return == Approx(sum).epsilon(1e-14));
    CHECK(env.current_length() == 0);
  }

  // Under NormalizeReward the recorder inside still sees raw CartPole rewards (+1 per step).
  NormalizeReward<RecordEpisodeStatistics<CartPole<double>>> stacked{
      RecordEpisodeStatistics<CartPole<double>>(CartPole<double>{})};
  Rng r(3);
  stacked.reset(r);
  int length = 0;
  double normalised_sum = 0;
  for (;;) {
    const auto s = stacked.step(1);
    ++length;
    normalised_sum += s.reward;
    if (s.done()) break;
  }
  CHECK(episode_recorder(stacked).last_episode().length == length);
  CHECK(episode_recorder(stacked).last_episode().episode_return == Approx(length));
  CHECK(normalised_sum != Approx(length));
  static_assert(has_episode_recorder<decltype(stacked)>());
  static_assert(!has_episode_recorder<NormalizeReward<CartPole<double>>>());
}

TEST_CASE("The transforms compute the wrappers' formulas on vectors, columns and batches", "[wrappers]") {
  // normalize_observation: clip((o - mean) / sqrt(var + eps), -clip, clip), in double.
  Eigen::MatrixXf raw(2, 3);
  raw << 1, 5, -100, 2, 2, 100;
  Eigen::VectorXd mean(2), var(2);
  mean << 1, 0;
  var << 4, 1;
  Eigen::MatrixXf normalized;
  normalize_observation(raw, mean, var, 1e-8, 10.0, normalized);
  REQUIRE(normalized.rows() == 2);
  REQUIRE(normalized.cols() == 3);
  for (Index j = 0; j < 3; ++j)
    for (Index i = 0; i < 2; ++i) {
      const double z = (double(raw(i, j)) - mean[i]) / std::sqrt(var[i] + 1e-8);
      CHECK(normalized(i, j) == static_cast<float>(std::clamp(z, -10.0, 10.0)));
    }
  CHECK(normalized(0, 2) == -10.0f);
  CHECK(normalized(1, 2) == 10.0f);
  Eigen::Vector2f column = raw.col(1);
  normalize_observation(column, mean, var, 1e-8, 10.0, column);  // in place
  CHECK(column == normalized.col(1));

  // clip_action: a batch against bounds of another scalar type, and one column into a double vector.
  Eigen::MatrixXf actions(2, 3);
  actions << -5, 0.5f, 9, 3, -1, 0.25f;
  Eigen::VectorXd low(2), high(2);
  low << -1, 0;
  high << 2, std::numeric_limits<double>::infinity();
  Eigen::MatrixXf clipped(2, 3);
  clip_action(actions, low, high, clipped);
  Eigen::MatrixXf expected(2, 3);
  expected << -1, 0.5f, 2, 3, 0, 0.25f;
  CHECK(clipped == expected);
  Eigen::Vector2d single;
  clip_action(actions.col(2), low, high, single);
  CHECK(single == Eigen::Vector2d(2, 0.25));
  clip_action(actions, low, high, actions.leftCols(3));  // into a block, in place
  CHECK(actions == expected);

  // rescale_action: [-1, 1] onto [low, high], clipped.
  Eigen::MatrixXd u(2, 4);
  u << -1, 1, 0, 3, -1, 1, 0.5, -7;
  Eigen::VectorXd box_low(2), box_high(2);
  box_low << -1, 0;
  box_high << 2, 3;
  Eigen::MatrixXd mapped;
  rescale_action(u, -1.0, 1.0, box_low, box_high, mapped);
  Eigen::MatrixXd mapped_expected(2, 4);
  mapped_expected << -1, 2, 0.5, 2, 0, 3, 2.25, 0;
  CHECK(mapped.isApprox(mapped_expected));

  // Sizes that do not fit name the function.
  Eigen::VectorXd short_bounds(1);
  CHECK_THROWS_WITH(clip_action(u, short_bounds, short_bounds, mapped), Contains("clip_action: bounds have 1"));
  CHECK_THROWS_WITH(rescale_action(u, -1.0, 1.0, box_low, box_high, mapped.leftCols(2)),
                    Contains("rescale_action: the output is 2x2, the input 2x4"));
  CHECK_THROWS_WITH(normalize_observation(raw, short_bounds, var, 1e-8, 10.0, normalized),
                    Contains("normalize_observation: statistics over 1 and 2 features"));
}

TEST_CASE("Wrappers on the Wrapper base forward what they leave alone and pass check_env", "[wrappers]") {
  // A user's wrapper around a TimeLimit: spaces, reset(seed), the time limit and inner() forward.
  DoubleReward<TimeLimit<Pendulum<double>>> env(TimeLimit<Pendulum<double>>(Pendulum<double>{}, 7));
  Pendulum<double> raw;
  CHECK(env.observation_space().high == raw.observation_space().high);
  CHECK(env.action_space().low == raw.action_space().low);
  CHECK(max_episode_steps_of(env) == 7);
  const auto first = env.reset(std::uint64_t(5));
  Rng rng(5);
  CHECK(first == raw.reset(rng));
  const auto step = env.step(Pendulum<double>::Action::Constant(0.5));
  CHECK(step.reward == 2 * raw.step(Pendulum<double>::Action::Constant(0.5)).reward);
  CHECK(env.inner().elapsed_steps() == 1);

  // reset(seed) reaches the derived reset(Rng&): TimeLimit's counter and the recorder restart.
  TimeLimit<RecordEpisodeStatistics<CartPole<float>>> limited(RecordEpisodeStatistics(CartPole<float>{}), 50);
  limited.reset(std::uint64_t(1));
  limited.step(1);
  limited.step(1);
  CHECK(limited.elapsed_steps() == 2);
  CHECK(limited.inner().current_length() == 2);
  limited.reset(std::uint64_t(2));
  CHECK(limited.elapsed_steps() == 0);
  CHECK(limited.inner().current_length() == 0);

  // Checkpoint bytes: the wrapper's section, its fields, then the inner state.
  pgrad::Writer w;
  limited.save_state(w);
  pgrad::Writer expected;
  expected.section("TimeLimit");
  expected.i64(50);
  expected.i64(0);
  limited.inner().save_state(expected);
  CHECK(w.bytes() == expected.bytes());
  pgrad::Writer user;
  env.save_state(user);
  pgrad::Writer user_expected;
  user_expected.section("DoubleReward");
  env.inner().save_state(user_expected);
  CHECK(user.bytes() == user_expected.bytes());
  pgrad::Reader back(user.bytes());
  env.load_state(back);
  back.finish();

  // Every wrapper, alone and stacked, passes the environment checker.
  CHECK_NOTHROW(check_env(ClipAction<Pendulum<float>>(Pendulum<float>{}), 1));
  CHECK_NOTHROW(check_env(RescaleAction<Pendulum<float>>(Pendulum<float>{}), 2));
  CHECK_NOTHROW(check_env(NormalizeObservation<Pendulum<double>>(Pendulum<double>{}), 3));
  CHECK_NOTHROW(check_env(NormalizeReward<CartPole<float>>(CartPole<float>{}), 4));
  CHECK_NOTHROW(check_env(RecordEpisodeStatistics<CartPole<double>>(CartPole<double>{}), 5));
  CHECK_NOTHROW(check_env(TimeLimit<Pendulum<float>>(Pendulum<float>{}, 30), 6));
  CHECK_NOTHROW(
      check_env(DoubleReward<TimeLimit<CartPole<float>>>(TimeLimit<CartPole<float>>(CartPole<float>{}, 9)), 7));
  CHECK_NOTHROW(check_env(TimeLimit<NormalizeObservation<RescaleAction<Pendulum<float>>>>(
                              NormalizeObservation(RescaleAction(Pendulum<float>{})), 40),
                          8));
}
