#pragma once
// The environment contract. Any class with these members is an environment; nothing to derive.
//
//   struct MyEnv {
//     using Scalar = float;
//     using Observation = Eigen::Matrix<float, 3, 1>;  // any Eigen column vector, fixed or dynamic
//     using Action = pgrad::Index;                     // Index for Discrete; Eigen column vector for Box
//     pgrad::envs::Box<float> observation_space() const;
//     pgrad::envs::Discrete action_space() const;      // or Box<Scalar>
//     Observation reset(pgrad::Rng& rng);              // start an episode, drawing from rng
//     pgrad::envs::StepResult<Observation> step(const Action& action);
//   };
//
// `terminated` means a true terminal state (the learner does not bootstrap); `truncated` means
// the episode was cut (a time limit): the learner bootstraps from V(observation). Both may be
// set only as Gymnasium allows: a step that is both terminal and at the time limit reports
// terminated = true (and may also report truncated = true); terminated wins.
#include <type_traits>
#include <utility>

#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/spaces.hpp>

namespace pgrad::envs {

/// What one step returns: the next observation (the final one when the episode ended), the
/// reward for the transition, and the two end-of-episode flags.
template <class Observation, class Scalar = typename Observation::Scalar>
struct StepResult {
  Observation observation;
  Scalar reward = Scalar(0);
  bool terminated = false;
  bool truncated = false;

