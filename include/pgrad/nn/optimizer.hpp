#pragma once
// First-order optimisers with PyTorch's update rules (torch.optim.Adam, RMSprop, SGD), acting on
// one or more flat Parameters blocks (e.g. actor, critic and log-std) as if they were one vector.
#include <cmath>
#include <initializer_list>
#include <vector>

#include <pgrad/core/check.hpp>
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

  /// Checkpoints: every state vector with its size.
  void save_state(Writer& w) const {
    w.u64(state_.size());
    for (const auto& v : state_) w.matrix(v);
  }
  void load_state(Reader& r, const char* who) {
    const auto count = r.u64();
    PGRAD_REQUIRE(count % static_cast<std::uint64_t>(per_block_) == 0 && count <= r.remaining(), who,
                  ": corrupt optimiser state (", count, " vectors)");
    std::vector<Vector<S>> loaded(static_cast<std::size_t>(count));
    for (auto& v : loaded) r.matrix(v, std::string(who) + " state vector");
    state_ = std::move(loaded);
  }

 private:
  int per_block_;
  std::vector<Vector<S>> state_;
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
    detail::check_hyper(config.learning_rate >= 0, "Adam", "learning_rate", config.learning_rate);
    detail::check_hyper(config.beta1 >= 0 && config.beta1 < 1, "Adam", "beta1", config.beta1);
    detail::check_hyper(config.beta2 >= 0 && config.beta2 < 1, "Adam", "beta2", config.beta2);
    detail::check_hyper(config.eps >= 0, "Adam", "eps", config.eps);
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
    for (Index i = 0; i < p.size(); ++i) {
      m[i] = beta1 * m[i] + (S(1) - beta1) * g[i];
      v[i] = beta2 * v[i] + (S(1) - beta2) * g[i] * g[i];
      theta[i] -= step_size_ * m[i] / (std::sqrt(v[i]) / sqrt_bias2_ + eps);
    }
  }

  /// Moment vectors (m, v per block) and step count, for checkpoints.
  detail::BlockState<S>& state() { return state_; }
  const detail::BlockState<S>& state() const { return state_; }
  void set_steps(long long steps) { steps_ = steps; }

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
    set_learning_rate(r.scalar<S>());
    steps_ = r.i64();
    state_.load_state(r, "Adam");
  }

 private:
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
    detail::check_hyper(config.learning_rate >= 0, "RMSprop", "learning_rate", config.learning_rate);
    detail::check_hyper(config.alpha >= 0 && config.alpha <= 1, "RMSprop", "alpha", config.alpha);
    detail::check_hyper(config.eps >= 0, "RMSprop", "eps", config.eps);
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
    for (Index i = 0; i < p.size(); ++i) {
      v[i] = alpha * v[i] + (S(1) - alpha) * g[i] * g[i];
      theta[i] -= lr * g[i] / (std::sqrt(v[i]) + eps);
    }
  }
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
    set_learning_rate(r.scalar<S>());
    state_.load_state(r, "RMSprop");
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
    detail::check_hyper(config.learning_rate >= 0, "Sgd", "learning_rate", config.learning_rate);
    detail::check_hyper(config.momentum >= 0, "Sgd", "momentum", config.momentum);
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
