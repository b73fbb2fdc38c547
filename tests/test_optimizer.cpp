// Optimisers against hand-computed PyTorch updates for two steps; global-norm clipping.
#include <catch2/catch.hpp>

#include <pgrad/core/random.hpp>
#include <pgrad/nn/clip_grad.hpp>
#include <pgrad/nn/optimizer.hpp>

#include <vector>

using pgrad::nn::Parameters;

namespace {
// θ0 = 1 with gradients 0.5 then -1 (expected values computed by hand from the update rules).
template <class Optimizer>
std::pair<double, double> two_steps(Optimizer& optimizer) {
  Parameters<double> p(1);
  p.value[0] = 1.0;
  p.grad[0] = 0.5;
  optimizer.step({&p});
  const double first = p.value[0];
  p.grad[0] = -1.0;
  optimizer.step({&p});
  return {first, p.value[0]};
}
}  // namespace

TEST_CASE("Adam matches the PyTorch update for two steps", "[nn][optimizer]") {
  // m1 = .05, v1 = .00025 -> θ1 = 1 - .1 * .5 / (.5 + 1e-8)
  // m2 = -.055, v2 = .00124975, bias corrections .19 and .001999 -> θ2 = 0.93661035424...
  pgrad::nn::Adam<double> adam({0.1, 0.9, 0.999, 1e-8});
  const auto [first, second] = two_steps(adam);
  CHECK(first == Approx(0.900000002).epsilon(1e-14));
  CHECK(second == Approx(0.9366103542405654).epsilon(1e-14));
  CHECK(adam.steps() == 2);
}

TEST_CASE("Adam learning rate can change between steps", "[nn][optimizer]") {
  pgrad::nn::Adam<double> adam({0.1, 0.9, 0.999, 1e-8});
  Parameters<double> p(1);
  p.value[0] = 1.0;
  p.grad[0] = 0.5;
  adam.set_learning_rate(0.2);
  adam.step({&p});
  CHECK(p.value[0] == Approx(1.0 - 0.2 * 0.5 / (0.5 + 1e-8)).epsilon(1e-14));
  CHECK_THROWS_AS(adam.set_learning_rate(-1.0), pgrad::Error);
}

TEST_CASE("RMSprop matches the PyTorch update for two steps", "[nn][optimizer]") {
  // v1 = .0025 -> θ1 = 1 - .01 * .5 / (.05 + 1e-8); v2 = .012475 -> θ2 = θ1 + .01 / (√.012475 + 1e-8)
  pgrad::nn::RMSprop<double> rmsprop({0.01, 0.99, 1e-8});
  const auto [first, second] = two_steps(rmsprop);
  CHECK(first == Approx(0.900000019999996).epsilon(1e-14));
  CHECK(second == Approx(0.9895323081911337).epsilon(1e-14));
}

TEST_CASE("SGD with momentum matches the PyTorch update for two steps", "[nn][optimizer]") {
  // buf1 = .5 -> θ1 = .95; buf2 = .9 * .5 - 1 = -.55 -> θ2 = .95 + .055 = 1.005
  pgrad::nn::Sgd<double> sgd({0.1, 0.9});
  const auto [first, second] = two_steps(sgd);
  CHECK(first == Approx(0.95).epsilon(1e-15));
  CHECK(second == Approx(1.005).epsilon(1e-15));
  pgrad::nn::Sgd<double> plain({0.1, 0.0});
  const auto [plain_first, plain_second] = two_steps(plain);
  CHECK(plain_first == Approx(0.95).epsilon(1e-15));
  CHECK(plain_second == Approx(1.05).epsilon(1e-15));
}

TEST_CASE("optimisers update several blocks like one vector and check block sizes", "[nn][optimizer]") {
  Parameters<double> a(2), b(1), joined(3);
  a.value << 1, 2;
  b.value << 3;
  joined.value << 1, 2, 3;
  a.grad << 0.1, -0.2;
  b.grad << 0.3;
  joined.grad << 0.1, -0.2, 0.3;
  pgrad::nn::Adam<double> split_adam({0.05, 0.9, 0.999, 1e-8}), joined_adam({0.05, 0.9, 0.999, 1e-8});
  for (int i = 0; i < 3; ++i) {
    split_adam.step({&a, &b});
    joined_adam.step({&joined});
  }
  CHECK(a.value[0] == joined.value[0]);
  CHECK(a.value[1] == joined.value[1]);
  CHECK(b.value[0] == joined.value[2]);
  Parameters<double> wrong(5);
  CHECK_THROWS_WITH(split_adam.step({&wrong, &b}), Catch::Contains("5 entries") && Catch::Contains("built for 2"));
}

