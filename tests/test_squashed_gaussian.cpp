// SquashedDiagGaussian: log_prob with the stable log-determinant, the quadrature entropy against
// an independent integral, KL and Fisher metric, the loss gradient against finite differences in
// both log-std modes, sampling, stability at |u| = 20, bad input and allocation.

#include "eigen_no_malloc.hpp"  // first: it configures Eigen

#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/distributions/squashed_gaussian.hpp>

#include "distribution_check.hpp"
#include "gradient_check.hpp"

#include <cmath>
#include <limits>

using pgrad::Index;
using pgrad::Rng;
using pgrad::dist::DiagGaussian;
using pgrad::dist::SquashedDiagGaussian;
using Catch::Matchers::Contains;
using Flat = Eigen::Map<const Eigen::VectorXd>;

namespace {

constexpr Index kDim = 2, kBatch = 3;
const double kPi = std::acos(-1.0);

Eigen::MatrixXd test_mean() {
  Eigen::MatrixXd mu(kDim, kBatch);
  mu << 0.3, -1.2, 2.0,  //
      1.1, 0.4, -0.5;
  return mu;
}
Eigen::MatrixXd test_log_std() {
  Eigen::MatrixXd ls(kDim, kBatch);
  ls << 0.1, -0.3, 0.5,  //
      -1.0, 0.2, 0.3;
  return ls;
}
Eigen::MatrixXd test_actions() {  // pre-squash u
  Eigen::MatrixXd u(kDim, kBatch);
  u << 0.8, -1.0, 3.1,  //
      0.2, 1.9, -0.4;
  return u;
}

// E over u ~ N(mu, sigma²) of g(u) by the trapezoid rule on [-14, 14] in ξ with 280,001 points
// (independent of the library's Gauss–Hermite rule; error far below 1e-9 for these integrands).
template <class G>
double gaussian_expectation(double mu, double sigma, const G& g) {
  const int n = 280000;
  const double a = -14, h = 28.0 / n;
  double sum = 0;
  for (int k = 0; k <= n; ++k) {
    const double xi = a + k * h;
    const double weight = (k == 0 || k == n) ? 0.5 : 1.0;
    sum += weight * std::exp(-0.5 * xi * xi) * g(mu + sigma * xi);
  }
  return sum * h / std::sqrt(2 * kPi);
}

double log_det(double u) {  // log(1 − tanh² u) = −2 log cosh u, for moderate u
  return -2 * std::log(std::cosh(u));
}

struct Weights {
  Eigen::RowVectorXd w{(Eigen::RowVectorXd(kBatch) << 0.7, -1.3, 2.1).finished()};
  Eigen::RowVectorXd e{(Eigen::RowVectorXd(kBatch) << 0.05, 0.4, -0.2).finished()};
};

double loss(const SquashedDiagGaussian<double>& dist, const Weights& k) {
  Eigen::RowVectorXd lp, h;
  dist.log_prob(test_actions(), lp);
  dist.entropy(h);
  return k.w.dot(lp) + k.e.dot(h);
}

}  // namespace

