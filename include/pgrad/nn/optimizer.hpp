#pragma once
// First-order optimisers with PyTorch's update rules (torch.optim.Adam, RMSprop, SGD), acting on
// one or more flat Parameters blocks (e.g. actor, critic and log-std) as if they were one vector.
#include <cmath>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/packet_math.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/nn/parameters.hpp>

namespace pgrad::nn {

namespace detail {
/// Per-block optimiser state (moment vectors), sized on the first step and checked afterwards.
template <class S>
class BlockState {
 public:
  explicit BlockState(int vectors_per_block) : per_block_(vectors_per_block) {}

  /// The k-th state vector of block b, zero-initialised on first use.
  Vector<S>& get(std::size_t block, int k, Index size, const char* who) {
    const std::size_t slot = block * static_cast<std::size_t>(per_block_) + static_cast<std::size_t>(k);
    // Grow a whole block at once so references to its other vectors stay valid.
    if (slot >= state_.size()) state_.resize((block + 1) * static_cast<std::size_t>(per_block_));
    Vector<S>& v = state_[slot];
    if (v.size() == 0) v = Vector<S>::Zero(size);
    PGRAD_REQUIRE(v.size() == size, who, ": parameter block ", block, " has ", size,
                  " entries but the optimiser state was built for ", v.size());
    return v;
  }
  /// Makes room for `blocks` blocks, so that get() on different blocks may then run concurrently.
  void reserve_blocks(std::size_t blocks) {
    const std::size_t slots = blocks * static_cast<std::size_t>(per_block_);
    if (state_.size() < slots) state_.resize(slots);
  }
  std::vector<Vector<S>>& vectors() { return state_; }
  const std::vector<Vector<S>>& vectors() const { return state_; }

  /// Declares the sizes of the parameter blocks this state will serve (in step order), so that
  /// load_state knows what to expect; an optimiser built for a policy is told them by the
  /// algorithm (Optimizer::expect_blocks).
  void expect_blocks(std::vector<Index> sizes) {
    for (Index size : sizes) PGRAD_REQUIRE(size >= 0, "optimiser: block size ", size, " must be >= 0");
    block_sizes_ = std::move(sizes);
  }

  /// Checkpoints: every state vector with its size.
  void save_state(Writer& w) const {
    w.u64(state_.size());
    for (const auto& v : state_) w.matrix(v);
  }
  /// Reads what save_state wrote. With declared block sizes (expect_blocks) the state must be
  /// empty (no step taken yet) or hold exactly per-block vectors of those sizes; without, at
  /// most 64 blocks of column vectors that fit in the payload, each block's vectors of one size
  /// (a later step checks them against its parameters). Every value must be finite, and those
  /// of vector `nonnegative` of each block (a mean of squares; -1: none) >= 0. Throws
  /// pgrad::Error naming `who` and the vector otherwise; the state is replaced only on success.
  void load_state(Reader& r, const char* who, int nonnegative = -1) {
    const std::uint64_t per_block = static_cast<std::uint64_t>(per_block_);
    const std::uint64_t count = r.u64();
    if (!block_sizes_.empty())
      PGRAD_REQUIRE(count == 0 || count == block_sizes_.size() * per_block, r.source(), ": corrupt ", who,
                    " state: ", count, " vectors, the optimiser expects 0 or ", block_sizes_.size() * per_block, " (",
                    per_block, " for each of ", block_sizes_.size(), " parameter blocks)");
    else
      PGRAD_REQUIRE(count % per_block == 0 && count <= 64 * per_block, r.source(), ": corrupt ", who, " state: ",
                    count, " vectors (a multiple of ", per_block, ", at most ", 64 * per_block, ")");
    std::vector<Vector<S>> loaded(static_cast<std::size_t>(count));
    for (std::size_t k = 0; k < loaded.size(); ++k) {
      const std::size_t block = k / per_block_;
      const int index = static_cast<int>(k % per_block_);
      const std::string what = std::string(who) + " state vector " + std::to_string(index) + " of block " +
                                std::to_string(block);
      if (!block_sizes_.empty()) {
        r.matrix(loaded[k], what, block_sizes_[block], 1);
      } else {
        r.bounded_vector(loaded[k], what, static_cast<Index>(r.remaining() / sizeof(S)));
        PGRAD_REQUIRE(index == 0 || loaded[k].size() == loaded[k - 1].size(), r.source(), ": corrupt ", what,
                      ": ", loaded[k].size(), " entries, vector 0 of the block has ", loaded[k - index].size());
      }
      if (index == nonnegative)
        PGRAD_REQUIRE((loaded[k].array() >= S(0)).all(), r.source(), ": corrupt ", what,
                      ": negative entries in a mean of squares");
    }
    state_ = std::move(loaded);
  }

