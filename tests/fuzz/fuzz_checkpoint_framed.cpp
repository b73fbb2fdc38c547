// libFuzzer target: the checkpoint loader on bytes whose length field and checksum are fixed up
// first, so that mutations reach the payload's parser instead of the checksum.
#include "checkpoint_fuzzer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return checkpoint_fuzzer::run_one(data, size, true);
}
