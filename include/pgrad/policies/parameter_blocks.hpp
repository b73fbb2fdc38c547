#pragma once
// What the policy classes share: their list of parameter blocks and how their networks are built.
#include <array>
#include <cstddef>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/nn/parameters.hpp>

namespace pgrad {

/// How a policy's networks start: CleanRL's orthogonal layer_init (the default), uniform Xavier /
/// He, or PyTorch's default nn.Linear initialisation (weights and biases U(±1/√fan_in)), which
/// the PyTorch tutorials use by not initialising at all.
enum class PolicyInit { orthogonal, xavier_uniform, he_uniform, pytorch_default };

namespace detail {

/// A policy's parameter blocks in its block order, `P` = nn::Parameters<S> or its const: a
/// fixed-capacity list (no allocation) with the flat-vector views every policy offers (the
/// blocks' values or gradients concatenated, and back). `critic` is the critic's position
/// (Capacity: none), for the policies that update it on its own thread.
template <class P, std::size_t Capacity>
struct BlockList {
  std::array<P*, Capacity> items{};
  std::size_t count = 0;
  std::size_t critic = Capacity;

  P** begin() { return items.data(); }
  P** end() { return items.data() + count; }
  std::size_t size() const { return count; }
  void add(P& block) { items[count++] = &block; }

  Index parameter_count() const {
    Index total = 0;
    for (std::size_t b = 0; b < count; ++b) total += items[b]->size();
    return total;
  }
  std::vector<Index> sizes() const {
    std::vector<Index> out;
    for (std::size_t b = 0; b < count; ++b) out.push_back(items[b]->size());
    return out;
  }
  /// The blocks' `member` (value or grad) one after another into `flat`.
  template <class S>
  void concat(Vector<S> nn::Parameters<S>::*member, Vector<S>& flat) const {
    flat.resize(parameter_count());
    Index offset = 0;
    for (std::size_t b = 0; b < count; ++b) {
      flat.segment(offset, items[b]->size()) = items[b]->*member;
      offset += items[b]->size();
    }
  }
  /// The blocks' `member` (value or grad) from `flat` (throws naming `who` and `what` when its
  /// size differs).
  template <class S>
  void split(Vector<S> nn::Parameters<S>::*member, const VectorCRef<S>& flat, const char* who, const char* what) {
    PGRAD_REQUIRE(flat.size() == parameter_count(), who, "::", what, ": got ", flat.size(), " values for ",
                  parameter_count(), " parameters");
    Index offset = 0;
    for (std::size_t b = 0; b < count; ++b) {
      items[b]->*member = flat.segment(offset, items[b]->size());
      offset += items[b]->size();
    }
  }
  template <class S>
  void set_values(const VectorCRef<S>& flat, const char* who) {
    split(&nn::Parameters<S>::value, flat, who, "set_flat_parameters");
  }
};

/// {in, hidden..., out}: the layer sizes of a network.
inline std::vector<Index> layer_sizes(Index in, const std::vector<Index>& hidden, Index out) {
  std::vector<Index> sizes{in};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  sizes.push_back(out);
  return sizes;
}

/// A policy network's initial parameters: orthogonal with `hidden_gain` and `output_gain`
/// (CleanRL's layer_init) or Xavier / He uniform, with zero biases; or PyTorch's default.
template <class S>
void initialise_network(nn::Mlp<S>& net, PolicyInit init, double hidden_gain, double output_gain, Rng& rng) {
  switch (init) {
    case PolicyInit::orthogonal: nn::init_orthogonal(net, rng, hidden_gain, output_gain); break;
    case PolicyInit::xavier_uniform: nn::init_xavier_uniform(net, rng); break;
    case PolicyInit::he_uniform: nn::init_he_uniform(net, rng); break;
    case PolicyInit::pytorch_default: nn::init_pytorch_default(net, rng); break;
  }
}

/// Sets an action distribution from a head's output: logits (Categorical) or the mean with a
/// state-independent log-std (DiagGaussian).
template <bool Discrete, class Distribution, class Head, class S>
void set_distribution(Distribution& dist, const Head& head, const nn::Parameters<S>& log_std) {
  if constexpr (Discrete)
    dist.set_logits(head);
  else
    dist.set_state_independent(head, log_std.value);
}

}  // namespace detail
}  // namespace pgrad
