// MultiCategorical: per-component log-softmax, summed log-probabilities, entropies and KL, masks,
// sampling, the closed-form loss gradient and the Fisher metric.

#include "eigen_no_malloc.hpp"  // first: it configures Eigen

#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/distributions/multi_categorical.hpp>

#include "gradient_check.hpp"
#include "distribution_check.hpp"

#include <cmath>
#include <limits>
#include <vector>

using pgrad::BoolMatrix;
using pgrad::Index;
using pgrad::Rng;
using pgrad::dist::MultiCategorical;
using Catch::Matchers::Contains;
using Actions = MultiCategorical<double>::Actions;

namespace {

const std::vector<Index> kNvec = {3, 5, 2};  // 10 logit rows
constexpr Index kRows = 10, kBatch = 3;

Eigen::MatrixXd sample_logits() {
  Eigen::MatrixXd z(kRows, kBatch);
  z << 0.3, -1.2, 2.0,  //
      1.1, 0.4, -0.5,   //
      -0.7, 0.9, 0.1,   // end of component 0
      0.2, -0.3, 1.4,   //
      -1.5, 0.8, 0.0,   //
      0.6, 0.6, -2.2,   //
      2.3, -0.9, 0.5,   //
      -0.4, 1.7, 0.3,   // end of component 1
      0.9, -0.1, -1.0,  //
      -0.6, 0.25, 1.2;
  return z;
}

Actions sample_actions() {
  Actions a(3, kBatch);
  a << 1, 2, 0,  //
      3, 0, 4,   //
      0, 1, 1;
  return a;
}

// Log-softmax of one column block, computed naively (no max subtraction: the logits are small).
double naive_log_softmax(const Eigen::VectorXd& block, Index i) {
  return block[i] - std::log(block.array().exp().sum());
}

double loss(const Eigen::MatrixXd& z, const BoolMatrix* mask, const Actions& actions, const Eigen::RowVectorXd& w,
            const Eigen::RowVectorXd& e) {
  MultiCategorical<double> dist(kNvec);
  if (mask)
    dist.set_logits(z, *mask);
  else
    dist.set_logits(z);
  Eigen::RowVectorXd lp, h;
  dist.log_prob(actions, lp);
  dist.entropy(h);
  return w.dot(lp) + e.dot(h);
}

void check_gradient(const BoolMatrix* mask) {
  const Eigen::MatrixXd z = sample_logits();
  const Actions actions = sample_actions();
  Eigen::RowVectorXd w(kBatch), e(kBatch);
  w << 0.7, -1.3, 2.1;
  e << 0.05, 0.4, -0.2;
  MultiCategorical<double> dist(kNvec);
  if (mask)
    dist.set_logits(z, *mask);
  else
    dist.set_logits(z);
  Eigen::MatrixXd grad;
  dist.loss_gradient(actions, w, e, grad);
  REQUIRE(grad.rows() == kRows);
  REQUIRE(grad.cols() == kBatch);
  const auto f = [&](const Eigen::VectorXd& flat) {
    return loss(Eigen::Map<const Eigen::MatrixXd>(flat.data(), kRows, kBatch), mask, actions, w, e);
  };
  const Eigen::VectorXd numeric = pgrad_test::numerical_gradient(f, Eigen::Map<const Eigen::VectorXd>(z.data(), z.size()));
  CHECK(pgrad_test::relative_error(Eigen::Map<const Eigen::VectorXd>(grad.data(), grad.size()), numeric) <= 1e-6);
  // Each component's block sums to zero (softmax is shift-invariant within a block).
  for (Index k = 0; k < 3; ++k)
    CHECK(grad.middleRows(dist.offset(k), kNvec[k]).colwise().sum().cwiseAbs().maxCoeff() < 1e-12);
  if (mask)
    for (Index j = 0; j < kBatch; ++j)
      for (Index i = 0; i < kRows; ++i)
        if (!(*mask)(i, j)) {
          CHECK(grad(i, j) == 0.0);
          CHECK(numeric(j * kRows + i) == 0.0);
        }
}

}  // namespace

