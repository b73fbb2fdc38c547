#pragma once
// pgrad::Writer / pgrad::Reader: the small binary format of pgrad checkpoints, in memory.
// (Checkpoint files: training/checkpoint.hpp; the file layer: core/file_io.hpp.)
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#if __has_include(<cxxabi.h>)
#include <cstdlib>
#include <cxxabi.h>
#define PGRAD_HAS_CXXABI 1
#endif

#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

namespace pgrad {

namespace detail {
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
/// save_checkpoint (training/checkpoint.hpp) frames the bytes into a file.
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

  static constexpr std::uint8_t tag_section = 0xA5;

 private:
  void put(std::uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) bytes_.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
  std::string bytes_;
};

/// Reads what a Writer wrote, checking every tag, type code and size; any mismatch or running
/// off the end throws pgrad::Error naming the field. read_checkpoint_file (training/checkpoint.hpp)
/// validates a checkpoint file (magic, version, length, checksum) and hands out its payload.
class Reader {
 public:
  explicit Reader(std::string payload, std::string source = "checkpoint")
      : bytes_(std::move(payload)), source_(std::move(source)) {}

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
