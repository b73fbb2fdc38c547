#pragma once
// Gru<S>: a gated recurrent unit layer (Cho et al. 2014, PyTorch's torch.nn.GRU equations) with
// hand-written backpropagation through time.
#include <cmath>

#include <pgrad/core/check.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/parameters.hpp>
#include <pgrad/nn/small_gemm.hpp>

namespace pgrad::nn {

/// A GRU layer over a batch of B sequences, one step at a time (input I, hidden state H):
///   r  = σ(W_ir x + b_ir + W_hr h + b_hr)                 reset gate
///   z  = σ(W_iz x + b_iz + W_hz h + b_hz)                 update gate
///   n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))        candidate
///   h' = (1 − z) ⊙ n + z ⊙ h
/// exactly PyTorch's torch.nn.GRU (the reset gate applied after W_hn, Cho et al. 2014's variant
/// as cuDNN has it). Parameters: one flat block W_i (3H x I), W_h (3H x H), b_i (3H), b_h (3H),
/// the gate rows in PyTorch's order r, z, n.
///
/// Sequences are column-major batches with column t·B + b for step t of sequence b (the rollout
/// layout of the on-policy algorithms). `resets` (T·B flags, optional) zeroes the hidden state of
/// sequence b before step t where an episode began, so one call spans episode boundaries.
///
/// forward(X, h0, resets, B) keeps what backward needs; backward(dL/dH) runs backpropagation
/// through time, accumulating every parameter gradient and giving dL/dX and dL/dh0. step(x, h)
/// is the inference path (no backward state). A sequence in one forward has the same bits as
/// its steps one by one through step(): both compute each step with the same code, the products
/// by small_gemm (a column's result does not depend on its batch) and the gates element by
/// element. Once the shapes are fixed nothing allocates. Cost per step and sample:
/// 6·H·(I + H) flops forward, about twice that backward.
template <class S>
class Gru {
 public:
  using Scalar = S;

  Gru(Index input_size, Index hidden_size) : in_(input_size), hidden_(hidden_size) {
    PGRAD_REQUIRE(input_size > 0 && hidden_size > 0, "Gru: sizes must be positive, got input ", input_size,
                  " hidden ", hidden_size);
    params_ = Parameters<S>(parameter_count());
  }

  Index input_size() const { return in_; }
  Index hidden_size() const { return hidden_; }
  /// 3H·I + 3H·H + 6H.
  Index parameter_count() const { return 3 * hidden_ * (in_ + hidden_ + 2); }
  Parameters<S>& parameters() { return params_; }
  const Parameters<S>& parameters() const { return params_; }
  void zero_grad() { params_.zero_grad(); }

  /// The blocks of the flat parameters (or of their gradients with grad = true).
  Eigen::Map<Matrix<S>> input_weight(bool grad = false) { return {at(grad, 0), 3 * hidden_, in_}; }
  Eigen::Map<Matrix<S>> hidden_weight(bool grad = false) { return {at(grad, hidden_weight_offset()), 3 * hidden_, hidden_}; }
  Eigen::Map<Vector<S>> input_bias(bool grad = false) { return {at(grad, input_bias_offset()), 3 * hidden_}; }
  Eigen::Map<Vector<S>> hidden_bias(bool grad = false) { return {at(grad, input_bias_offset() + 3 * hidden_), 3 * hidden_}; }

  /// Inference: h ← GRU(x, h) for one step of a batch (x: I x B, h: H x B). Allocates nothing
  /// once the batch size is fixed; not thread-safe on one Gru (use the overload with scratch).
  void step(const MatrixCRef<S>& x, Matrix<S>& h) const { step(x, h, scratch_); }

  /// Buffers of one step(): the input and hidden products (3H x B each) and the new state.
  struct StepScratch {
    Matrix<S> input_gates, hidden_gates, next;
  };
  /// step() with the caller's scratch: several threads may step one Gru at once.
  void step(const MatrixCRef<S>& x, Matrix<S>& h, StepScratch& scratch) const {
    const Index batch = x.cols();
    check_input(x, "Gru::step input");
    PGRAD_REQUIRE(h.rows() == hidden_ && h.cols() == batch, "Gru::step: hidden state is ", h.rows(), "x", h.cols(),
                  ", expected ", hidden_, "x", batch);
    scratch.input_gates.resize(3 * hidden_, batch);
    input_products(x, scratch.input_gates.data());
    scratch.hidden_gates.resize(3 * hidden_, batch);
    scratch.next.resize(hidden_, batch);
    cell(scratch.input_gates.data(), h.data(), batch, scratch.hidden_gates.data(), scratch.next.data(), nullptr);
    h.swap(scratch.next);
  }