TEST_CASE("multi-categorical log probabilities and entropies are sums over components", "[multi_categorical]") {
  const Eigen::MatrixXd z = sample_logits();
  MultiCategorical<double> dist(kNvec);
  dist.set_logits(z);
  CHECK(dist.num_components() == 3);
  CHECK(dist.total_actions() == 10);
  CHECK(dist.offset(0) == 0);
  CHECK(dist.offset(1) == 3);
  CHECK(dist.offset(2) == 8);
  CHECK(dist.batch_size() == kBatch);
  const Actions a = sample_actions();
  Eigen::RowVectorXd lp, h;
  dist.log_prob(a, lp);
  dist.entropy(h);
  for (Index j = 0; j < kBatch; ++j) {
    double expected_lp = 0, expected_h = 0;
    for (Index k = 0; k < 3; ++k) {
      const Eigen::VectorXd block = z.col(j).segment(dist.offset(k), kNvec[k]);
      expected_lp += naive_log_softmax(block, a(k, j));
      for (Index i = 0; i < kNvec[k]; ++i) {
        const double log_p = naive_log_softmax(block, i);
        expected_h -= std::exp(log_p) * log_p;
      }
    }
    CHECK(lp[j] == Approx(expected_lp).epsilon(1e-14));
    CHECK(h[j] == Approx(expected_h).epsilon(1e-14));
  }
  // Each block of the probabilities sums to one.
  for (Index k = 0; k < 3; ++k)
    CHECK((dist.probabilities().middleRows(dist.offset(k), kNvec[k]).colwise().sum().array() - 1).abs().maxCoeff() <
          1e-15);

  // Hand-worked: uniform blocks give H = log 3 + log 5 + log 2 = log 30 and log π = -log 30.
  dist.set_logits(Eigen::MatrixXd::Constant(kRows, kBatch, 0.8));
  dist.entropy(h);
  dist.log_prob(a, lp);
  CHECK(h[1] == Approx(std::log(30.0)).epsilon(1e-14));
  CHECK(lp[2] == Approx(-std::log(30.0)).epsilon(1e-14));

  Actions mode;
  dist.set_logits(z);
  dist.mode(mode);
  Actions expected_mode(3, kBatch);
  expected_mode << 1, 2, 0,  //
      3, 4, 0,               //
      0, 1, 1;
  CHECK(mode == expected_mode);
}

TEST_CASE("multi-categorical KL is zero for equal distributions and sums the component KLs", "[multi_categorical]") {
  // Two components {2, 2}: p = ((1/2, 1/2), (3/4, 1/4)), q = ((1/4, 3/4), (1/2, 1/2)).
  Eigen::MatrixXd zp(4, 1), zq(4, 1);
  zp << 0, 0, std::log(3.0), 0;
  zq << 0, std::log(3.0), 5, 5;
  MultiCategorical<double> p({2, 2}), q({2, 2});
  p.set_logits(zp);
  q.set_logits(zq);
  Eigen::RowVectorXd kl;
  p.kl(p, kl);
  CHECK(kl[0] == 0.0);
  p.kl(q, kl);
  const double expected = 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75) + 0.75 * std::log(0.75 / 0.5) +
                          0.25 * std::log(0.25 / 0.5);
  CHECK(kl[0] == Approx(expected).epsilon(1e-14));
  // A mask on q that forbids an action p allows makes it infinite; the other way round it is finite.
  BoolMatrix allowed(4, 1);
  allowed << true, false, true, true;
  q.set_logits(zq, allowed);
  p.kl(q, kl);
  CHECK(kl[0] == std::numeric_limits<double>::infinity());
  q.kl(p, kl);  // q = ((1, 0), (1/2, 1/2))
  CHECK(kl[0] == Approx(std::log(1 / 0.5) + 0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25)).epsilon(1e-14));
}

TEST_CASE("multi-categorical loss gradient matches finite differences without a mask", "[multi_categorical]") {
  check_gradient(nullptr);
}

