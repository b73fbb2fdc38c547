#pragma once
// Dials: an environment with MultiDiscrete actions (three dials of 3, 5 and 2 positions) and
// optional per-component action masks, used by examples/multi_discrete.cpp and the tests.
#include <memory>

#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>

/// Three dials of 3, 5 and 2 positions: MultiDiscrete({3, 5, 2}) actions. Each step shows a
/// target position per dial (one-hot, 10 values) and pays the fraction of dials set to their
/// target; targets are redrawn every step, 16 steps an episode. Optimal return 16; uniformly
/// random choices earn (1/3 + 1/5 + 1/2)/3 · 16 ≈ 5.5. With `masked`, the position after each
/// target (cyclically) is forbidden by action_mask() and would pay 10: taking one counts in
/// `forbidden_taken` (shared by copies of the environment).
struct Dials {
  using Scalar = float;
  using Observation = Eigen::Matrix<float, 10, 1>;
  using Action = Eigen::Matrix<pgrad::Index, 3, 1>;
  static constexpr const char* state_section = "Dials";
  static constexpr pgrad::Index sizes[3] = {3, 5, 2};

  bool masked = false;
  pgrad::Index t = 0;
  Action target = Action::Zero();
  pgrad::Rng rng = pgrad::Rng(0);
  Eigen::Array<bool, 10, 1> mask = Eigen::Array<bool, 10, 1>::Constant(true);
  std::shared_ptr<long long> forbidden_taken = std::make_shared<long long>(0);

  pgrad::envs::Box<float> observation_space() const { return pgrad::envs::Box<float>::uniform(10, 0.0f, 1.0f); }
  pgrad::envs::MultiDiscrete action_space() const { return pgrad::envs::MultiDiscrete({3, 5, 2}); }
  pgrad::Index max_episode_steps() const { return 16; }
  Observation observation() const {
    Observation o = Observation::Zero();
    for (pgrad::Index k = 0, offset = 0; k < 3; offset += sizes[k], ++k) o[offset + target[k]] = 1.0f;
    return o;
  }
  bool forbidden(pgrad::Index k, pgrad::Index a) const { return masked && a == (target[k] + 1) % sizes[k]; }
  void draw_targets() {
    pgrad::Index offset = 0;
    for (pgrad::Index k = 0; k < 3; ++k) {
      target[k] = static_cast<pgrad::Index>(rng.below(static_cast<std::uint64_t>(sizes[k])));
      for (pgrad::Index a = 0; a < sizes[k]; ++a) mask[offset + a] = !forbidden(k, a);
      offset += sizes[k];
    }
  }
  const Eigen::Array<bool, 10, 1>& action_mask() const { return mask; }
  Observation reset(pgrad::Rng& reset_rng) {
    rng = pgrad::Rng(reset_rng.next_u64());
    t = 0;
    draw_targets();
    return observation();
  }
  pgrad::envs::StepResult<Observation> step(const Action& action) {
    float reward = 0;
    for (pgrad::Index k = 0; k < 3; ++k) {
      if (forbidden(k, action[k])) {
        ++*forbidden_taken;
        reward += 10.0f;
      }
      reward += action[k] == target[k] ? 1.0f / 3.0f : 0.0f;
    }
    ++t;
    draw_targets();
    pgrad::envs::StepResult<Observation> result;
    result.observation = observation();
    result.reward = reward;
    result.truncated = t == 16;
    return result;
  }
  void save_state(pgrad::Writer& w) const {
    w.section(state_section);
    w.i64(t);
    for (pgrad::Index k = 0; k < 3; ++k) w.i64(target[k]);
    w.rng(rng);
  }
  void load_state(pgrad::Reader& r) {
    r.section(state_section);
    t = static_cast<pgrad::Index>(r.i64_in("Dials step", 0, 15));
    for (pgrad::Index k = 0; k < 3; ++k) target[k] = static_cast<pgrad::Index>(r.i64_in("Dials target", 0, sizes[k] - 1));
    r.rng(rng, "Dials");
    pgrad::Index offset = 0;
    for (pgrad::Index k = 0; k < 3; ++k) {
      for (pgrad::Index a = 0; a < sizes[k]; ++a) mask[offset + a] = !forbidden(k, a);
      offset += sizes[k];
    }
  }
};

/// Dials with its per-component action masks.
inline Dials masked_dials() {
  Dials env;
  env.masked = true;
  return env;
}

