#pragma once
// pgrad::envs::SelectObservation: keeps some entries of the observation and hides the rest
// (partially observed problems, e.g. CartPole without its velocities).
#include <array>
#include <cstdint>
#include <utility>

#include <pgrad/core/check.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/wrapper.hpp>

namespace pgrad::envs {

/// The agent sees only the entries `indices` (K of them, in that order) of the inner
/// environment's observation, and the observation space is the matching sub-box. The classic
/// partially observed control task is CartPole without its two velocities
/// (hide_cartpole_velocity: x and θ only; sb3-contrib's CartPoleNoVel), which a memoryless
/// policy cannot balance for long and a recurrent one can. The observation has a fixed size K,
/// so a step allocates nothing. Checkpoints: the indices (checked on load), then the inner state.
template <class Env, int K>
class SelectObservation : public Wrapper<SelectObservation<Env, K>, Env> {
  using Base = Wrapper<SelectObservation<Env, K>, Env>;
  friend Base;
  static_assert(K > 0, "SelectObservation keeps at least one entry");

 public:
  using typename Base::Action;
  using typename Base::Scalar;
  using Observation = Eigen::Matrix<Scalar, K, 1>;
  static constexpr const char* state_section = "SelectObservation";

  /// Throws pgrad::Error when an index is outside the inner observation or repeated.
  SelectObservation(Env env, const std::array<Index, K>& indices) : Base(std::move(env)), indices_(indices) {
    const Index size = this->env_.observation_space().size();
    for (int k = 0; k < K; ++k) {
      PGRAD_REQUIRE(indices_[k] >= 0 && indices_[k] < size, "SelectObservation: index ", indices_[k],
                    " is outside the inner observation of size ", size);
      for (int j = 0; j < k; ++j)
        PGRAD_REQUIRE(indices_[j] != indices_[k], "SelectObservation: index ", indices_[k], " is given twice");
    }
  }

  const std::array<Index, K>& indices() const { return indices_; }

  Box<Scalar> observation_space() const {
    const auto inner = this->env_.observation_space();
    Vector<Scalar> low(K), high(K);
    for (int k = 0; k < K; ++k) {
      low[k] = inner.low[indices_[k]];
      high[k] = inner.high[indices_[k]];
    }
    return Box<Scalar>(low, high);
  }

  Observation reset(Rng& rng) { return select(this->env_.reset(rng)); }
  // The base's reset(seed) returns the inner observation type, so this one is declared here.
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return reset(rng);
  }

  StepResult<Observation, Scalar> step(const Action& action) {
    const auto inner = this->env_.step(action);
    return {select(inner.observation), inner.reward, inner.terminated, inner.truncated};
  }

 private:
  void save_own_state(Writer& w) const {
    for (int k = 0; k < K; ++k) w.named("index", static_cast<double>(indices_[k]));
  }
  void load_own_state(Reader& r) {
    for (int k = 0; k < K; ++k) r.expect_same(state_section, "index", static_cast<double>(indices_[k]));
  }

  template <class InnerObservation>
  Observation select(const InnerObservation& inner) const {
    Observation out;
    for (int k = 0; k < K; ++k) out[k] = inner[indices_[k]];
    return out;
  }

  std::array<Index, K> indices_;
};

/// CartPole (or a wrapper around it) that shows the cart position x and the pole angle θ only:
/// the two velocities are hidden, so acting well needs memory.
template <class Env>
SelectObservation<Env, 2> hide_cartpole_velocity(Env env) {
  return SelectObservation<Env, 2>(std::move(env), {0, 2});
}

}  // namespace pgrad::envs