 private:
  int per_block_;
  std::vector<Vector<S>> state_;
  std::vector<Index> block_sizes_;  // declared by expect_blocks (empty: unknown)
};

template <class S>
void check_hyper(bool ok, const char* who, const char* field, S value) {
  PGRAD_REQUIRE(ok, who, ": invalid ", field, " = ", value);
}
}  // namespace detail

/// Adam (Kingma & Ba 2015) as torch.optim.Adam: m ← β₁m + (1-β₁)g, v ← β₂v + (1-β₂)g²,
/// θ ← θ - lr·(m / (1-β₁ᵗ)) / (√(v / (1-β₂ᵗ)) + ε) — ε outside the square root. The learning rate
/// can be changed between steps (schedules).
template <class S>
class Adam {
 public:
  struct Config {
    S learning_rate = S(1e-3);
    S beta1 = S(0.9);
    S beta2 = S(0.999);
    S eps = S(1e-8);
  };
  Adam() : Adam(Config{}) {}
  explicit Adam(Config config) : config_(config), state_(2) {
    detail::check_hyper(config.learning_rate >= 0 && std::isfinite(config.learning_rate), "Adam", "learning_rate",
                        config.learning_rate);
    detail::check_hyper(config.beta1 >= 0 && config.beta1 < 1, "Adam", "beta1", config.beta1);
    detail::check_hyper(config.beta2 >= 0 && config.beta2 < 1, "Adam", "beta2", config.beta2);
    detail::check_hyper(config.eps >= 0 && std::isfinite(config.eps), "Adam", "eps", config.eps);
  }

  void set_learning_rate(S lr) {
    detail::check_hyper(lr >= 0 && std::isfinite(lr), "Adam", "learning_rate", lr);
    config_.learning_rate = lr;
  }
  S learning_rate() const { return config_.learning_rate; }
  const Config& config() const { return config_; }
  long long steps() const { return steps_; }

  /// One update of every block from its accumulated gradient.
  void step(std::initializer_list<Parameters<S>*> blocks) {
    begin_step(blocks.size());
    std::size_t b = 0;
    for (Parameters<S>* p : blocks) update_block(b++, *p);
  }

