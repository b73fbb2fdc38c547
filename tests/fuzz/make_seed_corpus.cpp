// Writes the checkpoint fuzzers' seed corpus: a real checkpoint of every target of
// checkpoint_targets.hpp (PPO, A2C and REINFORCE on CartPole; PPO and A2C on a wrapped Pendulum).
//   make_seed_corpus DIRECTORY
#include <cstdio>
#include <exception>

#include "checkpoint_fuzzer.hpp"

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  std::printf("%d seed checkpoints written to %s\n", checkpoint_fuzzer::write_seed_corpus(argv[1]), argv[1]);
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "error: %s\n", error.what());
  return 1;
}
