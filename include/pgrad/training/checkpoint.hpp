#pragma once
// pgrad::save_checkpoint / pgrad::load_checkpoint: one self-contained file that resumes training
// exactly, and the checkpoint file framing under them (write_checkpoint_file / read_checkpoint_file).
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include <pgrad/core/error.hpp>
#include <pgrad/core/file_io.hpp>
#include <pgrad/core/serialize.hpp>

namespace pgrad {

/// The checkpoint file format version written by this library; readers refuse any other, naming
/// both. Version 2: the layout of the one on-policy skeleton (algorithms/on_policy.hpp); version
/// 3: a Box policy also records its distribution (PolicyConfig::box_distribution).
inline constexpr std::uint32_t checkpoint_format_version = 3;

/// The largest checkpoint file read_checkpoint_file (and load_checkpoint) accepts by default:
/// 1 GiB, far above the networks pgrad trains; a larger file is refused before it is read.
inline constexpr std::uint64_t checkpoint_max_file_size = std::uint64_t(1) << 30;

namespace detail {
inline constexpr char checkpoint_magic[8] = {'P', 'G', 'R', 'A', 'D', 'C', 'K', 'P'};
inline constexpr std::size_t checkpoint_header_size = 8 + 4 + 8;  // magic, version, payload length
inline constexpr std::size_t checkpoint_trailer_size = 8;         // FNV-1a 64 checksum

/// FNV-1a 64-bit hash (Fowler, Noll, Vo) of a byte range.
inline std::uint64_t fnv1a64(const char* data, std::size_t size) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= 0x100000001b3ull;
  }
  return hash;
}
}  // namespace detail

/// The bytes of a checkpoint file holding `payload`: the magic "PGRADCKP", the format version
/// (u32), the payload length (u64), the payload, then the FNV-1a 64 checksum (u64) of everything
/// before it; integers little-endian. Cost: one copy and one hash pass over the payload.
inline std::string checkpoint_file_bytes(const std::string& payload) {
  std::string file(detail::checkpoint_magic, 8);
  Writer header;
  header.u32(checkpoint_format_version);
  header.u64(payload.size());
  file += header.bytes();
  file += payload;
  Writer trailer;
  trailer.u64(detail::fnv1a64(file.data(), file.size()));
  file += trailer.bytes();
  return file;
}

/// Validates the bytes of a checkpoint file (magic, length, checksum, then format version) and
/// returns a Reader over its payload; errors name `source` (the path) and the problem: "not a
/// pgrad checkpoint", "truncated", "corrupt: checksum mismatch", "format version N is not
/// supported".
inline Reader checkpoint_payload(const std::string& file, const std::string& source) {
  const std::size_t min_size = detail::checkpoint_header_size + detail::checkpoint_trailer_size;
  PGRAD_REQUIRE(
      file.size() >= 8 || file.empty() || std::memcmp(file.data(), detail::checkpoint_magic, file.size()) != 0,
      "checkpoint '", source, "': truncated (", file.size(), " bytes)");
  PGRAD_REQUIRE(file.size() >= 8 && std::memcmp(file.data(), detail::checkpoint_magic, 8) == 0, "checkpoint '",
                source, "': not a pgrad checkpoint (wrong magic bytes)");
  PGRAD_REQUIRE(file.size() >= min_size, "checkpoint '", source, "': truncated (", file.size(),
                " bytes, shorter than the ", min_size, "-byte header and checksum)");
  Reader header(file.substr(8, 12), source);
  const std::uint32_t version = header.u32();
  const std::uint64_t length = header.u64();
  const std::uint64_t expected = static_cast<std::uint64_t>(min_size) + length;
  PGRAD_REQUIRE(length <= file.size() && file.size() >= expected, "checkpoint '", source, "': truncated (",
                file.size(), " bytes, the header announces ", expected, ")");
  PGRAD_REQUIRE(file.size() == expected, "checkpoint '", source, "': corrupt: ", file.size() - expected,
                " unexpected bytes after the checksum");
  const std::size_t body = file.size() - detail::checkpoint_trailer_size;
  Reader trailer(file.substr(body), source);
  PGRAD_REQUIRE(trailer.u64() == detail::fnv1a64(file.data(), body), "checkpoint '", source,
                "': corrupt: checksum mismatch");
  PGRAD_REQUIRE(version == checkpoint_format_version, "checkpoint '", source, "': format version ", version,
                " is not supported (this pgrad reads version ", checkpoint_format_version, ")");
  return Reader(file.substr(detail::checkpoint_header_size, static_cast<std::size_t>(length)), source);
}

namespace detail {
/// Whether an algorithm may run over several processes (has communicator(), as algo::OnPolicy).
template <class Algorithm, class = void>
struct has_communicator : std::false_type {};
template <class Algorithm>
struct has_communicator<Algorithm, std::void_t<decltype(std::declval<const Algorithm&>().communicator())>>
    : std::true_type {};
}  // namespace detail

/// Writes `writer`'s bytes as a checkpoint file (checkpoint_file_bytes) at `path` with
/// write_file_atomically: on any failure a pgrad::Error is thrown and an existing file at
/// `path` is left as it was.
inline void write_checkpoint_file(const std::string& path, const Writer& writer) {
  write_file_atomically(path, checkpoint_file_bytes(writer.bytes()), "checkpoint");
}

