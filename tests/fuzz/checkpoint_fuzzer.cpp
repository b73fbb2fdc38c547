// What the checkpoint-loader fuzzers run on each input, and their seed corpus.
#include "checkpoint_fuzzer.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include <pgrad/core/file_io.hpp>

#include "../checkpoint_targets.hpp"

namespace checkpoint_fuzzer {

int run_one(const std::uint8_t* data, std::size_t size, bool fix_framing) {
  static const std::vector<checkpoint_targets::Target> targets = checkpoint_targets::all();
  std::string file(reinterpret_cast<const char*>(data), size);
  if (fix_framing) file = checkpoint_targets::with_valid_framing(std::move(file));
  for (const checkpoint_targets::Target& target : targets) {
    if (!checkpoint_targets::may_be(target, file)) continue;
    const checkpoint_targets::Outcome outcome = target.load_and_update(file);
    if (outcome.kind == checkpoint_targets::Outcome::non_finite_parameters) {
      std::fprintf(stderr, "checkpoint fuzzer: %s loaded, and its next update gave non-finite parameters\n",
                   target.name.c_str());
      std::abort();
    }
  }
  return 0;
}

int write_seed_corpus(const std::string& directory) {
  int written = 0;
  for (const checkpoint_targets::Target& target : checkpoint_targets::all()) {
    const std::string file = pgrad::checkpoint_file_bytes(target.payload(nullptr));
    pgrad::write_file_atomically(directory + "/" + target.name + ".ckpt", file, "seed corpus");
    ++written;
  }
  return written;
}

}  // namespace checkpoint_fuzzer