TEST_CASE("multi-categorical loss gradient matches finite differences with a mask", "[multi_categorical]") {
  BoolMatrix allowed = BoolMatrix::Constant(kRows, kBatch, true);
  allowed(0, 0) = allowed(2, 0) = false;  // component 0 of sample 0: only action 1 (the chosen one)
  allowed(4, 1) = allowed(7, 1) = false;  // component 1 of sample 1: actions 1 and 4 forbidden
  allowed(8, 2) = false;                  // component 2 of sample 2: action 0 forbidden, 1 chosen
  check_gradient(&allowed);
}

TEST_CASE("multi-categorical fisher_product is the Hessian of the KL at its own logits", "[multi_categorical]") {
  const Eigen::MatrixXd z0 = sample_logits();
  MultiCategorical<double> dist(kNvec);
  dist.set_logits(z0);
  const auto kl_sum = [&](const Eigen::VectorXd& flat) {
    MultiCategorical<double> moved(kNvec);
    moved.set_logits(Eigen::Map<const Eigen::MatrixXd>(flat.data(), kRows, kBatch));
    Eigen::RowVectorXd kl;
    dist.kl(moved, kl);
    return kl.sum();
  };
  const Eigen::MatrixXd hessian =
      pgrad_test::numerical_hessian(kl_sum, Eigen::Map<const Eigen::VectorXd>(z0.data(), z0.size()));
  Rng rng(17);
  for (int trial = 0; trial < 3; ++trial) {
    const Eigen::MatrixXd v = pgrad_test::random_matrix(kRows, kBatch, rng);
    Eigen::MatrixXd fv;
    dist.fisher_product(v, fv);
    const Eigen::VectorXd expected = hessian * Eigen::Map<const Eigen::VectorXd>(v.data(), v.size());
    CHECK(pgrad_test::relative_error(Eigen::Map<const Eigen::VectorXd>(fv.data(), fv.size()), expected) <= 1e-6);
  }
}

TEST_CASE("multi-categorical samples follow each component and never take a masked action", "[multi_categorical]") {
  const long draws = 60000;
  Eigen::VectorXf logits(7);
  logits << 0.5f, -1.0f, 2.0f,  // component 0 (3 actions)
      3.0f, 0.1f, -0.4f, 3.0f;  // component 1 (4 actions): 0 and 3 masked below
  MultiCategorical<float> dist({3, 4});
  dist.set_logits(logits.replicate(1, draws));
  Rng rng(2024);
  MultiCategorical<float>::Actions actions;
  dist.sample(rng, actions);
  REQUIRE(actions.rows() == 2);
  REQUIRE(actions.cols() == draws);
  for (Index k = 0; k < 2; ++k) {
    std::vector<long> counts(static_cast<std::size_t>(dist.nvec()[k]), 0);
    for (Index j = 0; j < draws; ++j) ++counts[static_cast<std::size_t>(actions(k, j))];
    const Eigen::VectorXd p = dist.probabilities().col(0).segment(dist.offset(k), dist.nvec()[k]).cast<double>();
    // 2 and 3 degrees of freedom: P(chi2 > 13.82) = P(chi2 > 16.27) = 0.001.
    CHECK(pgrad_test::chi_square(counts, p, draws) < (k == 0 ? 13.82 : 16.27));
  }

  BoolMatrix allowed = BoolMatrix::Constant(7, draws, true);
  allowed.row(3).setConstant(false);
  allowed.row(6).setConstant(false);
  dist.set_logits(logits.replicate(1, draws), allowed);
  dist.sample(rng, actions);
  std::vector<long> counts(4, 0);
  for (Index j = 0; j < draws; ++j) ++counts[static_cast<std::size_t>(actions(1, j))];
  CHECK(counts[0] == 0);
  CHECK(counts[3] == 0);
  const Eigen::VectorXd p = dist.probabilities().col(0).segment(3, 4).cast<double>();
  CHECK(p[0] == 0.0);
  CHECK(p[3] == 0.0);
  CHECK(pgrad_test::chi_square(counts, p, draws) < 10.83);  // two allowed actions: 1 degree of freedom, 0.1% at 10.83
  CHECK(dist.log_probabilities()(3, 0) == -std::numeric_limits<float>::infinity());
  // The mode avoids the masked actions although their logits are the largest.
  MultiCategorical<float>::Actions mode;
  dist.mode(mode);
  CHECK(mode(1, 0) == 1);
  CHECK(mode(0, 0) == 2);

  // Reproducible from the seed, and the draw order is column-major (component 0 then 1 per sample).
  Rng a(5), b(5);
  MultiCategorical<float>::Actions x, y;
  MultiCategorical<float> small({3, 4});
  small.set_logits(Eigen::MatrixXf::Zero(7, 20));
  small.sample(a, x);
  small.sample(b, y);
  CHECK(x == y);
  Rng manual(5);
  for (Index j = 0; j < 20; ++j)
    for (Index k = 0; k < 2; ++k) {
      const float u = manual.uniform<float>();
      CHECK(x(k, j) == static_cast<Index>(u * (k == 0 ? 3 : 4)));  // uniform blocks: inverse CDF is floor(u n)
    }
}