/// Reads the checkpoint file at `path` (read_file: a regular file of at most `max_size` bytes)
/// and validates it (checkpoint_payload) before handing out a Reader over its payload.
inline Reader read_checkpoint_file(const std::string& path, std::uint64_t max_size = checkpoint_max_file_size) {
  return checkpoint_payload(read_file(path, max_size, "checkpoint"), path);
}

/// Saves everything `algorithm` (algo::Ppo, algo::A2c or algo::Reinforce) needs to continue
/// training bit for bit: the Scalar type, the hyperparameters, the network sizes and every
/// parameter block, the optimiser state (moments, step count, current learning rate), every Rng
/// (initialisation, minibatch shuffling, action sampling, each environment copy), the update and
/// step counters, the episode log, the collector's current observations and every environment
/// copy's state (wrappers included, so normaliser statistics travel with it).
///
/// File: "PGRADCKP", format version, payload length, payload, FNV-1a 64 checksum of all before
/// it (checkpoint_file_bytes), written with write_file_atomically (a temporary file unique to
/// the call, fsync, rename, fsync of the directory): on any failure (an environment type without
/// save_state/load_state, an I/O error) a pgrad::Error is thrown and an existing file at `path`
/// is left as it was.
///
/// Data-parallel runs (an algorithm with a communicator() of several processes): collective,
/// every process calls it; rank 0 writes the file, and a failure throws on every process.
template <class Algorithm>
void save_checkpoint(const Algorithm& algorithm, const std::string& path) {
  Writer writer;
  writer.section("pgrad checkpoint");
  algorithm.save_state(writer);
  if constexpr (detail::has_communicator<Algorithm>::value) {
    algorithm.communicator().run_guarded([&] {
      if (algorithm.is_root()) write_checkpoint_file(path, writer);
    });
  } else {
    write_checkpoint_file(path, writer);
  }
}

/// The largest checkpoint file that `algorithm` can have been saved to: twice the size its
/// checkpoint has now with room for a full optimiser state (32 bytes per parameter), plus
/// 64 KiB, and never more than checkpoint_max_file_size. For pgrad's own environments and
/// wrappers a checkpoint's size depends only on the configuration; the factor 2 leaves room for
/// a custom environment whose state varies in size. Cost: one save_state into memory.
template <class Algorithm>
std::uint64_t checkpoint_size_limit(const Algorithm& algorithm) {
  Writer writer;
  writer.section("pgrad checkpoint");
  algorithm.save_state(writer);
  const double now = static_cast<double>(writer.bytes().size() + detail::checkpoint_header_size +
                                         detail::checkpoint_trailer_size);
  const double optimiser = 32.0 * static_cast<double>(algorithm.policy().parameter_count());
  const double limit = 2.0 * (now + optimiser) + 65536.0;
  return limit >= static_cast<double>(checkpoint_max_file_size) ? checkpoint_max_file_size
                                                                : static_cast<std::uint64_t>(limit);
}

/// Restores the checkpoint held in `file` (the bytes of a file save_checkpoint wrote) into
/// `algorithm`, as load_checkpoint does; errors name `source`. For checkpoints that arrive by
/// other means than a file (and for the fuzzers).
template <class Algorithm>
void load_checkpoint_bytes(Algorithm& algorithm, const std::string& file, const std::string& source = "checkpoint") {
  Reader reader = checkpoint_payload(file, source);
  reader.section("pgrad checkpoint");
  algorithm.load_state(reader);
  reader.finish();
}

/// Restores a checkpoint written by save_checkpoint into `algorithm`, which must have been
/// built with the same environment type, configuration and Scalar. Throws pgrad::Error naming
/// what differs (not a pgrad checkpoint, truncated, corrupt: checksum mismatch, other format
/// version, Scalar, layer sizes, hyperparameter values, number of environments) or why the file
/// cannot be read (missing, not a regular file, larger than checkpoint_size_limit(algorithm)).
///
/// A file from anywhere is safe to load: it is read only if it is a regular file no larger
/// than a checkpoint of this configuration can be, and fully validated (magic, length,
/// checksum) before anything is read into the object; then every array must have the size the
/// object expects, every count, index and flag must be in range and consistent with the rest,
/// and every floating-point value must be finite (variances >= 0, random generator states not
/// all zero). Anything else throws pgrad::Error naming the section and the field; no input
/// makes the loader allocate more than the file's size or read out of bounds. After an error
/// the object may be partly overwritten (with valid values): build a new one.
///
/// Data-parallel runs: collective; rank 0 reads the file and sends it to the others.
template <class Algorithm>
void load_checkpoint(Algorithm& algorithm, const std::string& path) {
  if constexpr (detail::has_communicator<Algorithm>::value) {
    std::string file;
    const std::uint64_t limit = checkpoint_size_limit(algorithm);  // collective: a save_state
    algorithm.communicator().run_guarded([&] {
      if (algorithm.is_root()) file = read_file(path, limit, "checkpoint");
    });
    algorithm.communicator().broadcast_bytes(file, 0);
    algorithm.communicator().run_guarded([&] { load_checkpoint_bytes(algorithm, file, path); });
  } else {
    load_checkpoint_bytes(algorithm, read_file(path, checkpoint_size_limit(algorithm), "checkpoint"), path);
  }
}

}  // namespace pgrad
