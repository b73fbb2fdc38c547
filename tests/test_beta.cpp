// Beta: log_prob, entropy and KL against high-precision values, the loss gradient against finite
// differences, the Fisher metric against the Hessian of the KL, Gamma and Beta sampling moments,
// the action-box map, bad input and allocation.

#include "eigen_no_malloc.hpp"  // first: it configures Eigen

#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/distributions/beta.hpp>

#include "distribution_check.hpp"
#include "gradient_check.hpp"

#include <cmath>
#include <limits>

using pgrad::Index;
using pgrad::Rng;
using pgrad::dist::Beta;
using Catch::Matchers::Contains;
using Flat = Eigen::Map<const Eigen::VectorXd>;

namespace {

constexpr Index kDim = 2, kBatch = 3;

// The head value giving α = 1 + softplus(x) = target.
double head_for(double target) { return std::log(std::expm1(target - 1)); }

Eigen::MatrixXd test_heads() {
  Eigen::MatrixXd h(2 * kDim, kBatch);
  h << 0.3, -1.2, 2.0,  // x_alpha, dimension 0
      1.1, 0.4, -0.5,   // x_alpha, dimension 1
      -0.7, 0.9, 0.1,   // x_beta, dimension 0
      0.2, -2.3, 1.4;   // x_beta, dimension 1
  return h;
}

Eigen::MatrixXd test_actions() {
  Eigen::MatrixXd x(kDim, kBatch);
  x << 0.3, 0.82, 0.05,  //
      0.55, 0.991, 0.4;
  return x;
}

double loss(const Eigen::MatrixXd& heads, const Eigen::RowVectorXd& w, const Eigen::RowVectorXd& e) {
  Beta<double> dist;
  dist.set_heads(heads);
  Eigen::RowVectorXd lp, h;
  dist.log_prob(test_actions(), lp);
  dist.entropy(h);
  return w.dot(lp) + e.dot(h);
}

// Sample mean and variance of a row, and the standard errors 4σ/√n and 4·sd(s²) (the latter from
// the sample's own fourth central moment, var(s²) ≈ (m4 − s⁴)/n).
struct Moments {
  double mean, variance, mean_tolerance, variance_tolerance;
};
Moments moments(const Eigen::ArrayXd& x) {
  const double n = double(x.size()), mean = x.mean();
  const double variance = (x - mean).square().sum() / (n - 1), m4 = (x - mean).square().square().mean();
  return {mean, variance, 4 * std::sqrt(variance / n), 4 * std::sqrt((m4 - variance * variance) / n)};
}

}  // namespace

TEST_CASE("beta log_prob, entropy and KL match high-precision values", "[beta]") {
  // p: α = 2.5, β = 1.5; q: α = 1.2, β = 3 (values from mpmath at 30 digits, integrals checked by
  // quadrature).
  Eigen::MatrixXd hp(2, 1), hq(2, 1);
  hp << head_for(2.5), head_for(1.5);
  hq << head_for(1.2), head_for(3.0);
  Beta<double> p, q;
  p.set_heads(hp);
  q.set_heads(hq);
  CHECK(p.action_dim() == 1);
  CHECK(p.batch_size() == 1);
  CHECK(p.alpha()(0, 0) == Approx(2.5).epsilon(1e-14));
  CHECK(p.beta()(0, 0) == Approx(1.5).epsilon(1e-14));
  Eigen::RowVectorXd lp, h, kl;
  p.log_prob(Eigen::MatrixXd::Constant(1, 1, 0.3), lp);
  p.entropy(h);
  p.kl(q, kl);
  CHECK(lp[0] == Approx(-0.35643784206788911486).epsilon(1e-12));
  CHECK(h[0] == Approx(-0.18860344748393315919).epsilon(1e-12));
  CHECK(kl[0] == Approx(1.2976684955437322178).epsilon(1e-12));
  p.kl(p, kl);
  CHECK(std::abs(kl[0]) < 1e-15);

  // α = β = 1 is the uniform distribution: log p = 0 and H = 0 (heads far negative).
  Beta<double> uniform;
  uniform.set_heads(Eigen::MatrixXd::Constant(2, 1, -60.0));
  uniform.log_prob(Eigen::MatrixXd::Constant(1, 1, 0.77), lp);
  uniform.entropy(h);
  CHECK(std::abs(lp[0]) < 1e-14);
  CHECK(std::abs(h[0]) < 1e-14);

  // Several dimensions add up; the mode is the mean α / (α + β).
  Eigen::MatrixXd h2(4, 1);
  h2 << head_for(2.5), head_for(1.2), head_for(1.5), head_for(3.0);
  Beta<double> two;
  two.set_heads(h2);
  Eigen::MatrixXd x(2, 1), mode;
  x << 0.3, 0.3;
  two.log_prob(x, lp);
  Eigen::RowVectorXd lq;
  q.log_prob(Eigen::MatrixXd::Constant(1, 1, 0.3), lq);
  CHECK(lp[0] == Approx(-0.35643784206788911486 + lq[0]).epsilon(1e-12));
  two.mode(mode);
  CHECK(mode(0, 0) == Approx(2.5 / 4.0).epsilon(1e-14));
  CHECK(mode(1, 0) == Approx(1.2 / 4.2).epsilon(1e-14));
}

