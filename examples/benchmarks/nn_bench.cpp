// Benchmark: small_gemm against Eigen's own product on the layer shapes of pgrad's policies, in
// float and double, then the forward and forward+backward of 64-64-64-2 tanh and ReLU MLPs in both.
// Build in Release (-O3 -march=native, or another -march through -DPGRAD_MARCH=...) and run:
//   ./build/examples/nn_bench
// Each pair of figures on a line comes from the same run with the two sides alternating, so that
// load on the machine slows both alike: compare the ratios, not the absolute rates across runs.
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/nn/small_gemm.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

namespace {

using pgrad::Index;
using pgrad::nn::GemmB;
using pgrad::nn::GemmInit;

/// The instruction set Eigen's packets (and so small_gemm's tiles) were compiled for.
const char* instruction_set() {
#if defined(EIGEN_VECTORIZE_AVX512)
  return "AVX-512";
#elif defined(EIGEN_VECTORIZE_AVX2) && defined(EIGEN_VECTORIZE_FMA)
  return "AVX2+FMA";
#elif defined(EIGEN_VECTORIZE_AVX)
  return "AVX";
#elif defined(EIGEN_VECTORIZE_SSE4_2)
  return "SSE4.2";
#elif defined(EIGEN_VECTORIZE_SSE2)
  return "SSE2";
#elif defined(EIGEN_VECTORIZE_NEON)
  return "NEON";
#else
  return "no SIMD";
#endif
}

template <class F>
double seconds_for(long calls, const F& call) {
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < calls; ++i) call();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Seconds per call of `first` and of `second`, each the best of several rounds in which the two
/// take turns (and swap who goes first), so that both see the same load on the machine.
template <class F, class G>
std::pair<double, double> race(const F& first, const G& second) {
  constexpr double round_seconds = 0.01;
  constexpr int rounds = 7;
  first();
  second();  // warm-up: caches, and any buffer sizing
  long calls = 1;
  while (seconds_for(calls, first) < round_seconds) calls *= 2;
  double best_first = 1e30, best_second = 1e30;
  for (int round = 0; round < rounds; ++round) {
    if (round % 2 == 0) best_first = std::min(best_first, seconds_for(calls, first));
    best_second = std::min(best_second, seconds_for(calls, second));
    if (round % 2 == 1) best_first = std::min(best_first, seconds_for(calls, first));
  }
  return {best_first / static_cast<double>(calls), best_second / static_cast<double>(calls)};
}

/// One product of a layer: C (m x n) = A·B (forward, input gradient) or C += A·Bᵀ (weight gradient).
struct Product {
  const char* name;
  Index m, n, k;
  GemmB layout;
};

/// small_gemm's and Eigen's GFLOP/s on one product in Scalar S.
template <class S>
std::pair<double, double> gflops(const Product& p) {
  using Matrix = pgrad::Matrix<S>;
  const bool transposed = p.layout == GemmB::transposed;
  const Matrix a = Matrix::Random(p.m, p.k);
  const Matrix b = transposed ? Matrix::Random(p.n, p.k) : Matrix::Random(p.k, p.n);
  Matrix c = Matrix::Zero(p.m, p.n);
  const GemmInit init = transposed ? GemmInit::accumulate : GemmInit::zero;
  const auto ours = [&] {
    pgrad::nn::small_gemm<S>(p.m, p.n, p.k, a.data(), p.m, b.data(), b.rows(), p.layout, c.data(), p.m, init);
  };
  const auto eigen = [&] {
    if (transposed)
      c.noalias() += a * b.transpose();
    else
      c.noalias() = a * b;
  };
  const auto [ours_seconds, eigen_seconds] = race(ours, eigen);
  const double flops = 2.0 * static_cast<double>(p.m * p.n * p.k);
  return {flops / ours_seconds * 1e-9, flops / eigen_seconds * 1e-9};
}

void print_products() {
  std::printf("\nProducts (GFLOP/s; ratio = small_gemm / Eigen; f/d = float / double rate of small_gemm)\n");
  std::printf("%-26s %5s %5s %5s | %9s %9s %6s | %9s %9s %6s | %5s\n", "product", "m", "n", "k", "float ours",
              "Eigen", "ratio", "dbl ours", "Eigen", "ratio", "f/d");
  std::vector<Product> products;
  for (Index batch : {1, 4, 16, 64, 256, 2048}) products.push_back({"hidden Y = W X", 64, batch, 64, GemmB::plain});
  for (Index batch : {1, 4, 16, 64, 256, 2048})
    products.push_back({"hidden dW += dY X^T", 64, 64, batch, GemmB::transposed});
  for (Index rows : {1, 2, 6})
    for (Index batch : {1, 64, 2048}) products.push_back({"head Y = W X", rows, batch, 64, GemmB::plain});
  for (Index rows : {1, 2, 6})
    for (Index batch : {1, 64, 2048}) products.push_back({"head dW += dY X^T", rows, 64, batch, GemmB::transposed});
  for (Index rows : {1, 2, 6})
    for (Index batch : {1, 64, 2048}) products.push_back({"head dX = W^T dY", 64, batch, rows, GemmB::plain});
  for (Index observations : {4, 17})
    for (Index batch : {1, 64, 2048}) products.push_back({"first Y = W X", 64, batch, observations, GemmB::plain});
  for (Index observations : {4, 17})
    for (Index batch : {1, 64, 2048})
      products.push_back({"first dW += dY X^T", 64, observations, batch, GemmB::transposed});
  for (const Product& p : products) {
    const auto [float_ours, float_eigen] = gflops<float>(p);
    const auto [double_ours, double_eigen] = gflops<double>(p);
    std::printf("%-26s %5ld %5ld %5ld | %9.1f %9.1f %6.2f | %9.1f %9.1f %6.2f | %5.2f\n", p.name,
                static_cast<long>(p.m), static_cast<long>(p.n), static_cast<long>(p.k), float_ours, float_eigen,
                float_ours / float_eigen, double_ours, double_eigen, double_ours / double_eigen,
                float_ours / double_ours);
  }
}

/// A 64-64-64-2 MLP over one batch in Scalar S: predict (forward only) and forward+backward.
template <class S>
struct MlpPasses {
  pgrad::nn::Mlp<S> net;
  pgrad::Matrix<S> x, y, grad_y;
  volatile S sink = 0;