  bool done() const { return terminated || truncated; }
};

namespace detail {
template <class, class = void> struct has_scalar : std::false_type {};
template <class E> struct has_scalar<E, std::void_t<typename E::Scalar>> : std::true_type {};
template <class, class = void> struct has_observation : std::false_type {};
template <class E> struct has_observation<E, std::void_t<typename E::Observation>> : std::true_type {};
template <class, class = void> struct has_action : std::false_type {};
template <class E> struct has_action<E, std::void_t<typename E::Action>> : std::true_type {};
template <class, class = void> struct has_observation_space : std::false_type {};
template <class E>
struct has_observation_space<E, std::void_t<decltype(std::declval<const E&>().observation_space())>>
    : std::true_type {};
template <class, class = void> struct has_action_space : std::false_type {};
template <class E>
struct has_action_space<E, std::void_t<decltype(std::declval<const E&>().action_space())>>
    : std::true_type {};
template <class, class = void> struct has_reset : std::false_type {};
template <class E>
struct has_reset<E, std::void_t<decltype(std::declval<E&>().reset(std::declval<Rng&>()))>>
    : std::true_type {};
template <class, class = void> struct has_action_mask : std::false_type {};
template <class E>
struct has_action_mask<E, std::void_t<decltype(std::declval<const E&>().action_mask())>> : std::true_type {};
template <class T, class = void> struct is_integer_vector : std::false_type {};
template <class T>
struct is_integer_vector<T, std::void_t<typename T::Scalar, decltype(T::RowsAtCompileTime)>>
    : std::bool_constant<std::is_integral_v<typename T::Scalar>> {};
template <class, class = void> struct has_step : std::false_type {};
template <class E>
struct has_step<E, std::void_t<decltype(std::declval<E&>().step(std::declval<const typename E::Action&>()))>>
    : std::true_type {};
}  // namespace detail

/// True when E meets the environment contract above.
template <class E>
constexpr bool is_env_v = detail::has_scalar<E>::value && detail::has_observation<E>::value &&
                          detail::has_action<E>::value && detail::has_observation_space<E>::value &&
                          detail::has_action_space<E>::value && detail::has_reset<E>::value &&
                          detail::has_step<E>::value;

/// Compile-time check with one readable message per missing member:
/// `static_assert(pgrad::envs::is_env<MyEnv>());` or `pgrad::envs::require_env<MyEnv>();`.
template <class E>
constexpr bool require_env() {
  static_assert(detail::has_scalar<E>::value, "pgrad env contract: missing `using Scalar = ...;`");
  static_assert(detail::has_observation<E>::value,
                "pgrad env contract: missing `using Observation = <Eigen column vector>;`");
  static_assert(detail::has_action<E>::value,
                "pgrad env contract: missing `using Action = ...;` (pgrad::Index or an Eigen vector)");
  static_assert(detail::has_observation_space<E>::value,
                "pgrad env contract: missing `observation_space() const`");
  static_assert(detail::has_action_space<E>::value, "pgrad env contract: missing `action_space() const`");
  static_assert(detail::has_reset<E>::value, "pgrad env contract: missing `Observation reset(pgrad::Rng&)`");
  if constexpr (detail::has_action_mask<E>::value && detail::has_action<E>::value)
    static_assert(std::is_integral_v<typename E::Action> || detail::is_integer_vector<typename E::Action>::value,
                  "pgrad env contract: action_mask() is for Discrete and MultiDiscrete action spaces (an integer "
                  "Action or an Eigen vector of integers)");
  static_assert(detail::has_step<E>::value,
                "pgrad env contract: missing `StepResult<Observation> step(const Action&)`");
  if constexpr (detail::has_step<E>::value && detail::has_observation<E>::value &&
                detail::has_scalar<E>::value) {
    using Result = decltype(std::declval<E&>().step(std::declval<const typename E::Action&>()));
    static_assert(std::is_same_v<std::decay_t<decltype(std::declval<Result&>().observation)>,
                                 typename E::Observation>,
                  "pgrad env contract: step() must return StepResult<Observation>");
  }
  return true;
}

template <class E>
struct is_env : std::bool_constant<is_env_v<E>> {};

/// True when E's actions are discrete (Action is an integer type).
template <class E>
constexpr bool has_discrete_actions_v = std::is_integral_v<typename E::Action>;

/// True when E's actions are MultiDiscrete: Action is an Eigen column vector of integers (one
/// choice per component) and action_space() a MultiDiscrete.
template <class E>
constexpr bool has_multi_discrete_actions_v = detail::is_integer_vector<typename E::Action>::value;

/// True when E has the optional member `action_mask() const`: for a Discrete(n) space, n flags
/// (for a MultiDiscrete one, Σ nvec: component 0's, then 1's, ...) (true = allowed) for the current state, read after every reset and step (an Eigen vector or
/// array of bool, or anything with size() and operator[]). The collector samples only allowed
/// actions, updates recompute log-probabilities and entropies with the same masks (sb3-contrib
/// MaskablePPO's semantics), and evaluate_policy honours them.
template <class E>
constexpr bool has_action_mask_v = detail::has_action_mask<E>::value;

namespace detail {
template <class, class = void> struct has_inner : std::false_type {};
template <class E>
struct has_inner<E, std::void_t<decltype(std::declval<const E&>().inner())>> : std::true_type {};
template <class, class = void> struct has_episode_running : std::false_type {};
template <class E>
struct has_episode_running<E, std::void_t<decltype(std::declval<const E&>().episode_running())>> : std::true_type {};
template <class, class = void> struct has_max_episode_steps : std::false_type {};
template <class E>
struct has_max_episode_steps<E, std::void_t<decltype(std::declval<const E&>().max_episode_steps())>>
    : std::true_type {};
}  // namespace detail

/// True when E is a wrapper: it exposes `inner()`, the environment it wraps.
template <class E>
constexpr bool is_wrapper_v = detail::has_inner<E>::value;

/// The time limit an environment declares through the optional member
/// `Index max_episode_steps() const` (0 = none), looked up through wrappers' `inner()`; 0 when
/// nothing in the chain declares one. check_env verifies truncation against it.
template <class E>
Index max_episode_steps_of(const E& env) {
  if constexpr (detail::has_max_episode_steps<E>::value)
    return static_cast<Index>(env.max_episode_steps());
  else if constexpr (detail::has_inner<E>::value)
    return max_episode_steps_of(env.inner());
  else
    return 0;
}

/// Whether an environment's episode is under way (reset, and not ended since), through the
/// optional member `bool episode_running() const`, looked up through wrappers' `inner()`; true
/// when nothing in the chain declares one. VectorEnv checks on load that every copy's is.
template <class E>
bool episode_running_of(const E& env) {
  if constexpr (detail::has_episode_running<E>::value)
    return env.episode_running();
  else if constexpr (detail::has_inner<E>::value)
    return episode_running_of(env.inner());
  else
    return true;
}

}  // namespace pgrad::envs
