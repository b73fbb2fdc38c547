// Categorical: log-softmax, entropy, KL, masks, sampling and the closed-form loss gradient.

#include "eigen_no_malloc.hpp"  // first: it configures Eigen

#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/distributions/categorical.hpp>

#include "gradient_check.hpp"

#include <cmath>
#include <limits>
#include <vector>

using pgrad::BoolMatrix;
using pgrad::Index;
using pgrad::IndexRowVector;
using pgrad::Rng;
using pgrad::dist::Categorical;
using Catch::Matchers::Contains;

namespace {

Eigen::MatrixXd sample_logits() {
  Eigen::MatrixXd z(4, 3);
  z << 0.3, -1.2, 2.0,  //
      1.1, 0.4, -0.5,   //
      -0.7, 0.9, 0.1,   //
      0.2, -0.3, 1.4;
  return z;
}

// L(z) = sum_j w_j log p(a_j) + sum_j e_j H_j computed through the forward functions.
double loss(const Eigen::MatrixXd& z, const BoolMatrix* mask, const IndexRowVector& actions,
            const Eigen::RowVectorXd& w, const Eigen::RowVectorXd& e) {
  Categorical<double> dist;
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
  IndexRowVector actions(3);
  actions << 1, 2, 3;
  Eigen::RowVectorXd w(3), e(3);
  w << 0.7, -1.3, 2.1;
  e << 0.05, 0.4, -0.2;

  Categorical<double> dist;
  if (mask)
    dist.set_logits(z, *mask);
  else
    dist.set_logits(z);
  Eigen::MatrixXd grad;
  dist.loss_gradient(actions, w, e, grad);
  REQUIRE(grad.rows() == 4);
  REQUIRE(grad.cols() == 3);

  const auto f = [&](const Eigen::VectorXd& flat) {
    return loss(Eigen::Map<const Eigen::MatrixXd>(flat.data(), 4, 3), mask, actions, w, e);
  };
  const Eigen::VectorXd numeric =
      pgrad_test::numerical_gradient(f, Eigen::Map<const Eigen::VectorXd>(z.data(), z.size()));
  const Eigen::Map<const Eigen::VectorXd> analytic(grad.data(), grad.size());
  CHECK(pgrad_test::relative_error(analytic, numeric) <= 1e-6);
  // Each term sums to zero over the actions of a sample (softmax is shift-invariant).
  CHECK(grad.colwise().sum().cwiseAbs().maxCoeff() < 1e-12);
  if (mask) {
    for (Index j = 0; j < 3; ++j)
      for (Index k = 0; k < 4; ++k)
        if (!(*mask)(k, j)) {
          CHECK(grad(k, j) == 0.0);
          CHECK(numeric(j * 4 + k) == 0.0);
        }
  }
}

double chi_square(const std::vector<long>& counts, const Eigen::VectorXd& probs, long draws) {
  double chi2 = 0;
  for (Index k = 0; k < probs.size(); ++k) {
    if (probs[k] == 0) continue;
    const double expected = draws * probs[k];
    chi2 += (counts[k] - expected) * (counts[k] - expected) / expected;
  }
  return chi2;
}

}  // namespace

TEST_CASE("categorical log probabilities are the log-softmax of the logits", "[categorical]") {
  Eigen::MatrixXd z(3, 2);
  // Column 0: log(0.5) log(0.25) log(0.25) shifted by +3 (softmax is shift-invariant).
  z << std::log(0.5) + 3, 0.0,  //
      std::log(0.25) + 3, 1.0,  //
      std::log(0.25) + 3, 2.0;
  Categorical<double> dist;
  dist.set_logits(z);
  CHECK(dist.num_actions() == 3);
  CHECK(dist.batch_size() == 2);
  const Eigen::MatrixXd& lp = dist.log_probabilities();
  CHECK(lp(0, 0) == Approx(std::log(0.5)).epsilon(1e-14));
  CHECK(lp(1, 0) == Approx(std::log(0.25)).epsilon(1e-14));
  // Column 1: 1 / (1 + e + e^2) = 0.09003057317038046 for action 0.
  CHECK(std::exp(lp(0, 1)) == Approx(0.09003057317038046).epsilon(1e-14));
  CHECK(std::exp(lp(1, 1)) == Approx(0.24472847105479764).epsilon(1e-14));
  CHECK(std::exp(lp(2, 1)) == Approx(0.6652409557748219).epsilon(1e-14));
  Eigen::MatrixXd p;
  dist.probabilities(p);
  CHECK((p.colwise().sum().array() - 1).abs().maxCoeff() < 1e-15);

  IndexRowVector actions(2), mode;
  actions << 1, 2;
  Eigen::RowVectorXd out;
  dist.log_prob(actions, out);
  CHECK(out[0] == Approx(std::log(0.25)).epsilon(1e-14));
  CHECK(out[1] == Approx(std::log(0.6652409557748219)).epsilon(1e-14));
  dist.mode(mode);
  CHECK(mode[0] == 0);
  CHECK(mode[1] == 2);

  // Entropy of (0.5, 0.25, 0.25) = 1.5 log 2.
  Eigen::RowVectorXd h;
  dist.entropy(h);
  CHECK(h[0] == Approx(1.5 * std::log(2.0)).epsilon(1e-14));
}

