// Benchmark: forward and forward+backward of a 64->64->64->2 tanh MLP in float.
// Build in Release (-O3 -march=native) and run: ./build/examples/nn_bench
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>

#include <chrono>
#include <cstdio>

namespace {

template <class F>
double seconds_per_call(F&& call) {
  using Clock = std::chrono::steady_clock;
  call();  // warm-up (sizes the buffers)
  long calls = 1;
  for (;;) {
    const auto start = Clock::now();
    for (long i = 0; i < calls; ++i) call();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed > 0.2) return elapsed / static_cast<double>(calls);
    calls *= 2;
  }
}

}  // namespace

int main() {
  using pgrad::Index;
  using Matrix = pgrad::Matrix<float>;
  pgrad::Rng rng(0);
  pgrad::nn::Mlp<float> net({64, 64, 64, 2}, pgrad::nn::Activation::tanh, pgrad::nn::Activation::identity);
  pgrad::nn::init_orthogonal(net, rng, std::sqrt(2.0), 0.01);
  // Multiply-adds per sample: sum of in*out over the layers; 2 flops each.
  double forward_flops_per_sample = 0;
  for (Index l = 0; l < net.num_layers(); ++l)
    forward_flops_per_sample += 2.0 * static_cast<double>(net.layer(l).input_size() * net.layer(l).output_size());

  std::printf("MLP 64-64-64-2 tanh, float, Eigen %d.%d.%d, SIMD: %s\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION, Eigen::SimdInstructionSetsInUse());
  std::printf("%-16s %7s %14s %16s %10s\n", "pass", "batch", "us/call", "samples/s", "GFLOP/s");
  volatile float sink = 0;
  for (Index batch : {1, 4, 64, 256, 2048}) {
    Matrix x = Matrix::Random(64, batch), y;
    const Matrix grad_y = Matrix::Random(2, batch);
    const double forward = seconds_per_call([&] {
      net.predict(x, y);
      sink = sink + y(0, 0);
    });
    const double backward = seconds_per_call([&] {
      net.forward(x);
      sink = sink + net.backward(grad_y)(0, 0);
    });
    const double n = static_cast<double>(batch);
    std::printf("%-16s %7ld %14.3f %16.0f %10.2f\n", "forward", static_cast<long>(batch), forward * 1e6, n / forward,
                forward_flops_per_sample * n / forward * 1e-9);
    std::printf("%-16s %7ld %14.3f %16.0f %10.2f\n", "forward+backward", static_cast<long>(batch), backward * 1e6,
                n / backward, 3 * forward_flops_per_sample * n / backward * 1e-9);
  }
  return sink == 12345.0f ? 1 : 0;
}
