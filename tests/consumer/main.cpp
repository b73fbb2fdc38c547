// Runs one forward pass through a small MLP using nothing but pgrad::pgrad.
#include <pgrad/pgrad.hpp>

#include <cstdio>

int main() {
  pgrad::Rng rng(7);
  pgrad::nn::Mlp<float> net({4, 16, 2}, pgrad::nn::Activation::tanh,
                            pgrad::nn::Activation::identity);
  pgrad::nn::init_orthogonal(net, rng, std::sqrt(2.0f), 0.01f);
  pgrad::Matrix<float> obs = pgrad::Matrix<float>::Ones(4, 3);
  pgrad::Matrix<float> out;
  net.predict(obs, out);
  if (out.rows() != 2 || out.cols() != 3 || !out.allFinite()) return 1;
  std::printf("pgrad %s consumer ok: %ldx%ld\n", PGRAD_VERSION_STRING, static_cast<long>(out.rows()),
              static_cast<long>(out.cols()));
  return 0;
}
