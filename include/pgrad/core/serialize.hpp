#pragma once
// pgrad::Writer / pgrad::Reader: the small binary format of pgrad checkpoints.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#if __has_include(<cxxabi.h>)
#include <cstdlib>
#include <cxxabi.h>
#define PGRAD_HAS_CXXABI 1
#endif

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

/// The checkpoint file format version written by this library; readers refuse any other, naming
/// both. Version 2: one on-policy skeleton (the layout of pgrad 0.2's algorithms).
inline constexpr std::uint32_t checkpoint_format_version = 2;

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

/// A readable name of type T (demangled where the compiler offers it).
template <class T>
std::string type_name() {
  const char* mangled = typeid(T).name();
#ifdef PGRAD_HAS_CXXABI
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status == 0 && demangled != nullptr) {
    std::string name(demangled);
    std::free(demangled);
    return name;
  }
#endif
  return mangled;
}

template <class S>
constexpr std::uint8_t scalar_code() {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>, "pgrad: Scalar must be float or double");
  return std::is_same_v<S, float> ? 4 : 8;
}
inline const char* scalar_code_name(std::uint8_t code) {
  return code == 4 ? "float" : code == 8 ? "double" : "unknown";
}

inline std::string join_sizes(const std::vector<Index>& sizes) {
  std::string text;
  for (std::size_t k = 0; k < sizes.size(); ++k) text += (k ? "-" : "") + std::to_string(sizes[k]);
  return text.empty() ? "(none)" : text;
}
}  // namespace detail

/// Serialises values into a byte buffer: little-endian fixed-width integers, float/double as their
/// IEEE-754 bits, length-prefixed strings, Eigen matrices with a scalar-type code and their sizes,
/// and named section tags that a Reader checks (so a mismatch names what differs).
/// `save(path)` wraps the buffer into a checkpoint file (magic, version, checksum) atomically.
class Writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void f32(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    u32(bits);
  }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  /// A float or double (with no type code: the enclosing section fixes the type).
  template <class S>
  void scalar(S v) {
    if constexpr (std::is_same_v<S, float>)
      f32(v);
    else
      f64(static_cast<double>(v));
  }
  void string(const std::string& s) {
    u64(s.size());
    bytes_.append(s);
  }
  /// A named section marker; Reader::section checks the same name comes back.
  void section(const std::string& name) {
    u8(tag_section);
    string(name);
  }
  /// A named number (hyperparameters): Reader::expect_same checks name and value.
  void named(const std::string& name, double value) {
    string(name);
    f64(value);
  }
  /// A dense Eigen matrix or vector: scalar code, rows, cols, column-major values.
  template <class Derived>
  void matrix(const Eigen::DenseBase<Derived>& m) {
    using S = typename Derived::Scalar;
    if constexpr (std::is_same_v<S, bool>) {
      u8(1);
    } else if constexpr (std::is_integral_v<S>) {
      u8(std::is_signed_v<S> ? 0x20 | sizeof(S) : 0x10 | sizeof(S));
    } else {
      u8(detail::scalar_code<S>());
    }
    i64(m.rows());
    i64(m.cols());
    for (Index c = 0; c < m.cols(); ++c)
      for (Index r = 0; r < m.rows(); ++r) {
        const S v = m.derived()(r, c);
        if constexpr (std::is_same_v<S, bool>)
          boolean(v);
        else if constexpr (std::is_integral_v<S>)
          put(static_cast<std::uint64_t>(v), sizeof(S));
        else
          scalar(v);
      }
  }
  void rng(const Rng& rng) {
    for (std::uint64_t word : rng.state()) u64(word);
  }

  const std::string& bytes() const { return bytes_; }

  /// Writes magic, format version, payload length, the payload and an FNV-1a 64 checksum of all
  /// that to "<path>.tmp", flushes it to disk (fsync), then renames it over `path`. On any failure
  /// throws pgrad::Error, removes the temporary file and leaves an existing `path` untouched.
  void save(const std::string& path) const {
    std::string file(detail::checkpoint_magic, 8);
    Writer header;
    header.u32(checkpoint_format_version);
    header.u64(bytes_.size());
    file += header.bytes_;
    file += bytes_;
    Writer trailer;
    trailer.u64(detail::fnv1a64(file.data(), file.size()));
    file += trailer.bytes_;
    write_atomically(path, file);
  }

  /// The atomic write used by save(): temporary file, fsync, rename.
  static void write_atomically(const std::string& path, const std::string& contents) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    PGRAD_REQUIRE(fd >= 0, "checkpoint: cannot create '", tmp, "': ", std::strerror(errno));
    const auto fail = [&](const char* what) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      detail::fail("checkpoint: ", what, " '", tmp, "' failed: ", reason, " ('", path, "' left unchanged)");
    };
    std::size_t done = 0;
    while (done < contents.size()) {
      const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("writing");
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail("fsync of");
    if (::close(fd) != 0) {
      const std::string reason = std::strerror(errno);
      ::unlink(tmp.c_str());
      detail::fail("checkpoint: closing '", tmp, "' failed: ", reason);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      const std::string reason = std::strerror(errno);
      ::unlink(tmp.c_str());
      detail::fail("checkpoint: renaming '", tmp, "' to '", path, "' failed: ", reason, " ('", path,
                   "' left unchanged)");
    }
  }

  static constexpr std::uint8_t tag_section = 0xA5;

 private:
  void put(std::uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) bytes_.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
  std::string bytes_;
};