  /// Training forward over T = x.cols() / batch steps of `batch` sequences: x is I x T·B
  /// (column t·B + b), h0 the state before step 0 (H x B), resets empty or T·B flags (true:
  /// the state is zeroed before that step). Returns the states h_1..h_T (H x T·B, same layout)
  /// and keeps what backward needs.
  const Matrix<S>& forward(const MatrixCRef<S>& x, const MatrixCRef<S>& h0, const BoolRowVector& resets,
                           Index batch) {
    check_input(x, "Gru::forward input");
    PGRAD_REQUIRE(batch > 0 && x.cols() % batch == 0, "Gru::forward: ", x.cols(),
                  " columns are not whole steps of a batch of ", batch);
    PGRAD_REQUIRE(h0.rows() == hidden_ && h0.cols() == batch, "Gru::forward: initial state is ", h0.rows(), "x",
                  h0.cols(), ", expected ", hidden_, "x", batch);
    PGRAD_REQUIRE(resets.size() == 0 || resets.size() == x.cols(), "Gru::forward: ", resets.size(),
                  " reset flags for ", x.cols(), " columns");
    if constexpr (checks_enabled()) check_finite(h0, "Gru::forward initial state");
    const Index columns = x.cols(), steps = columns / batch, h = hidden_;
    input_ = x;
    resets_ = resets;
    batch_ = batch;
    input_gates_.resize(3 * h, columns);
    input_products(input_, input_gates_.data());
    for (Matrix<S>* m : {&previous_, &outputs_, &reset_gate_, &update_gate_, &candidate_, &hidden_candidate_})
      m->resize(h, columns);
    step_gates_.resize(3 * h, batch);
    for (Index t = 0; t < steps; ++t) {
      S* previous = previous_.data() + t * batch * h;
      const S* source = t == 0 ? h0.data() : outputs_.data() + (t - 1) * batch * h;
      for (Index b = 0; b < batch; ++b) {
        const bool reset = resets_.size() > 0 && resets_[t * batch + b];
        for (Index i = 0; i < h; ++i) previous[b * h + i] = reset ? S(0) : source[b * h + i];
      }
      const Index c = t * batch * h;
      cell(input_gates_.data() + 3 * c, previous, batch, step_gates_.data(), outputs_.data() + c,
           GateStore{reset_gate_.data() + c, update_gate_.data() + c, candidate_.data() + c,
                     hidden_candidate_.data() + c});
    }
    has_forward_state_ = true;
    return outputs_;
  }