TEST_CASE("uniform categorical has entropy log n with and without a mask", "[categorical]") {
  Categorical<float> dist;
  Eigen::RowVectorXf h;
  dist.set_logits(Eigen::MatrixXf::Constant(5, 3, 3.7f));
  dist.entropy(h);
  for (Index j = 0; j < 3; ++j) CHECK(h[j] == Approx(std::log(5.0)).epsilon(1e-6));

  BoolMatrix allowed = BoolMatrix::Constant(5, 3, true);
  allowed(0, 0) = allowed(3, 0) = false;  // 3 allowed
  allowed(4, 1) = false;                  // 4 allowed
  dist.set_logits(Eigen::MatrixXf::Constant(5, 3, -2.0f), allowed);
  dist.entropy(h);
  CHECK(h[0] == Approx(std::log(3.0)).epsilon(1e-6));
  CHECK(h[1] == Approx(std::log(4.0)).epsilon(1e-6));
  CHECK(h[2] == Approx(std::log(5.0)).epsilon(1e-6));
  CHECK(dist.probabilities()(0, 0) == 0.0f);
  CHECK(dist.log_probabilities()(0, 0) == -std::numeric_limits<float>::infinity());
  CHECK(dist.probabilities()(1, 0) == Approx(1.0 / 3.0).epsilon(1e-6));
}

TEST_CASE("categorical logits of plus or minus 1e4 give finite results", "[categorical]") {
  Eigen::MatrixXf z(3, 1);
  z << 1e4f, -1e4f, 0.0f;
  Categorical<float> dist;
  dist.set_logits(z);
  IndexRowVector actions(1);
  Eigen::RowVectorXf lp, h;
  actions << 1;
  dist.log_prob(actions, lp);
  CHECK(std::isfinite(lp[0]));
  CHECK(lp[0] == Approx(-2e4f));
  actions << 0;
  dist.log_prob(actions, lp);
  CHECK(lp[0] == 0.0f);
  dist.entropy(h);
  CHECK(std::isfinite(h[0]));
  CHECK(std::abs(h[0]) < 1e-6f);
  Eigen::MatrixXf grad;
  dist.loss_gradient(actions, Eigen::RowVectorXf::Ones(1), Eigen::RowVectorXf::Ones(1), grad);
  CHECK(grad.allFinite());
  CHECK(grad.cwiseAbs().maxCoeff() < 1e-6f);
}

TEST_CASE("categorical KL is zero for equal distributions and matches a hand-computed pair", "[categorical]") {
  Eigen::MatrixXd zp(3, 1), zq(3, 1);
  zp << std::log(0.5), std::log(0.25), std::log(0.25);
  zq << std::log(0.25) - 1, std::log(0.25) - 1, std::log(0.5) - 1;
  Categorical<double> p, q;
  p.set_logits(zp);
  q.set_logits(zq);
  Eigen::RowVectorXd kl;
  p.kl(p, kl);
  CHECK(kl[0] == 0.0);
  // KL = 0.5 log(0.5/0.25) + 0.25 log(1) + 0.25 log(0.25/0.5) = 0.25 log 2.
  p.kl(q, kl);
  CHECK(kl[0] == Approx(0.17328679513998632).epsilon(1e-14));

  // With a mask on p: the masked action contributes nothing.
  BoolMatrix allowed(3, 1);
  allowed << true, true, false;  // p = (2/3, 1/3, 0)
  p.set_logits(zp, allowed);
  p.kl(q, kl);
  const double expected = 2.0 / 3 * std::log((2.0 / 3) / 0.25) + 1.0 / 3 * std::log((1.0 / 3) / 0.25);
  CHECK(kl[0] == Approx(expected).epsilon(1e-14));
  // And the other way round the masked action makes it infinite.
  q.kl(p, kl);
  CHECK(kl[0] == std::numeric_limits<double>::infinity());
}