/// Reads what a Writer wrote, checking every tag, type code and size; any mismatch or running
/// off the end throws pgrad::Error naming the field. `Reader::open(path)` validates a checkpoint
/// file (magic, version, length, checksum) before handing out its payload.
class Reader {
 public:
  explicit Reader(std::string payload, std::string source = "checkpoint")
      : bytes_(std::move(payload)), source_(std::move(source)) {}

  /// Reads and validates a checkpoint file written by Writer::save.
  static Reader open(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    PGRAD_REQUIRE(in.good(), "checkpoint '", path, "': cannot open the file");
    std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    PGRAD_REQUIRE(!in.bad(), "checkpoint '", path, "': read error");
    const std::size_t min_size = detail::checkpoint_header_size + detail::checkpoint_trailer_size;
    PGRAD_REQUIRE(file.size() >= 8 || file.empty() ||
                      std::memcmp(file.data(), detail::checkpoint_magic, file.size()) != 0,
                  "checkpoint '", path, "': truncated (", file.size(), " bytes)");
    PGRAD_REQUIRE(file.size() >= 8 && std::memcmp(file.data(), detail::checkpoint_magic, 8) == 0,
                  "checkpoint '", path, "': not a pgrad checkpoint (wrong magic bytes)");
    PGRAD_REQUIRE(file.size() >= min_size, "checkpoint '", path, "': truncated (", file.size(),
                  " bytes, shorter than the ", min_size, "-byte header and checksum)");
    Reader header(file.substr(8, 12), path);
    const std::uint32_t version = header.u32();
    const std::uint64_t length = header.u64();
    const std::uint64_t expected = static_cast<std::uint64_t>(min_size) + length;
    PGRAD_REQUIRE(length <= file.size() && file.size() >= expected, "checkpoint '", path, "': truncated (",
                  file.size(), " bytes, the header announces ", expected, ")");
    PGRAD_REQUIRE(file.size() == expected, "checkpoint '", path, "': corrupt: ", file.size() - expected,
                  " unexpected bytes after the checksum");
    const std::size_t body = file.size() - detail::checkpoint_trailer_size;
    Reader trailer(file.substr(body), path);
    PGRAD_REQUIRE(trailer.u64() == detail::fnv1a64(file.data(), body), "checkpoint '", path,
                  "': corrupt: checksum mismatch");
    PGRAD_REQUIRE(version == checkpoint_format_version, "checkpoint '", path, "': format version ", version,
                  " is not supported (this pgrad reads version ", checkpoint_format_version, ")");
    return Reader(file.substr(detail::checkpoint_header_size, static_cast<std::size_t>(length)), path);
  }