TEST_CASE("squashed gaussian log_prob is the gaussian's minus the log-determinant", "[squashed_gaussian]") {
  // μ = (0.5, −1), σ = (1, 2), u = (0.3, 2): log N = −log(2π) − log 2 − (0.04 + 2.25)/2, minus
  // log(1 − tanh² 0.3) + log(1 − tanh² 2).
  Eigen::MatrixXd mu(2, 1), u(2, 1);
  mu << 0.5, -1;
  u << 0.3, 2;
  Eigen::VectorXd log_std(2);
  log_std << 0, std::log(2.0);
  SquashedDiagGaussian<double> dist;
  dist.set_state_independent(mu, log_std);
  Eigen::RowVectorXd lp;
  dist.log_prob(u, lp);
  const double gaussian = -std::log(2 * kPi) - std::log(2.0) - (0.04 + 2.25) / 2;
  const double t0 = std::tanh(0.3), t1 = std::tanh(2.0);
  CHECK(lp[0] == Approx(gaussian - std::log(1 - t0 * t0) - std::log(1 - t1 * t1)).epsilon(1e-14));

  // Change of variables: the density of a = tanh(u) integrates to 1 over (−1, 1) (midpoint rule in a).
  SquashedDiagGaussian<double> one;
  one.set_state_independent(Eigen::MatrixXd::Constant(1, 1, 0.4), Eigen::VectorXd::Constant(1, -0.2));
  const int n = 20000;
  Eigen::MatrixXd a_grid(1, 1), u_grid;
  double integral = 0;
  for (int k = 0; k < n; ++k) {
    a_grid(0, 0) = -1 + (k + 0.5) * 2.0 / n;
    SquashedDiagGaussian<double>::unsquash(a_grid, u_grid);
    one.log_prob(u_grid, lp);
    integral += std::exp(lp[0]) * 2.0 / n;
  }
  CHECK(integral == Approx(1.0).epsilon(1e-6));

  // squash and mode.
  Eigen::MatrixXd squashed, mode;
  SquashedDiagGaussian<double>::squash(u, squashed);
  CHECK(squashed(0, 0) == std::tanh(0.3));
  CHECK(squashed(1, 0) == std::tanh(2.0));
  dist.mode(mode);
  CHECK(mode == mu);
}

TEST_CASE("squashed gaussian log_prob is finite for u = +-20 in float and double", "[squashed_gaussian]") {
  Eigen::MatrixXd u(2, 1);
  u << 20, -20;
  SquashedDiagGaussian<double> d;
  d.set_state_independent(Eigen::MatrixXd::Zero(2, 1), Eigen::VectorXd::Constant(2, 2.5));
  Eigen::RowVectorXd lpd;
  d.log_prob(u, lpd);
  DiagGaussian<double> plain;
  plain.set_state_independent(Eigen::MatrixXd::Zero(2, 1), Eigen::VectorXd::Constant(2, 2.5));
  Eigen::RowVectorXd lpg;
  plain.log_prob(u, lpg);
  // log(1 − tanh² 20) = −40 + 2 log 2 + O(e^−40) on each dimension.
  CHECK(std::isfinite(lpd[0]));
  CHECK(lpd[0] == Approx(lpg[0] - 2 * (-40 + 2 * std::log(2.0))).epsilon(1e-14));
  SquashedDiagGaussian<float> f;
  f.set_state_independent(Eigen::MatrixXf::Zero(2, 1), Eigen::VectorXf::Constant(2, 2.5f));
  Eigen::RowVectorXf lpf;
  f.log_prob(u.cast<float>(), lpf);
  CHECK(std::isfinite(lpf[0]));
  CHECK(lpf[0] == Approx(lpd[0]).epsilon(1e-6));
  Eigen::MatrixXf gm, gs;
  f.loss_gradient(u.cast<float>(), Eigen::RowVectorXf::Ones(1), Eigen::RowVectorXf::Ones(1), gm, gs);
  CHECK(gm.allFinite());
  CHECK(gs.allFinite());
}