TEST_CASE("categorical loss gradient matches finite differences without a mask", "[categorical]") {
  check_gradient(nullptr);
}

TEST_CASE("categorical loss gradient matches finite differences with a mask", "[categorical]") {
  BoolMatrix allowed = BoolMatrix::Constant(4, 3, true);
  allowed(0, 0) = false;
  allowed(3, 0) = false;
  allowed(1, 1) = false;
  allowed(0, 2) = allowed(1, 2) = allowed(2, 2) = false;  // only the chosen action 3 left
  check_gradient(&allowed);
}

TEST_CASE("categorical sample frequencies pass a chi-square test", "[categorical]") {
  const long draws = 100000;
  Eigen::VectorXf logits(4);
  logits << 0.5f, -1.0f, 2.0f, 0.0f;
  Categorical<float> dist;
  dist.set_logits(logits.replicate(1, draws));
  Rng rng(2024);
  IndexRowVector actions;
  dist.sample(rng, actions);
  std::vector<long> counts(4, 0);
  for (Index j = 0; j < draws; ++j) ++counts[actions[j]];
  const Eigen::VectorXd p = dist.probabilities().col(0).cast<double>();
  // 3 degrees of freedom: P(chi2 > 16.27) = 0.001.
  CHECK(chi_square(counts, p, draws) < 16.27);

  // Masked: actions 0 and 3 forbidden are never drawn; 2 degrees of freedom, 0.1% at 13.82.
  Eigen::VectorXf logits5(5);
  logits5 << 3.0f, 0.1f, -0.4f, 3.0f, 0.6f;
  BoolMatrix allowed = BoolMatrix::Constant(5, draws, true);
  allowed.row(0).setConstant(false);
  allowed.row(3).setConstant(false);
  dist.set_logits(logits5.replicate(1, draws), allowed);
  dist.sample(rng, actions);
  std::vector<long> counts5(5, 0);
  for (Index j = 0; j < draws; ++j) ++counts5[actions[j]];
  CHECK(counts5[0] == 0);
  CHECK(counts5[3] == 0);
  const Eigen::VectorXd p5 = dist.probabilities().col(0).cast<double>();
  CHECK(p5[0] == 0.0);
  CHECK(chi_square(counts5, p5, draws) < 13.82);
}

TEST_CASE("categorical sampling is reproducible from the seed", "[categorical]") {
  Categorical<float> dist;
  dist.set_logits(Eigen::MatrixXf::Random(6, 500));
  Rng a(7), b(7), c(8);
  IndexRowVector x, y, z;
  dist.sample(a, x);
  dist.sample(b, y);
  dist.sample(c, z);
  CHECK(x == y);
  CHECK(x != z);
  CHECK(x.minCoeff() >= 0);
  CHECK(x.maxCoeff() < 6);
}

TEST_CASE("categorical rejects bad input with a message naming the problem", "[categorical]") {
  Categorical<double> dist;
  Eigen::RowVectorXd out;
  Eigen::MatrixXd grad;
  dist.set_logits(sample_logits());
  IndexRowVector actions(3);
  actions << 0, 4, 1;
  CHECK_THROWS_WITH(dist.log_prob(actions, out), Contains("action 4 of sample 1 is outside [0, 4)"));
  actions << 0, -1, 1;
  CHECK_THROWS_WITH(dist.log_prob(actions, out), Contains("outside [0, 4)"));
  IndexRowVector short_actions(2);
  short_actions << 0, 1;
  CHECK_THROWS_WITH(dist.log_prob(short_actions, out), Contains("actions has 2 samples but the distribution has batch size 3"));
  actions << 0, 1, 1;
  CHECK_THROWS_WITH(dist.loss_gradient(actions, Eigen::RowVectorXd::Ones(4), Eigen::RowVectorXd::Ones(3), grad),
                    Contains("log_prob_weight has 4 entries but the distribution has batch size 3"));
  CHECK_THROWS_WITH(dist.loss_gradient(actions, Eigen::RowVectorXd::Ones(3), Eigen::RowVectorXd::Ones(2), grad),
                    Contains("entropy_weight has 2 entries"));

  BoolMatrix allowed = BoolMatrix::Constant(4, 3, true);
  allowed.col(2).setConstant(false);
  CHECK_THROWS_WITH(dist.set_logits(sample_logits(), allowed), Contains("mask forbids every action of sample 2"));
  CHECK_THROWS_WITH(dist.set_logits(sample_logits(), BoolMatrix::Constant(4, 2, true)),
                    Contains("mask: expected 4x3, got 4x2"));
  allowed.col(2).setConstant(true);
  allowed(1, 0) = false;
  dist.set_logits(sample_logits(), allowed);
  actions << 1, 1, 1;
  CHECK_THROWS_WITH(dist.log_prob(actions, out), Contains("action 1 of sample 0 is masked"));
  CHECK_THROWS_WITH(dist.loss_gradient(actions, Eigen::RowVectorXd::Ones(3), Eigen::RowVectorXd::Ones(3), grad),
                    Contains("is masked"));

  Categorical<double> other;
  other.set_logits(Eigen::MatrixXd::Zero(4, 2));
  CHECK_THROWS_WITH(dist.kl(other, out), Contains("other has 4x2 logits, this has 4x3"));
  CHECK_THROWS_WITH(other.set_logits(Eigen::MatrixXd::Zero(0, 2)), Contains("no rows"));

  Eigen::MatrixXd bad = sample_logits();
  bad(2, 1) = std::numeric_limits<double>::quiet_NaN();
  if (pgrad::checks_enabled())
    CHECK_THROWS_WITH(dist.set_logits(bad), Contains("logits: non-finite value nan at row 2, column 1"));
}