namespace {
// Each entry of a 53-entry block (whole packets and a tail on every instruction set) against the
// same entry updated alone (the scalar path, checked against PyTorch above), for three steps.
template <class S, class Optimizer>
void check_packets_match_scalar_updates(const Optimizer& prototype) {
  const pgrad::Index n = 53;
  pgrad::Rng rng(11);
  Parameters<S> block(n);
  for (pgrad::Index i = 0; i < n; ++i) block.value[i] = rng.normal<S>();
  std::vector<Parameters<S>> alone(static_cast<std::size_t>(n), Parameters<S>(1));
  std::vector<Optimizer> alone_optimizers(static_cast<std::size_t>(n), prototype);
  for (pgrad::Index i = 0; i < n; ++i) alone[static_cast<std::size_t>(i)].value[0] = block.value[i];
  Optimizer block_optimizer = prototype;
  for (int step = 0; step < 3; ++step) {
    for (pgrad::Index i = 0; i < n; ++i) {
      block.grad[i] = S(0.1) * rng.normal<S>();
      alone[static_cast<std::size_t>(i)].grad[0] = block.grad[i];
      alone_optimizers[static_cast<std::size_t>(i)].step({&alone[static_cast<std::size_t>(i)]});
    }
    block_optimizer.step({&block});
    for (pgrad::Index i = 0; i < n; ++i) {
      INFO("step " << step << ", entry " << i);
      CHECK(block.value[i] == alone[static_cast<std::size_t>(i)].value[0]);
    }
  }
}
}  // namespace

TEST_CASE("Adam and RMSprop update entries in packets with the bits of an entry updated alone", "[nn][optimizer]") {
  check_packets_match_scalar_updates<float>(pgrad::nn::Adam<float>({2.5e-4f, 0.9f, 0.999f, 1e-5f}));
  check_packets_match_scalar_updates<double>(pgrad::nn::Adam<double>({3e-4, 0.9, 0.999, 1e-8}));
  check_packets_match_scalar_updates<float>(pgrad::nn::RMSprop<float>({7e-4f, 0.99f, 1e-5f}));
  check_packets_match_scalar_updates<double>(pgrad::nn::RMSprop<double>({7e-4, 0.99, 1e-5}));
}

TEST_CASE("bad optimiser hyperparameters throw naming the field", "[nn][optimizer][errors]") {
  CHECK_THROWS_WITH(pgrad::nn::Adam<float>({1e-3f, 1.0f, 0.999f, 1e-8f}), Catch::Contains("beta1"));
  CHECK_THROWS_WITH(pgrad::nn::RMSprop<float>({-1.0f, 0.99f, 1e-8f}), Catch::Contains("learning_rate"));
  CHECK_THROWS_WITH(pgrad::nn::Sgd<float>({0.1f, -0.5f}), Catch::Contains("momentum"));
}

TEST_CASE("clip_grad_norm scales by max_norm over the global norm exactly", "[nn][clip]") {
  Parameters<double> a(2), b(1);
  a.grad << 3, 4;
  b.grad << 12;  // global norm 13
  const double norm = pgrad::nn::clip_grad_norm({&a, &b}, 6.5);
  CHECK(norm == 13.0);
  const double c = 6.5 / (13.0 + 1e-6);
  CHECK(a.grad[0] == 3 * c);
  CHECK(a.grad[1] == 4 * c);
  CHECK(b.grad[0] == 12 * c);
  CHECK(std::sqrt(a.grad.squaredNorm() + b.grad.squaredNorm()) == Approx(6.5).epsilon(1e-6));
  // Below the threshold nothing changes.
  a.grad << 0.3, 0.4;
  CHECK(pgrad::nn::clip_grad_norm({&a}, 1.0) == Approx(0.5));
  CHECK(a.grad[0] == 0.3);
  a.grad[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(pgrad::nn::clip_grad_norm({&a}, 1.0), Catch::Contains("NaN"));
  CHECK_THROWS_AS(pgrad::nn::clip_grad_norm({&a}, 0.0), pgrad::Error);
}