TEST_CASE("squashed gaussian entropy matches an independent integral", "[squashed_gaussian]") {
  for (const double mu : {0.0, 0.7, -2.0, 5.0})
    for (const double log_sigma : {-3.0, -1.0, 0.0}) {
      CAPTURE(mu, log_sigma);
      const double sigma = std::exp(log_sigma);
      SquashedDiagGaussian<double> dist;
      dist.set_state_dependent(Eigen::MatrixXd::Constant(1, 1, mu), Eigen::MatrixXd::Constant(1, 1, log_sigma));
      Eigen::RowVectorXd h;
      dist.entropy(h);
      const double expected = log_sigma + 0.5 * (1 + std::log(2 * kPi)) + gaussian_expectation(mu, sigma, log_det);
      // Documented quadrature error below 1e-7 for σ ≤ 1.
      CHECK(std::abs(h[0] - expected) < 1e-7);
    }
  // Unlike the Gaussian's, the squashed entropy peaks at a finite σ: mass piles up at ±1 beyond it.
  SquashedDiagGaussian<double> dist;
  Eigen::RowVectorXd h_mid, h_wide;
  dist.set_state_dependent(Eigen::MatrixXd::Zero(1, 1), Eigen::MatrixXd::Constant(1, 1, 0.0));
  dist.entropy(h_mid);
  dist.set_state_dependent(Eigen::MatrixXd::Zero(1, 1), Eigen::MatrixXd::Constant(1, 1, 1.5));
  dist.entropy(h_wide);
  CHECK(h_wide[0] < h_mid[0]);
  // And it never exceeds log 2 per dimension (the uniform distribution on (−1, 1)).
  CHECK(h_mid[0] < std::log(2.0));
}

TEST_CASE("squashed gaussian loss gradient matches finite differences with state-dependent log-std",
          "[squashed_gaussian]") {
  const Weights k;
  const Eigen::MatrixXd mu = test_mean(), log_std = test_log_std();
  SquashedDiagGaussian<double> dist;
  dist.set_state_dependent(mu, log_std);
  Eigen::MatrixXd grad_mean, grad_log_std;
  dist.loss_gradient(test_actions(), k.w, k.e, grad_mean, grad_log_std);
  const auto f_mean = [&](const Eigen::VectorXd& flat) {
    SquashedDiagGaussian<double> d;
    d.set_state_dependent(Eigen::Map<const Eigen::MatrixXd>(flat.data(), kDim, kBatch), log_std);
    return loss(d, k);
  };
  const auto f_log_std = [&](const Eigen::VectorXd& flat) {
    SquashedDiagGaussian<double> d;
    d.set_state_dependent(mu, Eigen::Map<const Eigen::MatrixXd>(flat.data(), kDim, kBatch));
    return loss(d, k);
  };
  CHECK(pgrad_test::relative_error(Flat(grad_mean.data(), grad_mean.size()),
                                   pgrad_test::numerical_gradient(f_mean, Flat(mu.data(), mu.size()))) <= 1e-6);
  CHECK(pgrad_test::relative_error(Flat(grad_log_std.data(), grad_log_std.size()),
                                   pgrad_test::numerical_gradient(f_log_std, Flat(log_std.data(), log_std.size()))) <=
        1e-6);
  // The entropy term alone has a mean gradient (the log-determinant depends on μ), unlike the Gaussian's.
  dist.loss_gradient(test_actions(), Eigen::RowVectorXd::Zero(kBatch), Eigen::RowVectorXd::Ones(kBatch), grad_mean,
                     grad_log_std);
  CHECK(grad_mean.cwiseAbs().minCoeff() > 1e-3);
}

TEST_CASE("squashed gaussian loss gradient matches finite differences with state-independent log-std",
          "[squashed_gaussian]") {
  const Weights k;
  Eigen::VectorXd log_std(kDim);
  log_std << 0.2, -0.6;
  const Eigen::MatrixXd mu = test_mean();
  SquashedDiagGaussian<float> fdist;  // float runs too
  fdist.set_state_independent(mu.cast<float>(), log_std.cast<float>());
  SquashedDiagGaussian<double> dist;
  dist.set_state_independent(mu, log_std);
  Eigen::MatrixXd grad_mean, grad_log_std;
  dist.loss_gradient(test_actions(), k.w, k.e, grad_mean, grad_log_std);
  const auto f_log_std = [&](const Eigen::VectorXd& v) {
    SquashedDiagGaussian<double> d;
    d.set_state_independent(mu, v);
    return loss(d, k);
  };
  const Eigen::VectorXd summed = grad_log_std.rowwise().sum();
  CHECK(pgrad_test::relative_error(summed, pgrad_test::numerical_gradient(f_log_std, log_std)) <= 1e-6);
  Eigen::MatrixXf fgm, fgs;
  fdist.loss_gradient(test_actions().cast<float>(), k.w.cast<float>(), k.e.cast<float>(), fgm, fgs);
  CHECK(pgrad_test::relative_error(fgm.cast<double>(), grad_mean) < 1e-5);
  CHECK(pgrad_test::relative_error(fgs.cast<double>(), grad_log_std) < 1e-5);
}