  MlpPasses(pgrad::nn::Activation hidden, Index batch)
      : net({64, 64, 64, 2}, hidden, pgrad::nn::Activation::identity),
        x(pgrad::Matrix<S>::Random(64, batch)),
        grad_y(pgrad::Matrix<S>::Random(2, batch)) {
    pgrad::Rng rng(0);
    pgrad::nn::init_orthogonal(net, rng, std::sqrt(2.0), 0.01);
  }
  void forward() {
    net.predict(x, y);
    sink = sink + y(0, 0);
  }
  void forward_backward() {
    net.forward(x);
    sink = sink + net.backward(grad_y)(0, 0);
  }
  double forward_flops() const {  // 2 flops per multiply-add, sum of in*out over the layers, per sample
    double flops = 0;
    for (Index l = 0; l < net.num_layers(); ++l)
      flops += 2.0 * static_cast<double>(net.layer(l).input_size() * net.layer(l).output_size());
    return flops * static_cast<double>(x.cols());
  }
};

/// Double costs more than twice float with tanh: Eigen 3.4 vectorises tanh for float only, so
/// ReLU shows what the products themselves cost.
void print_mlp(pgrad::nn::Activation hidden) {
  std::printf("\nMLP 64-64-64-2 %s (GFLOP/s; d/f = double time / float time)\n", pgrad::nn::to_string(hidden));
  std::printf("%-16s %6s | %10s %10s | %10s %10s | %5s\n", "pass", "batch", "float us", "GFLOP/s", "double us",
              "GFLOP/s", "d/f");
  for (Index batch : {1, 4, 64, 256, 2048}) {
    MlpPasses<float> f(hidden, batch);
    MlpPasses<double> d(hidden, batch);
    for (const bool backward : {false, true}) {
      const auto [float_seconds, double_seconds] =
          backward ? race([&] { f.forward_backward(); }, [&] { d.forward_backward(); })
                   : race([&] { f.forward(); }, [&] { d.forward(); });
      const double flops = (backward ? 3 : 1) * f.forward_flops();
      std::printf("%-16s %6ld | %10.3f %10.1f | %10.3f %10.1f | %5.2f\n", backward ? "forward+backward" : "forward",
                  static_cast<long>(batch), float_seconds * 1e6, flops / float_seconds * 1e-9, double_seconds * 1e6,
                  flops / double_seconds * 1e-9, double_seconds / float_seconds);
    }
  }
}

}  // namespace

int main() {
  namespace detail = pgrad::nn::gemm_detail;
  std::printf("pgrad nn_bench: built for %s (Eigen %d.%d.%d, SIMD: %s)\n", instruction_set(), EIGEN_WORLD_VERSION,
              EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, Eigen::SimdInstructionSetsInUse());
  std::printf("small_gemm register tiles (packets x columns): float %dx%d of %ld, double %dx%d of %ld\n",
              detail::Tile<float>::packets, detail::Tile<float>::columns, static_cast<long>(detail::packet_size<float>),
              detail::Tile<double>::packets, detail::Tile<double>::columns,
              static_cast<long>(detail::packet_size<double>));
  std::printf("Each pair of figures comes from alternating rounds of one run: compare ratios.\n");
  print_products();
  print_mlp(pgrad::nn::Activation::tanh);
  print_mlp(pgrad::nn::Activation::relu);
  return 0;
}
