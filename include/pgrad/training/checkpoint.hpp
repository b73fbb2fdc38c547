#pragma once
// pgrad::save_checkpoint / pgrad::load_checkpoint: one self-contained file that resumes training exactly.
#include <string>

#include <pgrad/core/serialize.hpp>

namespace pgrad {

/// Saves everything `algorithm` (algo::Ppo, algo::A2c or algo::Reinforce) needs to continue
/// training bit for bit: the Scalar type, the hyperparameters, the network sizes and every
/// parameter block, the optimiser state (moments, step count, current learning rate), every Rng
/// (initialisation, minibatch shuffling, action sampling, each environment copy), the update and
/// step counters, the episode log, the collector's current observations and every environment
/// copy's state (wrappers included, so normaliser statistics travel with it).
///
/// File: "PGRADCKP", format version, payload length, payload, FNV-1a 64 checksum of all before
/// it. Written to "<path>.tmp", fsync'd and renamed over `path`: on any failure (an environment
/// type without save_state/load_state, an I/O error) a pgrad::Error is thrown and an existing
/// file at `path` is left as it was.
template <class Algorithm>
void save_checkpoint(const Algorithm& algorithm, const std::string& path) {
  Writer writer;
  writer.section("pgrad checkpoint");
  algorithm.save_state(writer);
  writer.save(path);
}

/// Restores a checkpoint written by save_checkpoint into `algorithm`, which must have been
/// built with the same environment type, configuration and Scalar. Throws pgrad::Error naming
/// what differs (not a pgrad checkpoint, truncated, corrupt: checksum mismatch, other format
/// version, Scalar, layer sizes, hyperparameter values, number of environments). The file is
/// fully validated (magic, length, checksum) before anything is read into the object; after a
/// size or configuration mismatch the object may be partly overwritten: build a new one.
template <class Algorithm>
void load_checkpoint(Algorithm& algorithm, const std::string& path) {
  Reader reader = Reader::open(path);
  reader.section("pgrad checkpoint");
  algorithm.load_state(reader);
  reader.finish();
}

}  // namespace pgrad