  std::uint8_t u8() {
    need(1, "a byte");
    return static_cast<std::uint8_t>(bytes_[pos_++]);
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4, "a 32-bit integer")); }
  std::uint64_t u64() { return get(8, "a 64-bit integer"); }
  std::int64_t i64() { return static_cast<std::int64_t>(get(8, "a 64-bit integer")); }
  bool boolean() {
    const std::uint8_t v = u8();
    PGRAD_REQUIRE(v <= 1, source_, ": corrupt boolean value ", int(v), " at byte ", pos_ - 1);
    return v == 1;
  }
  float f32() {
    const std::uint32_t bits = u32();
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  double f64() {
    const std::uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  template <class S>
  S scalar() {
    if constexpr (std::is_same_v<S, float>)
      return f32();
    else
      return static_cast<S>(f64());
  }
  std::string string() {
    const std::uint64_t size = u64();
    need(size, "a string");
    std::string s = bytes_.substr(pos_, static_cast<std::size_t>(size));
    pos_ += static_cast<std::size_t>(size);
    return s;
  }

  /// Checks that the next item is the section `name`.
  void section(const std::string& name) {
    const std::uint8_t tag = u8();
    PGRAD_REQUIRE(tag == Writer::tag_section, source_, ": corrupt: expected section '", name, "' at byte ",
                  pos_ - 1);
    const std::string found = string();
    PGRAD_REQUIRE(found == name, source_, ": section mismatch: file has '", found, "', program expects '", name,
                  "'");
  }

  /// Reads a named number and checks it equals `value` (bit for bit), naming the field otherwise.
  void expect_same(const std::string& what, const std::string& name, double value) {
    const std::string found = string();
    PGRAD_REQUIRE(found == name, source_, ": ", what, ": file has field '", found, "' where the program has '",
                  name, "'");
    const double stored = f64();
    std::uint64_t a, b;
    std::memcpy(&a, &stored, 8);
    std::memcpy(&b, &value, 8);
    PGRAD_REQUIRE(a == b, source_, ": ", what, " ", name, " differs: file has ", stored, ", program has ", value);
  }

  /// Reads a matrix into `m`: the type code must match its Scalar; `rows`/`cols` (if >= 0) are
  /// the sizes the program expects, otherwise m is resized to the file's sizes.
  template <class M>
  void matrix(M& m, const std::string& what, Index rows = -1, Index cols = -1) {
    using S = typename M::Scalar;
    std::uint8_t code;
    if constexpr (std::is_same_v<S, bool>)
      code = 1;
    else if constexpr (std::is_integral_v<S>)
      code = std::is_signed_v<S> ? 0x20 | sizeof(S) : 0x10 | sizeof(S);
    else
      code = detail::scalar_code<S>();
    const std::uint8_t found = u8();
    if (found != code) {
      if ((found == 4 || found == 8) && (code == 4 || code == 8))
        detail::fail(source_, ": Scalar differs in ", what, ": file ", detail::scalar_code_name(found),
                     ", program ", detail::scalar_code_name(code));
      detail::fail(source_, ": ", what, ": element type code ", int(found), " in the file, program expects ",
                   int(code));
    }
    const std::int64_t r = i64(), c = i64();
    PGRAD_REQUIRE(r >= 0 && c >= 0, source_, ": corrupt sizes ", r, "x", c, " for ", what);
    PGRAD_REQUIRE((rows < 0 || r == rows) && (cols < 0 || c == cols), source_, ": ", what,
                  " sizes differ: file has ", r, "x", c, ", program has ", rows < 0 ? r : rows, "x",
                  cols < 0 ? c : cols);
    const std::size_t element = std::is_same_v<S, bool> ? 1 : sizeof(S);
    PGRAD_REQUIRE(static_cast<std::uint64_t>(r) * static_cast<std::uint64_t>(c) <= remaining() / element,
                  source_, ": truncated while reading ", what, " (", r, "x", c, ")");
    m.resize(static_cast<Index>(r), static_cast<Index>(c));
    for (Index j = 0; j < m.cols(); ++j)
      for (Index i = 0; i < m.rows(); ++i) {
        if constexpr (std::is_same_v<S, bool>)
          m(i, j) = boolean();
        else if constexpr (std::is_integral_v<S>)
          m(i, j) = static_cast<S>(get(sizeof(S), what.c_str()));
        else
          m(i, j) = scalar<S>();
      }
  }
  /// Reads a matrix into a fixed-size object (sizes must match exactly).
  template <class M>
  void fixed_matrix(M& m, const std::string& what) {
    Matrix<typename M::Scalar> tmp;
    matrix(tmp, what, m.rows(), m.cols());
    m = tmp;
  }

  void rng(Rng& rng) {
    Rng::State state;
    for (auto& word : state) word = u64();
    rng.set_state(state);
  }

  /// Throws unless every byte of the payload was read.
  void finish() const {
    PGRAD_REQUIRE(pos_ == bytes_.size(), source_, ": corrupt: ", bytes_.size() - pos_,
                  " unread bytes at the end of the payload");
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& source() const { return source_; }

 private:
  void need(std::uint64_t n, const char* what) const {
    PGRAD_REQUIRE(n <= remaining(), source_, ": truncated while reading ", what, " at byte ", pos_);
  }
  std::uint64_t get(std::size_t n, const char* what) {
    need(n, what);
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + k])) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string bytes_;
  std::string source_;
  std::size_t pos_ = 0;
};