TEST_CASE("squashed gaussian KL is the gaussians' and fisher_product is its Hessian", "[squashed_gaussian]") {
  const Eigen::MatrixXd mu = test_mean(), log_std = test_log_std();
  SquashedDiagGaussian<double> p, q;
  p.set_state_dependent(mu, log_std);
  q.set_state_dependent(mu.reverse(), log_std.reverse());
  DiagGaussian<double> gp, gq;
  gp.set_state_dependent(mu, log_std);
  gq.set_state_dependent(mu.reverse(), log_std.reverse());
  Eigen::RowVectorXd kl, expected;
  p.kl(q, kl);
  gp.kl(gq, expected);
  CHECK(kl == expected);
  p.kl(p, kl);
  CHECK(kl.cwiseAbs().maxCoeff() == 0.0);

  // The Hessian of Σ_j KL(p || π) in (μ, log σ) at p's own parameters.
  const Index n = kDim * kBatch;
  Eigen::VectorXd x0(2 * n);
  x0 << Flat(mu.data(), n), Flat(log_std.data(), n);
  const auto kl_sum = [&](const Eigen::VectorXd& x) {
    SquashedDiagGaussian<double> moved;
    moved.set_state_dependent(Eigen::Map<const Eigen::MatrixXd>(x.data(), kDim, kBatch),
                              Eigen::Map<const Eigen::MatrixXd>(x.data() + n, kDim, kBatch));
    Eigen::RowVectorXd out;
    p.kl(moved, out);
    return out.sum();
  };
  const Eigen::MatrixXd hessian = pgrad_test::numerical_hessian(kl_sum, x0);
  Rng rng(31);
  const Eigen::MatrixXd v = pgrad_test::random_matrix(kDim, kBatch, rng), s = pgrad_test::random_matrix(kDim, kBatch, rng);
  Eigen::VectorXd tangent(2 * n);
  tangent << Flat(v.data(), n), Flat(s.data(), n);
  const Eigen::VectorXd expected_product = hessian * tangent;
  Eigen::MatrixXd fv;
  p.fisher_product(v, fv);
  Eigen::VectorXd product(2 * n);
  product << Flat(fv.data(), n), SquashedDiagGaussian<double>::log_std_fisher * Flat(s.data(), n);
  CHECK(pgrad_test::relative_error(product, expected_product) <= 1e-6);
}

TEST_CASE("squashed gaussian samples are the gaussian's u, squash into (-1, 1) with the right mean",
          "[squashed_gaussian]") {
  const Index n = 100000;
  Eigen::VectorXf mu(2), log_std(2);
  mu << 0.5f, -1.0f;
  log_std << std::log(0.5f), std::log(1.5f);
  SquashedDiagGaussian<float> dist;
  DiagGaussian<float> plain;
  dist.set_state_independent(mu.replicate(1, n), log_std);
  plain.set_state_independent(mu.replicate(1, n), log_std);
  Rng rng(99), same(99);
  Eigen::MatrixXf u, u_plain, a;
  dist.sample(rng, u);
  plain.sample(same, u_plain);
  CHECK(u == u_plain);
  SquashedDiagGaussian<float>::squash(u, a);
  CHECK(a.cwiseAbs().maxCoeff() <= 1.0f);
  for (Index i = 0; i < 2; ++i) {
    const double sigma = std::exp(double(log_std[i]));
    const double mean_a = gaussian_expectation(mu[i], sigma, [](double x) { return std::tanh(x); });
    const double var_a =
        gaussian_expectation(mu[i], sigma, [](double x) { return std::tanh(x) * std::tanh(x); }) - mean_a * mean_a;
    const double sample_mean = a.row(i).cast<double>().mean();
    CHECK(std::abs(sample_mean - mean_a) < 4 * std::sqrt(var_a / n));
  }
  Eigen::RowVectorXf lp;
  dist.log_prob(u, lp);
  CHECK(lp.allFinite());
}