  /// Backpropagation through time of the last forward, for dL/dh_t given at every step
  /// (H x T·B; the loss's dependence on the states through later steps is added here):
  /// accumulates dL/dW and dL/db (call zero_grad() first to start afresh), keeps dL/dh0
  /// (initial_state_gradient) and returns dL/dX (I x T·B; skipped with want_input_gradient = false).
  /// Per step, backwards, with δ = dL/dh_t + the gradient carried from step t+1:
  ///   dn = δ(1 − z),  dz = δ(h − n),  a_n = dn(1 − n²),  a_z = dz·z(1 − z),
  ///   a_r = a_n·(W_hn h + b_hn)·r(1 − r);  dL/d(W_i x + b_i) = (a_r, a_z, a_n),
  ///   dL/d(W_h h + b_h) = (a_r, a_z, r·a_n);  carried to step t−1: δz + W_hᵀ dL/d(W_h h + b_h),
  ///   and nothing past a reset.
  const Matrix<S>& backward(const MatrixCRef<S>& grad_outputs, bool want_input_gradient = true) {
    PGRAD_REQUIRE(has_forward_state_, "Gru::backward called without a preceding forward");
    PGRAD_REQUIRE(grad_outputs.rows() == hidden_ && grad_outputs.cols() == input_.cols(), "Gru::backward: gradient is ",
                  grad_outputs.rows(), "x", grad_outputs.cols(), " but the output is ", hidden_, "x", input_.cols());
    const Index columns = input_.cols(), batch = batch_, steps = columns / batch, h = hidden_, g = 3 * h;
    grad_input_gates_.resize(g, columns);
    grad_hidden_gates_.resize(g, columns);
    carry_.setZero(h, batch);
    transposed_hidden_weight_.resize(h, g);
    transpose(params_.value.data() + hidden_weight_offset(), g, h, transposed_hidden_weight_.data());
    for (Index t = steps - 1; t >= 0; --t) {
      const Index c = t * batch * h;
      S* gi = grad_input_gates_.data() + t * batch * g;
      S* gh = grad_hidden_gates_.data() + t * batch * g;
      for (Index b = 0; b < batch; ++b)
        for (Index i = 0; i < h; ++i) {
          const Index k = c + b * h + i;
          const S delta = grad_outputs(i, t * batch + b) + carry_(i, b);
          const S r = reset_gate_.data()[k], z = update_gate_.data()[k], n = candidate_.data()[k];
          const S previous = previous_.data()[k];
          const S a_n = delta * (S(1) - z) * (S(1) - n * n);
          const S a_z = delta * (previous - n) * z * (S(1) - z);
          const S a_r = a_n * hidden_candidate_.data()[k] * r * (S(1) - r);
          gi[b * g + i] = a_r;
          gi[b * g + h + i] = a_z;
          gi[b * g + 2 * h + i] = a_n;
          gh[b * g + i] = a_r;
          gh[b * g + h + i] = a_z;
          gh[b * g + 2 * h + i] = a_n * r;
          carry_(i, b) = delta * z;
        }
      small_gemm<S>(h, batch, g, transposed_hidden_weight_.data(), h, gh, g, GemmB::plain, carry_.data(), h,
                    GemmInit::accumulate);
      for (Index b = 0; b < batch; ++b)
        if (resets_.size() > 0 && resets_[t * batch + b]) carry_.col(b).setZero();
    }
    // The weights' gradients over the whole sequence at once.
    small_gemm<S>(g, in_, columns, grad_input_gates_.data(), g, input_.data(), in_, GemmB::transposed,
                  params_.grad.data(), g, GemmInit::accumulate);
    small_gemm<S>(g, h, columns, grad_hidden_gates_.data(), g, previous_.data(), h, GemmB::transposed,
                  params_.grad.data() + hidden_weight_offset(), g, GemmInit::accumulate);
    input_bias(true) += grad_input_gates_.rowwise().sum();
    hidden_bias(true) += grad_hidden_gates_.rowwise().sum();
    has_input_gradient_ = want_input_gradient;
    if (want_input_gradient) {
      transposed_input_weight_.resize(in_, g);
      transpose(params_.value.data(), g, in_, transposed_input_weight_.data());
      grad_input_.resize(in_, columns);
      small_gemm<S>(in_, columns, g, transposed_input_weight_.data(), in_, grad_input_gates_.data(), g, GemmB::plain,
                    grad_input_.data(), in_, GemmInit::zero);
    }
    return grad_input_;
  }

