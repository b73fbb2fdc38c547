#pragma once
// pgrad::envs::Wrapper: the forwarding every environment wrapper shares, written once.
#include <cstdint>
#include <type_traits>
#include <utility>

#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/envs/env.hpp>

namespace pgrad::envs {

/// Base of the environment wrappers (CRTP: `class MyWrapper : public Wrapper<MyWrapper<Env>, Env>`).
/// It holds the wrapped environment and forwards to it everything a wrapper leaves alone:
///
///   Scalar, Observation, Action        the inner environment's types
///   observation_space(), action_space() the inner spaces
///   reset(Rng&), step(action)           the inner reset and step
///   reset(std::uint64_t seed)           Rng(seed), then the wrapper's own reset(Rng&)
///   action_mask()                       the inner mask (when the inner environment has one)
///   inner()                             the wrapped environment (is_wrapper_v, max_episode_steps_of
///                                       and episode_recorder look through it)
///   save_state / load_state             the section named Derived::state_section, then the
///                                       wrapper's own fields (Derived::save_own_state /
///                                       load_own_state, nothing by default), then the inner
///                                       environment's state (save_state_of / load_state_of)
///
/// A wrapper declares only what it changes; members it declares hide the forwarding ones. One
/// that declares reset(Rng&) adds `using Base::reset;` so that reset(seed) stays visible and
/// reaches its own reset(Rng&). It must declare `static constexpr const char* state_section`
/// and, when it has state, befriend the base so that the base calls its private
/// save_own_state(Writer&) const and load_own_state(Reader&).
/// Cost: none beyond the inner environment's (the forwarding inlines).
template <class Derived, class Env>
class Wrapper {
  static_assert(require_env<Env>());

 public:
  using Scalar = typename Env::Scalar;
  using Observation = typename Env::Observation;
  using Action = typename Env::Action;

  auto observation_space() const { return env_.observation_space(); }
  auto action_space() const { return env_.action_space(); }

  Observation reset(Rng& rng) { return env_.reset(rng); }
  Observation reset(std::uint64_t seed) {
    Rng rng(seed);
    return self().reset(rng);
  }
  auto step(const Action& action) { return env_.step(action); }
  template <class E = Env, class = std::enable_if_t<has_action_mask_v<E>>>
  decltype(auto) action_mask() const {
    return env_.action_mask();
  }

  Env& inner() { return env_; }
  const Env& inner() const { return env_; }

  /// Checkpoints: the wrapper's section and fields, then the inner environment's state.
  void save_state(Writer& w) const {
    w.section(Derived::state_section);
    static_cast<const Derived&>(*this).save_own_state(w);
    save_state_of(w, env_);
  }
  void load_state(Reader& r) {
    r.section(Derived::state_section);
    self().load_own_state(r);
    load_state_of(r, env_);
  }

 protected:
  explicit Wrapper(Env env) : env_(std::move(env)) {}

  /// A stateless wrapper writes and reads nothing of its own.
  void save_own_state(Writer&) const {}
  void load_own_state(Reader&) {}

  Env env_;

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace pgrad::envs
