#pragma once
// pgrad::envs::RecordEpisodeStatistics: episode return and length of the wrapped environment.
#include <cstdint>
#include <type_traits>
#include <utility>

#include <pgrad/core/random.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/wrapper.hpp>

namespace pgrad::envs {

/// One finished episode: which environment copy it ran in (0 for a single environment), the
/// undiscounted sum of its rewards, and its number of steps.
template <class Scalar>
struct Episode {
  Index env_index = 0;
  Scalar episode_return = Scalar(0);
  Index length = 0;
};

/// Records the return (sum of the inner environment's rewards, accumulated in double) and the
/// length of each episode, like Gymnasium's RecordEpisodeStatistics. Observations, rewards and
/// flags pass through unchanged. Put it innermost (directly around the raw environment) so that
/// the figures are the raw rewards even when NormalizeReward sits outside it; VectorEnv reports
/// these figures in finished_episodes() when it finds this wrapper in the chain.
template <class Env>
class RecordEpisodeStatistics : public Wrapper<RecordEpisodeStatistics<Env>, Env> {
  using Base = Wrapper<RecordEpisodeStatistics<Env>, Env>;
  friend Base;

 public:
  using typename Base::Action;
  using typename Base::Observation;
  using typename Base::Scalar;
  static constexpr const char* state_section = "RecordEpisodeStatistics";

  explicit RecordEpisodeStatistics(Env env) : Base(std::move(env)) {}

  /// Starts an episode (an unfinished one is discarded, not recorded).
  using Base::reset;
  Observation reset(Rng& rng) {
    return_ = 0.0;
    length_ = 0;
    return this->env_.reset(rng);
  }

  auto step(const Action& action) {
    auto result = this->env_.step(action);
    return_ += static_cast<double>(result.reward);
    ++length_;
    if (result.terminated || result.truncated) {
      last_.env_index = 0;
      last_.episode_return = static_cast<Scalar>(return_);
      last_.length = length_;
      ++episode_count_;
      return_ = 0.0;
      length_ = 0;
    }
    return result;
  }

  /// The most recently finished episode (all zeros before the first one ends).
  const Episode<Scalar>& last_episode() const { return last_; }
  /// How many episodes have finished since construction.
  std::uint64_t episode_count() const { return episode_count_; }
  /// Return and length of the episode in progress.
  double current_return() const { return return_; }
  Index current_length() const { return length_; }

 private:
  // Checkpoints: the episode in progress, the last finished one and the count.
  void save_own_state(Writer& w) const {
    w.f64(return_);
    w.i64(length_);
    w.i64(last_.env_index);
    w.scalar(last_.episode_return);
    w.i64(last_.length);
    w.u64(episode_count_);
  }
  // On load: returns finite, lengths in [0, 2^62], the copy index 0 (what step() records).
  void load_own_state(Reader& r) {
    return_ = r.finite<double>("RecordEpisodeStatistics current return");
    length_ = static_cast<Index>(r.i64_in("RecordEpisodeStatistics current length", 0, max_saved_counter));
    last_.env_index = static_cast<Index>(r.i64_in("RecordEpisodeStatistics last episode's copy index", 0, 0));
    last_.episode_return = r.finite<Scalar>("RecordEpisodeStatistics last episode's return");
    last_.length = static_cast<Index>(r.i64_in("RecordEpisodeStatistics last episode's length", 0, max_saved_counter));
    episode_count_ = r.u64();
  }

  double return_ = 0.0;
  Index length_ = 0;
  Episode<Scalar> last_{};
  std::uint64_t episode_count_ = 0;
};

namespace detail {
template <class, class = void> struct has_last_episode : std::false_type {};
template <class E>
struct has_last_episode<E, std::void_t<decltype(std::declval<const E&>().last_episode()),
                                        decltype(std::declval<const E&>().episode_count())>>
    : std::true_type {};

template <class E>
using inner_env_t = std::decay_t<decltype(std::declval<const E&>().inner())>;
}  // namespace detail

/// True when E is, or wraps (through `inner()`), an episode recorder: a class with
/// `last_episode()` and `episode_count()` like RecordEpisodeStatistics.
template <class E>
constexpr bool has_episode_recorder() {
  if constexpr (detail::has_last_episode<E>::value)
    return true;
  else if constexpr (detail::has_inner<E>::value)
    return has_episode_recorder<detail::inner_env_t<E>>();
  else
    return false;
}

/// The outermost episode recorder in env's wrapper chain (requires has_episode_recorder<E>()).
template <class E>
const auto& episode_recorder(const E& env) {
  static_assert(has_episode_recorder<E>(), "episode_recorder: no RecordEpisodeStatistics in the chain");
  if constexpr (detail::has_last_episode<E>::value)
    return env;
  else
    return episode_recorder(env.inner());
}

}  // namespace pgrad::envs