  /// step() in two parts, so that blocks can be updated concurrently: begin_step(n) once (it
  /// advances the step count), then update_block(b, block_b) for every b < n, in any order and
  /// on any thread; each call touches only its block and that block's moments.
  void begin_step(std::size_t num_blocks) {
    ++steps_;
    state_.reserve_blocks(num_blocks);
    const S bias1 = S(1) - static_cast<S>(std::pow(static_cast<double>(config_.beta1), static_cast<double>(steps_)));
    const S bias2 = S(1) - static_cast<S>(std::pow(static_cast<double>(config_.beta2), static_cast<double>(steps_)));
    step_size_ = config_.learning_rate / bias1;
    sqrt_bias2_ = std::sqrt(bias2);
  }
  void update_block(std::size_t b, Parameters<S>& p) {
    S* m = state_.get(b, 0, p.size(), "Adam").data();
    S* v = state_.get(b, 1, p.size(), "Adam").data();
    const S beta1 = config_.beta1, beta2 = config_.beta2, eps = config_.eps;
    const S* g = p.grad.data();
    S* theta = p.value.data();
    // Whole packets first (a scalar loop over std::sqrt does not vectorise without
    // -fno-math-errno, and was a quarter of CartPole PPO's time), with fused multiply-adds where
    // GCC and Clang contract the scalar statements below, so both give the same bits.
    namespace ei = Eigen::internal;
    using Packet = typename ei::packet_traits<S>::type;
    constexpr Index size = ei::packet_traits<S>::size;
    Index i = 0;
    if constexpr (size > 1) {
      const Packet b1 = ei::pset1<Packet>(beta1), c1 = ei::pset1<Packet>(S(1) - beta1);
      const Packet b2 = ei::pset1<Packet>(beta2), c2 = ei::pset1<Packet>(S(1) - beta2);
      const Packet step = ei::pset1<Packet>(step_size_), bias = ei::pset1<Packet>(sqrt_bias2_);
      for (; i + size <= p.size(); i += size) {
        const Packet gi = ei::ploadu<Packet>(g + i);
        const Packet mi = ei::pmadd(b1, ei::ploadu<Packet>(m + i), ei::pmul(c1, gi));
        const Packet vi = ei::pmadd(b2, ei::ploadu<Packet>(v + i), ei::pmul(ei::pmul(c2, gi), gi));
        const Packet denominator = ei::padd(ei::pdiv(packet::exact_sqrt(vi), bias), ei::pset1<Packet>(eps));
        ei::pstoreu(m + i, mi);
        ei::pstoreu(v + i, vi);
        ei::pstoreu(theta + i, ei::psub(ei::ploadu<Packet>(theta + i), ei::pdiv(ei::pmul(step, mi), denominator)));
      }
    }
    for (; i < p.size(); ++i) {
      m[i] = beta1 * m[i] + (S(1) - beta1) * g[i];
      v[i] = beta2 * v[i] + (S(1) - beta2) * g[i] * g[i];
      theta[i] -= step_size_ * m[i] / (std::sqrt(v[i]) / sqrt_bias2_ + eps);
    }
  }

  /// Declares the sizes of the parameter blocks step() will be given (checkpoints check them).
  void expect_blocks(std::vector<Index> sizes) { state_.expect_blocks(std::move(sizes)); }

  /// Moment vectors (m, v per block) and step count, for checkpoints.
  detail::BlockState<S>& state() { return state_; }
  const detail::BlockState<S>& state() const { return state_; }
  void set_steps(long long steps) {
    PGRAD_REQUIRE(steps >= 0 && steps <= max_saved_counter, "Adam::set_steps: ", steps, " is outside [0, 2^62]");
    steps_ = steps;
  }

  /// Checkpoints: hyperparameters (betas and eps checked on load), current learning rate, step
  /// count and the moment vectors.
  void save_state(Writer& w) const {
    w.section("Adam");
    w.named("beta1", static_cast<double>(config_.beta1));
    w.named("beta2", static_cast<double>(config_.beta2));
    w.named("eps", static_cast<double>(config_.eps));
    w.scalar(config_.learning_rate);
    w.i64(steps_);
    state_.save_state(w);
  }
  void load_state(Reader& r) {
    r.section("Adam");
    r.expect_same("Adam", "beta1", static_cast<double>(config_.beta1));
    r.expect_same("Adam", "beta2", static_cast<double>(config_.beta2));
    r.expect_same("Adam", "eps", static_cast<double>(config_.eps));
    const S learning_rate = r.finite<S>("Adam learning rate");
    PGRAD_REQUIRE(learning_rate >= 0, r.source(), ": corrupt Adam learning rate ", learning_rate, " (must be >= 0)");
    set_learning_rate(learning_rate);
    const auto steps = r.i64_in("Adam step count", 0, max_saved_counter);
    detail::BlockState<S> loaded = state_;
    loaded.load_state(r, "Adam", 1);
    const double bound = moment_bound(steps);
    for (std::size_t k = 0; k + 1 < loaded.vectors().size(); k += 2) {
      const Vector<S>& m = loaded.vectors()[k];
      const Vector<S>& v = loaded.vectors()[k + 1];
      for (Index i = 0; i < m.size(); ++i)
        PGRAD_REQUIRE(std::abs(static_cast<double>(m[i])) <= bound * (std::sqrt(static_cast<double>(v[i])) + tiny_),
                      r.source(), ": corrupt Adam state of block ", k / 2, ": first moment ", m[i],
                      " cannot go with second moment ", v[i], " after ", steps, " steps");
    }
    state_ = std::move(loaded);
    steps_ = steps;
  }

