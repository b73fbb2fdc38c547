// DiagGaussian: log_prob, entropy and KL against closed forms, sampling moments, and the
// closed-form loss gradient for both log-std modes.

#include "eigen_no_malloc.hpp"  // first: it configures Eigen

#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/distributions/diag_gaussian.hpp>

#include "gradient_check.hpp"

#include <cmath>
#include <limits>

using pgrad::Index;
using pgrad::Rng;
using pgrad::dist::DiagGaussian;
using Catch::Matchers::Contains;

namespace {

constexpr Index kDim = 3, kBatch = 4;
const double kPi = std::acos(-1.0);

Eigen::MatrixXd test_mean() {
  Eigen::MatrixXd mu(kDim, kBatch);
  mu << 0.3, -1.2, 2.0, 0.0,  //
      1.1, 0.4, -0.5, 0.7,    //
      -0.7, 0.9, 0.1, -0.2;
  return mu;
}

Eigen::MatrixXd test_actions() {
  Eigen::MatrixXd a(kDim, kBatch);
  a << 0.8, -1.0, 1.1, 0.5,  //
      0.2, 1.9, -0.4, 0.0,   //
      -0.1, 0.3, 0.6, -1.5;
  return a;
}

struct Weights {
  Eigen::RowVectorXd w{(Eigen::RowVectorXd(kBatch) << 0.7, -1.3, 2.1, 0.4).finished()};
  Eigen::RowVectorXd e{(Eigen::RowVectorXd(kBatch) << 0.05, 0.4, -0.2, 1.0).finished()};
};

double loss(const DiagGaussian<double>& dist, const Weights& k) {
  Eigen::RowVectorXd lp, h;
  dist.log_prob(test_actions(), lp);
  dist.entropy(h);
  return k.w.dot(lp) + k.e.dot(h);
}

using Flat = Eigen::Map<const Eigen::VectorXd>;

}  // namespace

TEST_CASE("gaussian log_prob and entropy match the textbook formulas", "[diag_gaussian]") {
  // mu = (1, -2), sigma = (1, 2), a = (1.5, 1): z = (0.5, 1.5).
  // log p = -log(2 pi) - log 2 - (0.25 + 2.25) / 2 = -3.7810242469692907
  // H = log(2 pi e) + log 2 = 3.5310242469692907
  Eigen::MatrixXd mu(2, 1), a(2, 1);
  mu << 1, -2;
  a << 1.5, 1;
  Eigen::VectorXd log_std(2);
  log_std << 0, std::log(2.0);
  DiagGaussian<double> dist;
  dist.set_state_independent(mu, log_std);
  Eigen::RowVectorXd lp, h;
  dist.log_prob(a, lp);
  dist.entropy(h);
  CHECK(lp[0] == Approx(-3.7810242469692907).epsilon(1e-14));
  CHECK(h[0] == Approx(3.5310242469692907).epsilon(1e-14));

  // Float, state-dependent, against the per-dimension formula -(a-mu)^2/(2 s^2) - log(s sqrt(2 pi)).
  DiagGaussian<float> fdist;
  const Eigen::MatrixXf mean = test_mean().cast<float>(), actions = test_actions().cast<float>();
  Eigen::MatrixXf ls(kDim, kBatch);
  ls << 0.1f, -0.3f, 0.5f, 0.0f, -1.0f, 0.2f, 0.3f, 0.4f, 0.0f, -0.5f, 0.7f, 0.25f;
  fdist.set_state_dependent(mean, ls);
  Eigen::RowVectorXf flp, fh;
  fdist.log_prob(actions, flp);
  fdist.entropy(fh);
  for (Index j = 0; j < kBatch; ++j) {
    double expected_lp = 0, expected_h = 0;
    for (Index i = 0; i < kDim; ++i) {
      const double s = std::exp(double(ls(i, j))), d = double(actions(i, j)) - double(mean(i, j));
      expected_lp += -d * d / (2 * s * s) - std::log(s * std::sqrt(2 * kPi));
      expected_h += 0.5 * (std::log(2 * kPi * s * s) + 1);
    }
    CHECK(flp[j] == Approx(expected_lp).epsilon(1e-5));
    CHECK(fh[j] == Approx(expected_h).epsilon(1e-5));
  }
  Eigen::MatrixXf m;
  fdist.mode(m);
  CHECK(m == mean);
}