TEST_CASE("beta loss gradient matches finite differences", "[beta]") {
  Eigen::RowVectorXd w(kBatch), e(kBatch);
  w << 0.7, -1.3, 2.1;
  e << 0.05, 0.4, -0.2;
  const Eigen::MatrixXd heads = test_heads();
  Beta<double> dist;
  dist.set_heads(heads);
  Eigen::MatrixXd grad;
  dist.loss_gradient(test_actions(), w, e, grad);
  REQUIRE(grad.rows() == 2 * kDim);
  REQUIRE(grad.cols() == kBatch);
  const auto f = [&](const Eigen::VectorXd& flat) {
    return loss(Eigen::Map<const Eigen::MatrixXd>(flat.data(), 2 * kDim, kBatch), w, e);
  };
  const Eigen::VectorXd numeric = pgrad_test::numerical_gradient(f, Flat(heads.data(), heads.size()));
  CHECK(pgrad_test::relative_error(Flat(grad.data(), grad.size()), numeric) <= 1e-6);
  // The entropy term alone, and the log-probability term alone.
  for (const bool entropy_only : {true, false}) {
    const Eigen::RowVectorXd w1 = entropy_only ? Eigen::RowVectorXd::Zero(kBatch) : w;
    const Eigen::RowVectorXd e1 = entropy_only ? e : Eigen::RowVectorXd::Zero(kBatch);
    dist.loss_gradient(test_actions(), w1, e1, grad);
    const auto f1 = [&](const Eigen::VectorXd& flat) {
      return loss(Eigen::Map<const Eigen::MatrixXd>(flat.data(), 2 * kDim, kBatch), w1, e1);
    };
    CHECK(pgrad_test::relative_error(Flat(grad.data(), grad.size()),
                                     pgrad_test::numerical_gradient(f1, Flat(heads.data(), heads.size()))) <= 1e-6);
  }
}

TEST_CASE("beta fisher_product is the Hessian of the KL at its own heads", "[beta]") {
  const Eigen::MatrixXd h0 = test_heads();
  Beta<double> dist;
  dist.set_heads(h0);
  const auto kl_sum = [&](const Eigen::VectorXd& flat) {
    Beta<double> moved;
    moved.set_heads(Eigen::Map<const Eigen::MatrixXd>(flat.data(), 2 * kDim, kBatch));
    Eigen::RowVectorXd kl;
    dist.kl(moved, kl);
    return kl.sum();
  };
  // Step 1e-3: the KL (log-Beta and digamma terms of size ~1) carries rounding noise of ~1e-14, which a
  // step of 1e-4 would amplify to ~1e-6 (noise / h²); the truncation error at 1e-3 is far smaller.
  const Eigen::MatrixXd hessian = pgrad_test::numerical_hessian(kl_sum, Flat(h0.data(), h0.size()), 1e-3);
  Rng rng(23);
  for (int trial = 0; trial < 3; ++trial) {
    const Eigen::MatrixXd v = pgrad_test::random_matrix(2 * kDim, kBatch, rng);
    Eigen::MatrixXd fv;
    dist.fisher_product(v, fv);
    const Eigen::VectorXd expected = hessian * Flat(v.data(), v.size());
    CHECK(pgrad_test::relative_error(Flat(fv.data(), fv.size()), expected) <= 1e-6);
  }
}

