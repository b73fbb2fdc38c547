// Learning with action masks: PPO, A2C and TRPO (feed-forward) and recurrent PPO and TRPO reach
// the best allowed return of MaskedChoice (6; the forbidden action pays 10) without ever taking a
// forbidden action. The masks' mechanics are test_action_masks.cpp.
#include <catch2/catch.hpp>

#include "masked_choice.hpp"

#include <pgrad/training/evaluate.hpp>

using pgrad_test::MaskedChoice;

namespace {
// Trains for 30,000 steps (a forbidden action would throw), then checks the deterministic policy's
// return and that stochastic evaluation takes no forbidden action either.
template <class Algorithm>
void check_learns_best_allowed(Algorithm& algorithm) {
  algorithm.learn(30000);
  CHECK(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3).mean_return == Approx(6.0).epsilon(1e-6));
  CHECK_NOTHROW(pgrad::evaluate_policy(algorithm.policy(), MaskedChoice{}, 10, 3, false));
}
}  // namespace

TEST_CASE("PPO, A2C and TRPO never take a forbidden action and learn the best allowed one",
          "[action_masks][learning]") {
  pgrad_test::for_each_feed_forward_algorithm([](auto& algorithm) { check_learns_best_allowed(algorithm); });
}

TEST_CASE("recurrent PPO and TRPO never take a forbidden action and learn the best allowed one",
          "[action_masks][recurrent][learning]") {
  pgrad_test::for_each_recurrent_algorithm([](auto& algorithm) { check_learns_best_allowed(algorithm); });
}