TEST_CASE("gaussian KL is zero for equal distributions and matches a hand-computed pair", "[diag_gaussian]") {
  // p = N(0, 1), q = N(1, 2^2): KL = log 2 + (1 + 1) / 8 - 1/2 = 0.4431471805599453 per dimension.
  DiagGaussian<double> p, q;
  p.set_state_independent(Eigen::MatrixXd::Zero(2, 3), Eigen::VectorXd::Zero(2));
  q.set_state_dependent(Eigen::MatrixXd::Ones(2, 3), Eigen::MatrixXd::Constant(2, 3, std::log(2.0)));
  Eigen::RowVectorXd kl;
  p.kl(p, kl);
  CHECK(kl.cwiseAbs().maxCoeff() == 0.0);
  q.kl(q, kl);
  CHECK(kl.cwiseAbs().maxCoeff() == 0.0);
  p.kl(q, kl);
  for (Index j = 0; j < 3; ++j) CHECK(kl[j] == Approx(2 * 0.4431471805599453).epsilon(1e-14));
  // KL(q || p) = log(1/2) + (4 + 1) / 2 - 1/2 = 2 - log 2 per dimension.
  q.kl(p, kl);
  CHECK(kl[0] == Approx(2 * (2 - std::log(2.0))).epsilon(1e-14));
}

TEST_CASE("gaussian loss gradient matches finite differences with state-independent log-std", "[diag_gaussian]") {
  const Weights k;
  Eigen::VectorXd log_std(kDim);
  log_std << 0.2, -0.6, 0.45;
  DiagGaussian<double> dist;
  dist.set_state_independent(test_mean(), log_std);
  Eigen::MatrixXd grad_mean, grad_log_std;
  dist.loss_gradient(test_actions(), k.w, k.e, grad_mean, grad_log_std);
  REQUIRE(grad_log_std.rows() == kDim);
  REQUIRE(grad_log_std.cols() == kBatch);

  const auto f_mean = [&](const Eigen::VectorXd& flat) {
    DiagGaussian<double> d;
    d.set_state_independent(Eigen::Map<const Eigen::MatrixXd>(flat.data(), kDim, kBatch), log_std);
    return loss(d, k);
  };
  const Eigen::MatrixXd mu = test_mean();
  const Eigen::VectorXd numeric_mean = pgrad_test::numerical_gradient(f_mean, Flat(mu.data(), mu.size()));
  CHECK(pgrad_test::relative_error(Flat(grad_mean.data(), grad_mean.size()), numeric_mean) <= 1e-6);

  // The shared parameter vector gets the sum over the batch.
  const auto f_log_std = [&](const Eigen::VectorXd& v) {
    DiagGaussian<double> d;
    d.set_state_independent(mu, v);
    return loss(d, k);
  };
  const Eigen::VectorXd numeric_log_std = pgrad_test::numerical_gradient(f_log_std, log_std);
  const Eigen::VectorXd summed = grad_log_std.rowwise().sum();
  CHECK(pgrad_test::relative_error(summed, numeric_log_std) <= 1e-6);
}

TEST_CASE("gaussian loss gradient matches finite differences with state-dependent log-std", "[diag_gaussian]") {
  const Weights k;
  Eigen::MatrixXd log_std(kDim, kBatch);
  log_std << 0.1, -0.3, 0.5, 0.0, -1.0, 0.2, 0.3, 0.4, 0.0, -0.5, 0.7, 0.25;
  const Eigen::MatrixXd mu = test_mean();
  DiagGaussian<double> dist;
  dist.set_state_dependent(mu, log_std);
  Eigen::MatrixXd grad_mean, grad_log_std;
  dist.loss_gradient(test_actions(), k.w, k.e, grad_mean, grad_log_std);

  const auto f_mean = [&](const Eigen::VectorXd& flat) {
    DiagGaussian<double> d;
    d.set_state_dependent(Eigen::Map<const Eigen::MatrixXd>(flat.data(), kDim, kBatch), log_std);
    return loss(d, k);
  };
  const auto f_log_std = [&](const Eigen::VectorXd& flat) {
    DiagGaussian<double> d;
    d.set_state_dependent(mu, Eigen::Map<const Eigen::MatrixXd>(flat.data(), kDim, kBatch));
    return loss(d, k);
  };
  const Eigen::VectorXd numeric_mean = pgrad_test::numerical_gradient(f_mean, Flat(mu.data(), mu.size()));
  const Eigen::VectorXd numeric_log_std =
      pgrad_test::numerical_gradient(f_log_std, Flat(log_std.data(), log_std.size()));
  CHECK(pgrad_test::relative_error(Flat(grad_mean.data(), grad_mean.size()), numeric_mean) <= 1e-6);
  CHECK(pgrad_test::relative_error(Flat(grad_log_std.data(), grad_log_std.size()), numeric_log_std) <= 1e-6);

  // Entropy alone: dH/dlog_std = 1, dH/dmean = 0.
  dist.loss_gradient(test_actions(), Eigen::RowVectorXd::Zero(kBatch), Eigen::RowVectorXd::Ones(kBatch),
                     grad_mean, grad_log_std);
  CHECK(grad_mean.cwiseAbs().maxCoeff() == 0.0);
  CHECK((grad_log_std.array() == 1.0).all());
}