TEST_CASE("gamma draws have the mean and variance of Gamma(k, 1)", "[beta]") {
  const Index n = 100000;
  Rng rng(11);
  for (const double shape : {0.3, 1.0, 2.5, 40.0}) {
    CAPTURE(shape);
    Eigen::ArrayXd x(n);
    for (Index i = 0; i < n; ++i) x[i] = pgrad::dist::sample_gamma(rng, shape);
    CHECK(x.minCoeff() > 0);
    const Moments m = moments(x);
    CHECK(std::abs(m.mean - shape) < m.mean_tolerance);
    CHECK(std::abs(m.variance - shape) < m.variance_tolerance);
  }
  CHECK_THROWS_WITH(pgrad::dist::sample_gamma(rng, 0.0), Contains("sample_gamma: shape 0 is not positive"));
  CHECK_THROWS_WITH(pgrad::dist::sample_gamma(rng, std::numeric_limits<double>::quiet_NaN()), Contains("shape nan"));
}

TEST_CASE("beta samples have the Beta's mean and variance, stay in (0, 1) and are reproducible", "[beta]") {
  const Index n = 100000;
  Eigen::VectorXf h(4);
  h << float(head_for(2.5)), float(head_for(1.05)), float(head_for(1.5)), float(head_for(30.0));
  Beta<float> dist;
  dist.set_heads(h.replicate(1, n));
  Rng rng(99);
  Eigen::MatrixXf x;
  dist.sample(rng, x);
  REQUIRE(x.rows() == 2);
  REQUIRE(x.cols() == n);
  CHECK(x.minCoeff() > 0.0f);
  CHECK(x.maxCoeff() < 1.0f);
  for (Index i = 0; i < 2; ++i) {
    const double a = dist.alpha()(i, 0), b = dist.beta()(i, 0);
    const double mean = a / (a + b), variance = a * b / ((a + b) * (a + b) * (a + b + 1));
    const Moments m = moments(x.row(i).cast<double>().transpose().array());
    CHECK(std::abs(m.mean - mean) < m.mean_tolerance);
    CHECK(std::abs(m.variance - variance) < m.variance_tolerance);
  }
  Eigen::RowVectorXf lp;
  dist.log_prob(x, lp);
  CHECK(lp.allFinite());

  Beta<float> small;
  small.set_heads(Eigen::MatrixXf::Zero(4, 10));
  Rng a1(5), a2(5), a3(6);
  Eigen::MatrixXf s1, s2, s3;
  small.sample(a1, s1);
  small.sample(a2, s2);
  small.sample(a3, s3);
  CHECK(s1 == s2);
  CHECK(s1 != s3);
  // Draw order: per entry (column-major) G_α then G_β.
  Rng manual(5);
  for (Index j = 0; j < 10; ++j)
    for (Index i = 0; i < 2; ++i) {
      const double ga = pgrad::dist::sample_gamma(manual, double(small.alpha()(i, j)));
      const double gb = pgrad::dist::sample_gamma(manual, double(small.beta()(i, j)));
      CHECK(s1(i, j) == float(ga / (ga + gb)));
    }
}

TEST_CASE("beta in float agrees with double", "[beta]") {
  const Eigen::MatrixXd heads = test_heads();
  Beta<double> d;
  Beta<float> f;
  d.set_heads(heads);
  f.set_heads(heads.cast<float>());
  Eigen::RowVectorXd lpd, hd;
  Eigen::RowVectorXf lpf, hf;
  d.log_prob(test_actions(), lpd);
  f.log_prob(test_actions().cast<float>(), lpf);
  d.entropy(hd);
  f.entropy(hf);
  CHECK((lpf.cast<double>() - lpd).cwiseAbs().maxCoeff() < 1e-5);
  CHECK((hf.cast<double>() - hd).cwiseAbs().maxCoeff() < 1e-5);
  Eigen::MatrixXd gd;
  Eigen::MatrixXf gf;
  d.loss_gradient(test_actions(), Eigen::RowVectorXd::Ones(kBatch), Eigen::RowVectorXd::Ones(kBatch), gd);
  f.loss_gradient(test_actions().cast<float>(), Eigen::RowVectorXf::Ones(kBatch), Eigen::RowVectorXf::Ones(kBatch), gf);
  CHECK(pgrad_test::relative_error(gf.cast<double>(), gd) < 1e-5);
}