TEST_CASE("categorical calls allocate nothing once the batch size is fixed", "[categorical]") {
  const Eigen::MatrixXf z = Eigen::MatrixXf::Random(5, 64);
  BoolMatrix allowed = BoolMatrix::Constant(5, 64, true);
  allowed.row(2).setConstant(false);
  const Eigen::RowVectorXf w = Eigen::RowVectorXf::Ones(64), e = Eigen::RowVectorXf::Constant(64, 0.01f);
  Categorical<float> dist, other;
  other.set_logits(z);
  IndexRowVector actions;
  Eigen::RowVectorXf lp, h, kl;
  Eigen::MatrixXf grad, p;
  Rng rng(3);
  for (int round = 0; round < 3; ++round) {
    Eigen::internal::set_is_malloc_allowed(round > 0 ? false : true);
    dist.set_logits(z, allowed);
    dist.sample(rng, actions);
    dist.mode(actions);
    dist.log_prob(actions, lp);
    dist.entropy(h);
    dist.kl(other, kl);
    dist.probabilities(p);
    dist.loss_gradient(actions, w, e, grad);
    dist.set_logits(z);
    dist.loss_gradient(actions, w, e, grad);
    Eigen::internal::set_is_malloc_allowed(true);
  }
  CHECK(grad.allFinite());
  Eigen::internal::set_is_malloc_allowed(false);
  CHECK_THROWS(Eigen::MatrixXf(100, 100));  // the check itself works
  Eigen::internal::set_is_malloc_allowed(true);
}

namespace {
// The distribution as whole-matrix Eigen expressions (the library's previous implementation, with
// exp and log on every entry by the batch-independent exp_in_place / log_in_place): the loops
// must give exactly these numbers.
template <class S>
struct ExpressionCategorical {
  using M = pgrad::Matrix<S>;
  using R = pgrad::RowVector<S>;
  M log_probs, probs;
  BoolMatrix allowed;
  bool masked = false;
  R column_max, column_sum, entropy;