  /// Forward mode (J·v) at the last forward: the change of the states h_1..h_T (H x T·B) when the
  /// parameters move along `direction` (parameter_count() values, in the flat block's order) and
  /// the input along `input_tangent` (I x T·B; null: the input held fixed). The initial state is
  /// held fixed, and a reset cuts the tangent as it cuts the state. Per step, with d the
  /// derivative along the direction, ĝ = W_i x + b_i and g = W_h h + b_h:
  ///   dĝ = dW_i x + W_i dx + db_i,  dg = dW_h h + W_h dh + db_h,
  ///   dr = r(1 − r)(dĝ_r + dg_r),  dz = z(1 − z)(dĝ_z + dg_z),
  ///   dn = (1 − n²)(dĝ_n + dr·g_n + r·dg_n),  dh' = (1 − z)dn + dz(h − n) + z·dh.
  /// Nothing allocates once the shapes are fixed; the backward state of the forward is kept.
  const Matrix<S>& forward_tangent(const VectorCRef<S>& direction, const Matrix<S>* input_tangent = nullptr) {
    PGRAD_REQUIRE(has_forward_state_, "Gru::forward_tangent called without a preceding forward");
    PGRAD_REQUIRE(direction.size() == parameter_count(), "Gru::forward_tangent: direction has ", direction.size(),
                  " entries, the GRU ", parameter_count(), " parameters");
    const Index columns = input_.cols(), batch = batch_, steps = columns / batch, h = hidden_, g = 3 * h;
    PGRAD_REQUIRE(input_tangent == nullptr || (input_tangent->rows() == in_ && input_tangent->cols() == columns),
                  "Gru::forward_tangent: input tangent is ", input_tangent ? input_tangent->rows() : 0, "x",
                  input_tangent ? input_tangent->cols() : 0, ", expected ", in_, "x", columns);
    const S* d = direction.data();
    // dĝ for every column, and the parameters' part of dg (the states' part is added step by step).
    tangent_input_gates_.resize(g, columns);
    small_gemm<S>(g, columns, in_, d, g, input_.data(), in_, GemmB::plain, tangent_input_gates_.data(), g,
                  GemmInit::bias, d + input_bias_offset());
    if (input_tangent != nullptr)
      small_gemm<S>(g, columns, in_, params_.value.data(), g, input_tangent->data(), in_, GemmB::plain,
                    tangent_input_gates_.data(), g, GemmInit::accumulate);
    tangent_hidden_gates_.resize(g, columns);
    small_gemm<S>(g, columns, h, d + hidden_weight_offset(), g, previous_.data(), h, GemmB::plain,
                  tangent_hidden_gates_.data(), g, GemmInit::bias, d + input_bias_offset() + g);
    tangent_.resize(h, columns);
    tangent_previous_.setZero(h, batch);
    for (Index t = 0; t < steps; ++t) {
      const Index c = t * batch * h;
      if (t > 0)
        for (Index b = 0; b < batch; ++b)
          for (Index i = 0; i < h; ++i)
            tangent_previous_(i, b) =
                resets_.size() > 0 && resets_[t * batch + b] ? S(0) : tangent_.data()[c - batch * h + b * h + i];
      S* dgh = tangent_hidden_gates_.data() + t * batch * g;
      small_gemm<S>(g, batch, h, params_.value.data() + hidden_weight_offset(), g, tangent_previous_.data(), h,
                    GemmB::plain, dgh, g, GemmInit::accumulate);
      const S* dgi = tangent_input_gates_.data() + t * batch * g;
      for (Index b = 0; b < batch; ++b)
        for (Index i = 0; i < h; ++i) {
          const Index k = c + b * h + i;
          const S r = reset_gate_.data()[k], z = update_gate_.data()[k], n = candidate_.data()[k];
          const S dr = r * (S(1) - r) * (dgi[b * g + i] + dgh[b * g + i]);
          const S dz = z * (S(1) - z) * (dgi[b * g + h + i] + dgh[b * g + h + i]);
          const S dn = (S(1) - n * n) *
                       (dgi[b * g + 2 * h + i] + dr * hidden_candidate_.data()[k] + r * dgh[b * g + 2 * h + i]);
          tangent_.data()[k] = (S(1) - z) * dn + dz * (previous_.data()[k] - n) + z * tangent_previous_(i, b);
        }
    }
    return tangent_;
  }

  /// dL/dh0 from the last backward (H x B; zero for a sequence reset at its first step).
  const Matrix<S>& initial_state_gradient() const {
    PGRAD_REQUIRE(has_forward_state_, "Gru::initial_state_gradient called without a preceding forward");
    return carry_;
  }
  /// dL/dX from the last backward.
  const Matrix<S>& input_gradient() const {
    PGRAD_REQUIRE(has_input_gradient_, "Gru::input_gradient: the last backward skipped the input gradient");
    return grad_input_;
  }

 private:
  // Where a step writes what backward needs (all nullptr in step()).
  struct GateStore {
    S *reset, *update, *candidate, *hidden_candidate;
  };

  S* at(bool grad, Index offset) { return (grad ? params_.grad : params_.value).data() + offset; }
  Index hidden_weight_offset() const { return 3 * hidden_ * in_; }
  Index input_bias_offset() const { return 3 * hidden_ * (in_ + hidden_); }