/// Writes the code of Scalar type S (float or double); check_scalar_type reads it back and throws
/// naming both types when they differ ("Scalar differs: file float, program double").
template <class S>
void write_scalar_type(Writer& w) {
  w.u8(detail::scalar_code<S>());
}
template <class S>
void check_scalar_type(Reader& r) {
  const std::uint8_t code = r.u8();
  PGRAD_REQUIRE(code == detail::scalar_code<S>(), r.source(), ": Scalar differs: file ", detail::scalar_code_name(code),
                ", program ", detail::scalar_code_name(detail::scalar_code<S>()));
}

/// True when T has `void save_state(pgrad::Writer&) const` and `void load_state(pgrad::Reader&)`
/// (what an environment needs for exact resume from a checkpoint).
template <class T, class = void>
struct has_state_io : std::false_type {};
template <class T>
struct has_state_io<T, std::void_t<decltype(std::declval<const T&>().save_state(std::declval<Writer&>())),
                                   decltype(std::declval<T&>().load_state(std::declval<Reader&>()))>>
    : std::true_type {};
template <class T>
inline constexpr bool has_state_io_v = has_state_io<T>::value;

/// obj.save_state(writer), or a pgrad::Error naming T when T lacks the members.
template <class T>
void save_state_of(Writer& writer, const T& obj) {
  if constexpr (has_state_io_v<T>)
    obj.save_state(writer);
  else
    detail::fail("checkpoint: exact resume needs `void save_state(pgrad::Writer&) const` and ",
                 "`void load_state(pgrad::Reader&)` on the environment type ", detail::type_name<T>());
}
/// obj.load_state(reader), or a pgrad::Error naming T when T lacks the members.
template <class T>
void load_state_of(Reader& reader, T& obj) {
  if constexpr (has_state_io_v<T>)
    obj.load_state(reader);
  else
    detail::fail("checkpoint: exact resume needs `void save_state(pgrad::Writer&) const` and ",
                 "`void load_state(pgrad::Reader&)` on the environment type ", detail::type_name<T>());
}

}  // namespace pgrad