 private:
  // The largest |m| / √v Adam's updates can produce after `steps` steps, whatever the gradients
  // (Cauchy-Schwarz on m = (1-β₁) Σ β₁ʲ g and v = (1-β₂) Σ β₂ʲ g², j < steps), with 1 % for
  // rounding: (1-β₁) / √(1-β₂) · √(Σ_{j<steps} (β₁²/β₂)ʲ). A loaded state beyond it would make
  // steps of any size (m huge, v tiny), so load_state refuses it; tiny_ covers gradients whose
  // square underflows (v = 0 with m ≠ 0).
  double moment_bound(long long steps) const {
    const double beta1 = static_cast<double>(config_.beta1), beta2 = static_cast<double>(config_.beta2);
    const double ratio = beta1 * beta1 / beta2, t = static_cast<double>(steps);
    const double sum = ratio == 1.0 ? t : (std::pow(ratio, t) - 1.0) / (ratio - 1.0);  // inf: no bound
    return 1.01 * (1.0 - beta1) / std::sqrt(1.0 - beta2) * std::sqrt(sum);
  }
  static constexpr double tiny_ = 1e-15 * (std::is_same_v<S, float> ? 1e-4 : 1e-140);

  Config config_;
  detail::BlockState<S> state_;
  long long steps_ = 0;
  S step_size_ = 0, sqrt_bias2_ = 1;  // of the current step (begin_step)
};

/// RMSprop as torch.optim.RMSprop (not centred, no momentum): v ← αv + (1-α)g²,
/// θ ← θ - lr·g / (√v + ε). SB3's A2C uses α = 0.99, ε = 1e-5.
template <class S>
class RMSprop {
 public:
  struct Config {
    S learning_rate = S(1e-2);
    S alpha = S(0.99);
    S eps = S(1e-8);
  };
  RMSprop() : RMSprop(Config{}) {}
  explicit RMSprop(Config config) : config_(config), state_(1) {
    detail::check_hyper(config.learning_rate >= 0 && std::isfinite(config.learning_rate), "RMSprop", "learning_rate",
                        config.learning_rate);
    detail::check_hyper(config.alpha >= 0 && config.alpha <= 1, "RMSprop", "alpha", config.alpha);
    detail::check_hyper(config.eps >= 0 && std::isfinite(config.eps), "RMSprop", "eps", config.eps);
  }
  void set_learning_rate(S lr) {
    detail::check_hyper(lr >= 0 && std::isfinite(lr), "RMSprop", "learning_rate", lr);
    config_.learning_rate = lr;
  }
  S learning_rate() const { return config_.learning_rate; }
  const Config& config() const { return config_; }

  void step(std::initializer_list<Parameters<S>*> blocks) {
    begin_step(blocks.size());
    std::size_t b = 0;
    for (Parameters<S>* p : blocks) update_block(b++, *p);
  }
  /// step() in two parts, as Adam's: begin_step(n), then update_block(b, block_b) for each b < n.
  void begin_step(std::size_t num_blocks) { state_.reserve_blocks(num_blocks); }
  void update_block(std::size_t b, Parameters<S>& p) {
    S* v = state_.get(b, 0, p.size(), "RMSprop").data();
    const S alpha = config_.alpha, lr = config_.learning_rate, eps = config_.eps;
    const S* g = p.grad.data();
    S* theta = p.value.data();
    // Packets first, as Adam's (the same bits as the scalar statements below).
    namespace ei = Eigen::internal;
    using Packet = typename ei::packet_traits<S>::type;
    constexpr Index size = ei::packet_traits<S>::size;
    Index i = 0;
    if constexpr (size > 1) {
      const Packet a = ei::pset1<Packet>(alpha), c = ei::pset1<Packet>(S(1) - alpha), rate = ei::pset1<Packet>(lr);
      for (; i + size <= p.size(); i += size) {
        const Packet gi = ei::ploadu<Packet>(g + i);
        const Packet vi = ei::pmadd(a, ei::ploadu<Packet>(v + i), ei::pmul(ei::pmul(c, gi), gi));
        const Packet denominator = ei::padd(packet::exact_sqrt(vi), ei::pset1<Packet>(eps));
        ei::pstoreu(v + i, vi);
        ei::pstoreu(theta + i, ei::psub(ei::ploadu<Packet>(theta + i), ei::pdiv(ei::pmul(rate, gi), denominator)));
      }
    }
    for (; i < p.size(); ++i) {
      v[i] = alpha * v[i] + (S(1) - alpha) * g[i] * g[i];
      theta[i] -= lr * g[i] / (std::sqrt(v[i]) + eps);
    }
  }
  /// Declares the sizes of the parameter blocks step() will be given (checkpoints check them).
  void expect_blocks(std::vector<Index> sizes) { state_.expect_blocks(std::move(sizes)); }
  detail::BlockState<S>& state() { return state_; }
  const detail::BlockState<S>& state() const { return state_; }