  void check_input(const MatrixCRef<S>& x, const char* what) const {
    PGRAD_REQUIRE(x.rows() == in_, what, ": expected ", in_, " rows (the GRU's input size), got ", x.rows(),
                  " (batch of ", x.cols(), ")");
    if constexpr (checks_enabled()) check_finite(x, what);
  }

  // W_i x + b_i for every column of x (3H x cols, contiguous at out).
  void input_products(const MatrixCRef<S>& x, S* out) const {
    small_gemm<S>(3 * hidden_, x.cols(), in_, params_.value.data(), 3 * hidden_, x.data(), x.outerStride(),
                  GemmB::plain, out, 3 * hidden_, GemmInit::bias, params_.value.data() + input_bias_offset());
  }

  static S sigmoid(S a) { return S(1) / (S(1) + std::exp(-a)); }

  // One step for `batch` columns: input_gates = W_i x + b_i (3H x B), previous the state h
  // (H x B); hidden_gates is scratch for W_h h + b_h; writes h' into next and, when store.reset
  // is set, r, z, n and W_hn h + b_hn into the store. Element by element, so both step() and
  // forward() give each element the same bits.
  void cell(const S* input_gates, const S* previous, Index batch, S* hidden_gates, S* next,
            const GateStore& store) const {
    const Index h = hidden_, g = 3 * hidden_;
    small_gemm<S>(g, batch, h, params_.value.data() + hidden_weight_offset(), g, previous, h, GemmB::plain,
                  hidden_gates, g, GemmInit::bias, params_.value.data() + input_bias_offset() + g);
    for (Index b = 0; b < batch; ++b) {
      const S* gi = input_gates + b * g;
      const S* gh = hidden_gates + b * g;
      for (Index i = 0; i < h; ++i) {
        const S r = sigmoid(gi[i] + gh[i]);
        const S z = sigmoid(gi[h + i] + gh[h + i]);
        const S n = std::tanh(gi[2 * h + i] + r * gh[2 * h + i]);
        const Index k = b * h + i;
        next[k] = (S(1) - z) * n + z * previous[k];
        if (store.reset != nullptr) {
          store.reset[k] = r;
          store.update[k] = z;
          store.candidate[k] = n;
          store.hidden_candidate[k] = gh[2 * h + i];
        }
      }
    }
  }
  void cell(const S* input_gates, const S* previous, Index batch, S* hidden_gates, S* next, std::nullptr_t) const {
    cell(input_gates, previous, batch, hidden_gates, next, GateStore{nullptr, nullptr, nullptr, nullptr});
  }

  Index in_, hidden_;
  Parameters<S> params_;
  // Training state kept by forward for backward (H x T·B unless noted).
  Matrix<S> input_, input_gates_ /* 3H x T·B */, previous_, outputs_, reset_gate_, update_gate_, candidate_,
      hidden_candidate_, step_gates_ /* 3H x B */;
  BoolRowVector resets_;
  Index batch_ = 0;
  // Backward's buffers.
  Matrix<S> grad_input_gates_, grad_hidden_gates_, carry_, grad_input_, transposed_hidden_weight_,
      transposed_input_weight_;
  // forward_tangent's buffers.
  Matrix<S> tangent_input_gates_, tangent_hidden_gates_, tangent_, tangent_previous_;
  bool has_forward_state_ = false, has_input_gradient_ = false;
  mutable StepScratch scratch_;
};

/// CleanRL's initialisation of a recurrent core: W_i and W_h orthogonal with `gain` (each as one
/// 3H-row matrix, as torch.nn.init.orthogonal_ on weight_ih / weight_hh), biases zero.
template <class S>
void init_orthogonal(Gru<S>& gru, Rng& rng, double gain = 1.0) {
  auto wi = gru.input_weight();
  orthogonal(wi, rng, gain);
  auto wh = gru.hidden_weight();
  orthogonal(wh, rng, gain);
  gru.input_bias().setZero();
  gru.hidden_bias().setZero();
}

/// PyTorch's default initialisation of torch.nn.GRU: every weight and bias U(-1/√H, 1/√H).
template <class S>
void init_pytorch_default(Gru<S>& gru, Rng& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(gru.hidden_size()));
  Vector<S>& values = gru.parameters().value;
  for (Index i = 0; i < values.size(); ++i) values[i] = static_cast<S>(rng.uniform(-bound, bound));
}

}  // namespace pgrad::nn