TEST_CASE("gaussian samples have the right mean and std and are reproducible", "[diag_gaussian]") {
  const Index n = 100000;
  Eigen::VectorXf mu(2), log_std(2);
  mu << 1.5f, -3.0f;
  log_std << std::log(0.5f), std::log(2.0f);
  DiagGaussian<float> dist;
  dist.set_state_independent(mu.replicate(1, n), log_std);
  Rng rng(99);
  Eigen::MatrixXf a;
  dist.sample(rng, a);
  REQUIRE(a.rows() == 2);
  REQUIRE(a.cols() == n);
  const Eigen::MatrixXd x = a.cast<double>();
  for (Index i = 0; i < 2; ++i) {
    const double sigma = std::exp(double(log_std[i]));
    const double mean = x.row(i).mean();
    const double stddev = std::sqrt((x.row(i).array() - mean).square().sum() / (n - 1));
    CHECK(std::abs(mean - mu[i]) < 4 * sigma / std::sqrt(double(n)));
    CHECK(std::abs(stddev - sigma) < 4 * sigma / std::sqrt(2.0 * n));
  }

  Rng a1(5), a2(5), a3(6);
  Eigen::MatrixXf s1, s2, s3;
  DiagGaussian<float> small;
  small.set_state_dependent(Eigen::MatrixXf::Zero(3, 10), Eigen::MatrixXf::Zero(3, 10));
  small.sample(a1, s1);
  small.sample(a2, s2);
  small.sample(a3, s3);
  CHECK(s1 == s2);
  CHECK(s1 != s3);
  // Column-major draw order: entry (i, j) is normal draw number j * dim + i.
  Rng manual(5);
  for (Index j = 0; j < 10; ++j)
    for (Index i = 0; i < 3; ++i) CHECK(s1(i, j) == manual.normal<float>());
}

TEST_CASE("gaussian rejects bad input with a message naming the problem", "[diag_gaussian]") {
  DiagGaussian<double> dist;
  Eigen::RowVectorXd out;
  Eigen::MatrixXd gm, gs;
  CHECK_THROWS_WITH(dist.set_state_independent(test_mean(), Eigen::VectorXd::Zero(2)),
                    Contains("log_std has 2 entries but the mean has 3 rows"));
  CHECK_THROWS_WITH(dist.set_state_dependent(test_mean(), Eigen::MatrixXd::Zero(3, 5)),
                    Contains("log_std (shape of the mean): expected 3x4, got 3x5"));
  dist.set_state_independent(test_mean(), Eigen::VectorXd::Zero(3));
  CHECK_THROWS_WITH(dist.log_prob(Eigen::MatrixXd::Zero(3, 5), out),
                    Contains("actions are 3x5 but the distribution is 3x4"));
  CHECK_THROWS_WITH(dist.loss_gradient(test_actions(), Eigen::RowVectorXd::Ones(2), Eigen::RowVectorXd::Ones(4), gm, gs),
                    Contains("log_prob_weight has 2 entries but the distribution has batch size 4"));
  DiagGaussian<double> other;
  other.set_state_independent(Eigen::MatrixXd::Zero(3, 2), Eigen::VectorXd::Zero(3));
  CHECK_THROWS_WITH(dist.kl(other, out), Contains("other has 3x2 means, this has 3x4"));
  if (pgrad::checks_enabled()) {
    Eigen::MatrixXd bad = test_mean();
    bad(1, 2) = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(dist.set_state_independent(bad, Eigen::VectorXd::Zero(3)),
                      Contains("mean: non-finite value inf at row 1, column 2"));
    CHECK_THROWS_WITH(dist.set_state_independent(test_mean(), Eigen::VectorXd::Constant(3, 800.0)),
                      Contains("log_std out of range"));
  }
}