TEST_CASE("multi-categorical in float matches double", "[multi_categorical]") {
  const Eigen::MatrixXd z = sample_logits();
  const Actions a = sample_actions();
  MultiCategorical<double> d(kNvec);
  MultiCategorical<float> f(kNvec);
  d.set_logits(z);
  f.set_logits(z.cast<float>());
  Eigen::RowVectorXd lpd, hd;
  Eigen::RowVectorXf lpf, hf;
  d.log_prob(a, lpd);
  f.log_prob(a, lpf);
  d.entropy(hd);
  f.entropy(hf);
  CHECK((lpf.cast<double>() - lpd).cwiseAbs().maxCoeff() < 1e-5);
  CHECK((hf.cast<double>() - hd).cwiseAbs().maxCoeff() < 1e-5);
  // Logits of ±1e4 stay finite.
  Eigen::MatrixXf big = Eigen::MatrixXf::Zero(kRows, 1);
  big(0, 0) = 1e4f;
  big(1, 0) = -1e4f;
  f.set_logits(big);
  Actions one(3, 1);
  one << 1, 0, 0;
  f.log_prob(one, lpf);
  f.entropy(hf);
  CHECK(std::isfinite(lpf[0]));
  CHECK(lpf[0] == Approx(-2e4f - std::log(5.0f) - std::log(2.0f)));
  CHECK(hf[0] == Approx(std::log(10.0f)).epsilon(1e-5));
}