  /// Checkpoints: alpha and eps (checked on load), current learning rate and the square averages.
  void save_state(Writer& w) const {
    w.section("RMSprop");
    w.named("alpha", static_cast<double>(config_.alpha));
    w.named("eps", static_cast<double>(config_.eps));
    w.scalar(config_.learning_rate);
    state_.save_state(w);
  }
  void load_state(Reader& r) {
    r.section("RMSprop");
    r.expect_same("RMSprop", "alpha", static_cast<double>(config_.alpha));
    r.expect_same("RMSprop", "eps", static_cast<double>(config_.eps));
    const S learning_rate = r.finite<S>("RMSprop learning rate");
    PGRAD_REQUIRE(learning_rate >= 0, r.source(), ": corrupt RMSprop learning rate ", learning_rate, " (must be >= 0)");
    set_learning_rate(learning_rate);
    state_.load_state(r, "RMSprop", 0);
  }

 private:
  Config config_;
  detail::BlockState<S> state_;
};

/// SGD with optional momentum as torch.optim.SGD (no dampening, not Nesterov):
/// buf ← μ·buf + g (buf = g on the first step), θ ← θ - lr·buf.
template <class S>
class Sgd {
 public:
  struct Config {
    S learning_rate = S(1e-2);
    S momentum = S(0);
  };
  Sgd() : Sgd(Config{}) {}
  explicit Sgd(Config config) : config_(config), state_(1) {
    detail::check_hyper(config.learning_rate >= 0 && std::isfinite(config.learning_rate), "Sgd", "learning_rate",
                        config.learning_rate);
    detail::check_hyper(config.momentum >= 0 && std::isfinite(config.momentum), "Sgd", "momentum", config.momentum);
  }
  void set_learning_rate(S lr) {
    detail::check_hyper(lr >= 0 && std::isfinite(lr), "Sgd", "learning_rate", lr);
    config_.learning_rate = lr;
  }
  S learning_rate() const { return config_.learning_rate; }

  void step(std::initializer_list<Parameters<S>*> blocks) {
    begin_step(blocks.size());
    std::size_t b = 0;
    for (Parameters<S>* p : blocks) update_block(b++, *p);
  }
  /// step() in two parts, as Adam's: begin_step(n), then update_block(b, block_b) for each b < n.
  void begin_step(std::size_t num_blocks) {
    first_step_ = !started_;
    started_ = true;
    state_.reserve_blocks(num_blocks);
  }
  void update_block(std::size_t b, Parameters<S>& p) {
    if (config_.momentum == S(0)) {
      p.value -= config_.learning_rate * p.grad;
      return;
    }
    Vector<S>& buf = state_.get(b, 0, p.size(), "Sgd");
    if (first_step_)
      buf = p.grad;
    else
      buf = config_.momentum * buf + p.grad;
    p.value -= config_.learning_rate * buf;
  }
  detail::BlockState<S>& state() { return state_; }

 private:
  Config config_;
  detail::BlockState<S> state_;
  bool started_ = false, first_step_ = false;
};

}  // namespace pgrad::nn