TEST_CASE("gaussian calls allocate nothing once the batch size is fixed", "[diag_gaussian]") {
  const Eigen::MatrixXf mean = Eigen::MatrixXf::Random(3, 64), log_std_head = 0.1f * Eigen::MatrixXf::Random(3, 64);
  const Eigen::VectorXf log_std = Eigen::VectorXf::Constant(3, -0.5f);
  const Eigen::RowVectorXf w = Eigen::RowVectorXf::Ones(64), e = Eigen::RowVectorXf::Constant(64, 0.01f);
  DiagGaussian<float> dist, other;
  other.set_state_dependent(mean, log_std_head);
  Eigen::MatrixXf actions, gm, gs;
  Eigen::RowVectorXf lp, h, kl;
  Rng rng(3);
  for (int round = 0; round < 3; ++round) {
    Eigen::internal::set_is_malloc_allowed(round > 0 ? false : true);
    dist.set_state_independent(mean, log_std);
    dist.sample(rng, actions);
    dist.log_prob(actions, lp);
    dist.entropy(h);
    dist.kl(other, kl);
    dist.loss_gradient(actions, w, e, gm, gs);
    dist.set_state_dependent(mean, log_std_head);
    dist.mode(actions);
    dist.loss_gradient(actions, w, e, gm, gs);
    Eigen::internal::set_is_malloc_allowed(true);
  }
  CHECK(gs.allFinite());
  Eigen::internal::set_is_malloc_allowed(false);
  CHECK_THROWS(Eigen::MatrixXf(100, 100));
  Eigen::internal::set_is_malloc_allowed(true);
}

namespace {
// The distribution's outputs as whole-matrix Eigen expressions (the library's previous
// implementation): the loops must give exactly these numbers.
template <class S>
struct ExpressionGaussian {
  using M = pgrad::Matrix<S>;
  using R = pgrad::RowVector<S>;
  M mean, log_std, std;
  ExpressionGaussian(const M& mu, const pgrad::Vector<S>& ls) : mean(mu), log_std(mu.rows(), mu.cols()) {
    log_std.colwise() = ls;
    std = log_std;
    pgrad::dist::detail::exp_in_place(std);  // batch-independent, as the distribution
  }
  static S log_two_pi() { return S(1.8378770664093454835606594728112); }
  void sample(Rng& rng, M& actions) const {
    actions.resize(mean.rows(), mean.cols());
    for (Index i = 0; i < actions.size(); ++i) actions.data()[i] = rng.normal<S>();
    actions.array() = mean.array() + std.array() * actions.array();
  }
  void log_prob(const pgrad::MatrixCRef<S>& actions, R& out) const {
    out.resize(mean.cols());
    out.array() = (S(-0.5) * ((actions - mean).array() / std.array()).square() - log_std.array()).colwise().sum() -
                  S(0.5) * S(mean.rows()) * log_two_pi();
  }
  void entropy(R& out) const {
    out.resize(log_std.cols());
    const S constant = S(0.5) * S(mean.rows()) * (S(1) + log_two_pi());  // as the library: not fused
    for (Index j = 0; j < log_std.cols(); ++j) {  // each column summed from a packet's start
      const pgrad::Vector<S> column = log_std.col(j);
      out[j] = column.sum() + constant;
    }
  }
  void loss_gradient(const pgrad::MatrixCRef<S>& actions, const R& log_prob_weight, const R& entropy_weight,
                     M& grad_mean, M& grad_log_std) const {
    const auto w = log_prob_weight.array();
    grad_mean.resize(mean.rows(), mean.cols());
    grad_mean.array() = (actions - mean).array() / std.array();
    grad_log_std.resize(mean.rows(), mean.cols());
    grad_log_std.array() = ((grad_mean.array().square() - S(1)).rowwise() * w).rowwise() + entropy_weight.array();
    grad_mean.array() = (grad_mean.array() / std.array()).rowwise() * w;
  }
};

template <class S>
void check_gaussian_matches_expressions() {
  Rng data_rng(8);
  for (const Index dim : {1, 2, 3, 5, 6, 8, 15, 16, 17, 24, 31, 32, 33, 40, 64, 67}) {
    for (const Index batch : {1, 3, 64, 101}) {
      CAPTURE(dim, batch);
      pgrad::Matrix<S> mean(dim, batch);
      pgrad::Vector<S> log_std(dim);
      for (Index i = 0; i < mean.size(); ++i) mean.data()[i] = data_rng.normal<S>();
      for (Index i = 0; i < dim; ++i) log_std[i] = S(0.5) * data_rng.normal<S>();
      DiagGaussian<S> dist;
      dist.set_state_independent(mean, log_std);
      const ExpressionGaussian<S> expected(mean, log_std);
      CHECK(dist.log_std() == expected.log_std);
      CHECK(dist.stddev() == expected.std);

      Rng rng(3), expected_rng(3);
      pgrad::Matrix<S> actions, expected_actions;
      dist.sample(rng, actions);
      expected.sample(expected_rng, expected_actions);
      CHECK(actions == expected_actions);

      // Actions read through an outer stride (a block of a taller matrix), as from a rollout buffer.
      pgrad::Matrix<S> taller = pgrad::Matrix<S>::Zero(dim + 3, batch);
      taller.topRows(dim) = actions;
      const pgrad::MatrixCRef<S> strided = taller.topRows(dim);
      pgrad::RowVector<S> lp, expected_lp, h, expected_h;
      dist.log_prob(strided, lp);
      expected.log_prob(strided, expected_lp);
      CHECK(lp == expected_lp);
      dist.entropy(h);
      expected.entropy(expected_h);
      CHECK(h == expected_h);

      pgrad::RowVector<S> w(batch), e(batch);
      for (Index j = 0; j < batch; ++j) {
        w[j] = data_rng.normal<S>();
        e[j] = S(0.01) * data_rng.normal<S>();
      }
      pgrad::Matrix<S> gm, gls, expected_gm, expected_gls;
      dist.loss_gradient(strided, w, e, gm, gls);
      expected.loss_gradient(strided, w, e, expected_gm, expected_gls);
      CHECK(gm == expected_gm);
      CHECK(gls == expected_gls);
    }
  }
}
}  // namespace