TEST_CASE("squashed gaussian rejects bad input with a message naming the problem", "[squashed_gaussian]") {
  SquashedDiagGaussian<double> dist;
  Eigen::RowVectorXd out;
  Eigen::MatrixXd gm, gs, x;
  CHECK_THROWS_WITH(dist.set_state_independent(test_mean(), Eigen::VectorXd::Zero(3)),
                    Contains("log_std has 3 entries but the mean has 2 rows"));
  CHECK_THROWS_WITH(dist.set_state_dependent(test_mean(), Eigen::MatrixXd::Zero(2, 5)),
                    Contains("log_std (shape of the mean): expected 2x3, got 2x5"));
  dist.set_state_dependent(test_mean(), test_log_std());
  CHECK_THROWS_WITH(dist.log_prob(Eigen::MatrixXd::Zero(2, 4), out), Contains("actions are 2x4 but the distribution is 2x3"));
  CHECK_THROWS_WITH(dist.loss_gradient(test_actions(), Eigen::RowVectorXd::Ones(2), Eigen::RowVectorXd::Ones(3), gm, gs),
                    Contains("log_prob_weight has 2 entries but the distribution has batch size 3"));
  CHECK_THROWS_WITH(dist.fisher_product(Eigen::MatrixXd::Zero(2, 2), gm), Contains("tangent is 2x2"));
  SquashedDiagGaussian<double> other;
  other.set_state_independent(Eigen::MatrixXd::Zero(2, 1), Eigen::VectorXd::Zero(2));
  CHECK_THROWS_WITH(dist.kl(other, out), Contains("other has 2x1 means, this has 2x3"));
  Eigen::MatrixXd a(1, 2);
  a << 0.5, 1.0;
  CHECK_THROWS_WITH(SquashedDiagGaussian<double>::unsquash(a, x),
                    Contains("action 1 at row 0, column 1 is outside the open interval (-1, 1)"));
  if (pgrad::checks_enabled()) {
    Eigen::MatrixXd bad = test_actions();
    bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(dist.log_prob(bad, out), Contains("actions: non-finite value nan at row 1, column 1"));
    bad = test_mean();
    bad(0, 2) = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(dist.set_state_dependent(bad, test_log_std()), Contains("mean: non-finite value inf at row 0, column 2"));
  }
}

TEST_CASE("squashed gaussian calls allocate nothing once the batch size is fixed", "[squashed_gaussian]") {
  const Eigen::MatrixXf mean = Eigen::MatrixXf::Random(3, 64), log_std_head = 0.1f * Eigen::MatrixXf::Random(3, 64);
  const Eigen::VectorXf log_std = Eigen::VectorXf::Constant(3, -0.5f);
  const Eigen::RowVectorXf w = Eigen::RowVectorXf::Ones(64), e = Eigen::RowVectorXf::Constant(64, 0.01f);
  SquashedDiagGaussian<float> dist, other;
  other.set_state_dependent(mean, log_std_head);
  Eigen::MatrixXf actions, squashed, gm, gs, fv;
  Eigen::RowVectorXf lp, h, kl;
  Rng rng(3);
  for (int round = 0; round < 3; ++round) {
    Eigen::internal::set_is_malloc_allowed(round > 0 ? false : true);
    dist.set_state_independent(mean, log_std);
    dist.sample(rng, actions);
    SquashedDiagGaussian<float>::squash(actions, squashed);
    dist.log_prob(actions, lp);
    dist.entropy(h);
    dist.kl(other, kl);
    dist.loss_gradient(actions, w, e, gm, gs);
    dist.fisher_product(mean, fv);
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