TEST_CASE("beta maps its variates to the action box and back", "[beta]") {
  Eigen::VectorXd low(2), high(2);
  low << -2, 0.5;
  high << 2, 1.5;
  Eigen::MatrixXd env, back;
  Beta<double>::to_action_space(test_actions(), low, high, env);
  CHECK(env(0, 0) == Approx(-2 + 4 * 0.3).epsilon(1e-15));
  CHECK(env(1, 2) == Approx(0.5 + 1 * 0.4).epsilon(1e-15));
  Beta<double>::from_action_space(env, low, high, back);
  CHECK((back - test_actions()).cwiseAbs().maxCoeff() < 1e-15);
  Eigen::VectorXd bad_high = high;
  bad_high[1] = 0.5;
  CHECK_THROWS_WITH(Beta<double>::to_action_space(test_actions(), low, bad_high, env),
                    Contains("bounds [0.5, 0.5] of dimension 1 are not finite with low < high"));
  CHECK_THROWS_WITH(Beta<double>::to_action_space(test_actions(), low.head(1), high, env),
                    Contains("low has 1 and high 2 entries for 2 action dimensions"));
}

TEST_CASE("beta rejects bad input with a message naming the problem", "[beta]") {
  Beta<double> dist;
  Eigen::RowVectorXd out;
  Eigen::MatrixXd grad;
  CHECK_THROWS_WITH(dist.set_heads(Eigen::MatrixXd::Zero(3, 2)), Contains("heads have 3 rows; need 2 x action_dim"));
  CHECK_THROWS_WITH(dist.set_heads(Eigen::MatrixXd::Zero(0, 2)), Contains("heads have 0 rows"));
  if (pgrad::checks_enabled()) {
    Eigen::MatrixXd bad = test_heads();
    bad(3, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(dist.set_heads(bad), Contains("heads: non-finite value nan at row 3, column 1"));
  }
  dist.set_heads(test_heads());
  CHECK_THROWS_WITH(dist.log_prob(Eigen::MatrixXd::Constant(2, 2, 0.5), out),
                    Contains("actions are 2x2 but the distribution is 2x3"));
  for (const double outside : {0.0, 1.0, -0.1, 1.2}) {
    Eigen::MatrixXd x = test_actions();
    x(1, 2) = outside;
    CHECK_THROWS_WITH(dist.log_prob(x, out), Contains("at row 1, column 2 is outside the open interval (0, 1)"));
  }
  Eigen::MatrixXd x = test_actions();
  x(0, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(dist.loss_gradient(x, Eigen::RowVectorXd::Ones(3), Eigen::RowVectorXd::Ones(3), grad),
                    Contains("action nan at row 0, column 0 is outside"));
  CHECK_THROWS_WITH(dist.loss_gradient(test_actions(), Eigen::RowVectorXd::Ones(3), Eigen::RowVectorXd::Ones(2), grad),
                    Contains("entropy_weight has 2 entries but the distribution has batch size 3"));
  CHECK_THROWS_WITH(dist.fisher_product(Eigen::MatrixXd::Zero(2, 3), grad), Contains("tangent is 2x3, the heads 4x3"));
  Beta<double> other;
  other.set_heads(Eigen::MatrixXd::Zero(2, 3));
  CHECK_THROWS_WITH(dist.kl(other, out), Contains("other is 1x3, this is 2x3"));
}

TEST_CASE("beta calls allocate nothing once the batch size is fixed", "[beta]") {
  const Eigen::MatrixXf heads = Eigen::MatrixXf::Random(6, 64);
  const Eigen::RowVectorXf w = Eigen::RowVectorXf::Ones(64), e = Eigen::RowVectorXf::Constant(64, 0.01f);
  Beta<float> dist, other;
  other.set_heads(heads.reverse());
  Eigen::MatrixXf actions, grad, fv;
  Eigen::RowVectorXf lp, h, kl;
  Rng rng(3);
  for (int round = 0; round < 3; ++round) {
    Eigen::internal::set_is_malloc_allowed(round > 0 ? false : true);
    dist.set_heads(heads);
    dist.sample(rng, actions);
    dist.log_prob(actions, lp);
    dist.entropy(h);
    dist.kl(other, kl);
    dist.loss_gradient(actions, w, e, grad);
    dist.fisher_product(heads, fv);
    dist.mode(actions);
    dist.loss_gradient(actions, w, e, grad);
    Eigen::internal::set_is_malloc_allowed(true);
  }
  CHECK(grad.allFinite());
  Eigen::internal::set_is_malloc_allowed(false);
  CHECK_THROWS(Eigen::MatrixXf(100, 100));
  Eigen::internal::set_is_malloc_allowed(true);
}