TEST_CASE("gaussian outputs equal the whole-matrix Eigen expressions bit for bit", "[diag_gaussian]") {
  check_gaussian_matches_expressions<float>();
  check_gaussian_matches_expressions<double>();
}

namespace {
// Each sample of a batch of every width from 1 to 40 has the bits it has alone, with a shared
// log-std and with a state-dependent one.
template <class S>
void check_gaussian_batch_independent() {
  Rng rng(8);
  for (const Index dim : {1, 3, 6, 17}) {  // 17: whole packets and a rest on every instruction set
    pgrad::Matrix<S> mean(dim, 40), log_std(dim, 40), actions(dim, 40);
    for (pgrad::Matrix<S>* m : {&mean, &log_std, &actions})
      for (Index i = 0; i < m->size(); ++i) m->data()[i] = S(0.7) * rng.normal<S>();
    const pgrad::Vector<S> shared = log_std.col(0);
    DiagGaussian<S> alone, batched;
    pgrad::RowVector<S> lp_alone, lp_batched, h_alone, h_batched;
    for (const bool state_dependent : {false, true})
      for (Index width = 1; width <= 40; ++width) {
        if (state_dependent)
          batched.set_state_dependent(mean.leftCols(width), log_std.leftCols(width));
        else
          batched.set_state_independent(mean.leftCols(width), shared);
        batched.log_prob(actions.leftCols(width), lp_batched);
        batched.entropy(h_batched);
        for (Index j = 0; j < width; ++j) {
          CAPTURE(dim, state_dependent, width, j);
          if (state_dependent)
            alone.set_state_dependent(mean.col(j), log_std.col(j));
          else
            alone.set_state_independent(mean.col(j), shared);
          alone.log_prob(actions.col(j), lp_alone);
          alone.entropy(h_alone);
          CHECK(alone.stddev() == batched.stddev().col(j));
          CHECK(lp_alone[0] == lp_batched[j]);
          CHECK(h_alone[0] == h_batched[j]);
        }
      }
  }
}
}  // namespace

TEST_CASE("a sample's gaussian has the same bits in any batch", "[diag_gaussian]") {
  check_gaussian_batch_independent<float>();
  check_gaussian_batch_independent<double>();
}