  void set_logits(const M& logits) {
    masked = false;
    log_probs = logits;
    normalize();
  }
  void set_logits(const M& logits, const BoolMatrix& mask) {
    masked = true;
    allowed = mask;
    log_probs.resize(logits.rows(), logits.cols());
    log_probs.array() = allowed.select(logits.array(), -std::numeric_limits<S>::infinity());
    normalize();
  }
  void normalize() {
    column_max = log_probs.colwise().maxCoeff();  // (a maximum does not depend on the order)
    log_probs.rowwise() -= column_max;
    probs = log_probs;
    pgrad::dist::detail::exp_in_place(probs);
    if (masked) probs.array() = allowed.select(probs.array(), S(0));
    column_sum.resize(probs.cols());
    for (Index j = 0; j < probs.cols(); ++j) {  // each column summed from a packet's start
      const pgrad::Vector<S> column = probs.col(j);
      column_sum[j] = column.sum();
    }
    probs.array().rowwise() /= column_sum.array();
    pgrad::dist::detail::log_in_place(column_sum);
    log_probs.array().rowwise() -= column_sum.array();
    entropy.resize(log_probs.cols());
    entropy.array() = -(probs.array() > S(0)).select(probs.array() * log_probs.array(), S(0)).colwise().sum();
  }
  void mode(IndexRowVector& actions) const {
    actions.resize(log_probs.cols());
    for (Index j = 0; j < log_probs.cols(); ++j) log_probs.col(j).maxCoeff(&actions[j]);
  }
  void loss_gradient(const IndexRowVector& actions, const R& log_prob_weight, const R& entropy_weight,
                     M& grad_logits) const {
    const auto p = probs.array();
    const auto w = log_prob_weight.array();
    const auto e = entropy_weight.array();
    grad_logits.resize(log_probs.rows(), log_probs.cols());
    grad_logits.array() =
        (p > S(0)).select(-p * (((log_probs.array().rowwise() + entropy.array()).rowwise() * e).rowwise() + w), S(0));
    for (Index j = 0; j < log_probs.cols(); ++j) grad_logits(actions[j], j) += w[j];
  }
};

template <class S>
void check_categorical_matches_expressions() {
  Rng rng(12);
  for (const Index n : {1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 18, 31, 32, 33, 40, 64, 100}) {
    for (const Index batch : {1, 3, 64, 101}) {
      for (const int variant : {0, 1, 2}) {  // plain, masked, extreme logits (underflowing probabilities) with ties
        CAPTURE(n, batch, variant);
        pgrad::Matrix<S> logits(n, batch);
        BoolMatrix mask(n, batch);
        for (Index j = 0; j < batch; ++j)
          for (Index k = 0; k < n; ++k) {
            logits(k, j) = (variant == 2 ? S(60) : S(2)) * rng.normal<S>();
            if (variant == 2 && rng.uniform() < 0.2) logits(k, j) = S(std::round(logits(k, j) / 30) * 30);
            mask(k, j) = rng.uniform() < 0.7;
          }
        for (Index j = 0; j < batch; ++j) mask(static_cast<Index>(rng.below(static_cast<std::uint64_t>(n))), j) = true;
        Categorical<S> dist;
        ExpressionCategorical<S> expected;
        if (variant == 1) {
          dist.set_logits(logits, mask);
          expected.set_logits(logits, mask);
        } else {
          dist.set_logits(logits);
          expected.set_logits(logits);
        }
        CHECK(dist.log_probabilities() == expected.log_probs);
        CHECK(dist.probabilities() == expected.probs);
        pgrad::RowVector<S> h;
        dist.entropy(h);
        CHECK(h == expected.entropy);
        IndexRowVector mode, expected_mode;
        dist.mode(mode);
        expected.mode(expected_mode);
        CHECK(mode == expected_mode);

        IndexRowVector actions(batch);
        pgrad::RowVector<S> w(batch), e(batch);
        for (Index j = 0; j < batch; ++j) {
          Index a = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
          while (variant == 1 && !mask(a, j)) a = (a + 1) % n;
          actions[j] = a;
          w[j] = rng.normal<S>();
          e[j] = S(0.01) * rng.normal<S>();
        }
        pgrad::Matrix<S> grad, expected_grad;
        dist.loss_gradient(actions, w, e, grad);
        expected.loss_gradient(actions, w, e, expected_grad);
        CHECK(grad == expected_grad);
      }
    }
  }
}
}  // namespace

TEST_CASE("categorical outputs equal the whole-matrix Eigen expressions bit for bit", "[categorical]") {
  check_categorical_matches_expressions<float>();
  check_categorical_matches_expressions<double>();
}

namespace {
// Each sample of a batch of every width from 1 to 40 has the bits it has alone.
template <class S>
void check_categorical_batch_independent() {
  Rng rng(5);
  for (const Index n : {2, 3, 6, 17}) {  // 17: whole packets and a rest on every instruction set
    pgrad::Matrix<S> logits(n, 40);
    for (Index i = 0; i < logits.size(); ++i) logits.data()[i] = S(3) * rng.normal<S>();
    Categorical<S> alone, batched;
    pgrad::RowVector<S> h_alone, h_batched;
    for (Index width = 1; width <= 40; ++width) {
      batched.set_logits(logits.leftCols(width));
      batched.entropy(h_batched);
      for (Index j = 0; j < width; ++j) {
        CAPTURE(n, width, j);
        alone.set_logits(logits.col(j));
        alone.entropy(h_alone);
        CHECK(alone.log_probabilities() == batched.log_probabilities().col(j));
        CHECK(alone.probabilities() == batched.probabilities().col(j));
        CHECK(h_alone[0] == h_batched[j]);
      }
    }
  }
}
}  // namespace

TEST_CASE("a sample's categorical has the same bits in any batch", "[categorical]") {
  // What lets N processes of 2 copies act exactly as one process of 2N (data-parallel training).
  check_categorical_batch_independent<float>();
  check_categorical_batch_independent<double>();
}
