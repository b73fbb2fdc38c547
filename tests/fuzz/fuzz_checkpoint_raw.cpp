// libFuzzer target: the checkpoint loader on raw bytes (the framing's checks included).
#include "checkpoint_fuzzer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return checkpoint_fuzzer::run_one(data, size, false);
}
