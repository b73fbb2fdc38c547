#pragma once
// The checkpoint-loader fuzzers' shared part (checkpoint_fuzzer.cpp): one input, and the seed
// corpus of real checkpoints.
#include <cstddef>
#include <cstdint>
#include <string>

namespace checkpoint_fuzzer {

/// Loads `data` as a checkpoint file into every target it may be (checkpoint_targets.hpp), each
/// a new algorithm followed, if the load succeeds, by one update. With fix_framing the input's
/// length field and checksum are first rewritten to match it, so that mutations reach the
/// payload's parser. A pgrad::Error is the expected answer to a bad file; any other exception
/// escapes (libFuzzer reports it as a crash), and non-finite parameters after a successful load
/// and update abort.
int run_one(const std::uint8_t* data, std::size_t size, bool fix_framing);

/// Writes the checkpoint of every target into `directory` as <target>.ckpt; returns how many.
int write_seed_corpus(const std::string& directory);

}  // namespace checkpoint_fuzzer