TEST_CASE("multi-categorical rejects bad input with a message naming the problem", "[multi_categorical]") {
  CHECK_THROWS_WITH(MultiCategorical<double>(std::vector<Index>{}), Contains("nvec is empty"));
  CHECK_THROWS_WITH(MultiCategorical<double>(std::vector<Index>{3, 0}), Contains("nvec[1] = 0"));
  MultiCategorical<double> dist(kNvec);
  Eigen::RowVectorXd out;
  Eigen::MatrixXd grad;
  CHECK_THROWS_WITH(dist.set_logits(Eigen::MatrixXd::Zero(9, 2)), Contains("logits have 9 rows but nvec sums to 10"));
  dist.set_logits(sample_logits());
  Actions a = sample_actions();
  a(1, 2) = 5;
  CHECK_THROWS_WITH(dist.log_prob(a, out), Contains("action 5 of component 1 of sample 2 is outside [0, 5)"));
  a(1, 2) = -1;
  CHECK_THROWS_WITH(dist.log_prob(a, out), Contains("outside [0, 5)"));
  CHECK_THROWS_WITH(dist.log_prob(Actions::Zero(2, kBatch), out),
                    Contains("actions are 2x3 but the distribution has 3 components x batch size 3"));
  CHECK_THROWS_WITH(dist.loss_gradient(sample_actions(), Eigen::RowVectorXd::Ones(4), Eigen::RowVectorXd::Ones(3), grad),
                    Contains("log_prob_weight has 4 entries but the distribution has batch size 3"));
  CHECK_THROWS_WITH(dist.fisher_product(Eigen::MatrixXd::Zero(10, 2), grad), Contains("tangent is 10x2, the logits 10x3"));

  BoolMatrix allowed = BoolMatrix::Constant(kRows, kBatch, true);
  allowed.block(3, 1, 5, 1).setConstant(false);
  CHECK_THROWS_WITH(dist.set_logits(sample_logits(), allowed),
                    Contains("mask forbids every action of component 1 of sample 1"));
  CHECK_THROWS_WITH(dist.set_logits(sample_logits(), BoolMatrix::Constant(kRows, 2, true)),
                    Contains("mask: expected 10x3, got 10x2"));
  allowed.setConstant(true);
  allowed(9, 0) = false;
  dist.set_logits(sample_logits(), allowed);
  a = sample_actions();
  a(2, 0) = 1;
  CHECK_THROWS_WITH(dist.log_prob(a, out), Contains("action 1 of component 2 of sample 0 is masked"));
  CHECK_THROWS_WITH(dist.loss_gradient(a, Eigen::RowVectorXd::Ones(3), Eigen::RowVectorXd::Ones(3), grad),
                    Contains("is masked"));

  MultiCategorical<double> other({3, 5, 1, 1});
  other.set_logits(Eigen::MatrixXd::Zero(10, 3));
  CHECK_THROWS_WITH(dist.kl(other, out), Contains("different component sizes"));
  MultiCategorical<double> narrow(kNvec);
  narrow.set_logits(Eigen::MatrixXd::Zero(10, 2));
  CHECK_THROWS_WITH(dist.kl(narrow, out), Contains("other has batch size 2, this has 3"));

  Eigen::MatrixXd bad = sample_logits();
  bad(4, 1) = std::numeric_limits<double>::quiet_NaN();
  if (pgrad::checks_enabled())
    CHECK_THROWS_WITH(dist.set_logits(bad), Contains("logits: non-finite value nan at row 4, column 1"));
  MultiCategorical<double> empty;
  CHECK_THROWS_WITH(empty.set_logits(sample_logits()), Contains("no component sizes"));
}

TEST_CASE("multi-categorical calls allocate nothing once the batch size is fixed", "[multi_categorical]") {
  const Eigen::MatrixXf z = Eigen::MatrixXf::Random(kRows, 64);
  BoolMatrix allowed = BoolMatrix::Constant(kRows, 64, true);
  allowed.row(4).setConstant(false);
  const Eigen::RowVectorXf w = Eigen::RowVectorXf::Ones(64), e = Eigen::RowVectorXf::Constant(64, 0.01f);
  MultiCategorical<float> dist(kNvec), other(kNvec);
  other.set_logits(z);
  MultiCategorical<float>::Actions actions;
  Eigen::RowVectorXf lp, h, kl;
  Eigen::MatrixXf grad, fv;
  Rng rng(3);
  for (int round = 0; round < 3; ++round) {
    Eigen::internal::set_is_malloc_allowed(round > 0 ? false : true);
    dist.set_logits(z, allowed);
    dist.sample(rng, actions);
    dist.mode(actions);
    dist.log_prob(actions, lp);
    dist.entropy(h);
    dist.kl(other, kl);
    dist.loss_gradient(actions, w, e, grad);
    dist.fisher_product(z, fv);
    dist.set_logits(z);
    dist.loss_gradient(actions, w, e, grad);
    Eigen::internal::set_is_malloc_allowed(true);
  }
  CHECK(grad.allFinite());
  Eigen::internal::set_is_malloc_allowed(false);
  CHECK_THROWS(Eigen::MatrixXf(100, 100));
  Eigen::internal::set_is_malloc_allowed(true);
}
