#pragma once
// pgrad::Writer / pgrad::Reader: the small binary format of pgrad checkpoints, in memory.
// (Checkpoint files: training/checkpoint.hpp; the file layer: core/file_io.hpp.)
#include <cmath>
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

/// The largest counter (step, episode or update count, episode length) a checkpoint may hold:
/// 2^62. Readers refuse larger ones, so that counting on from a loaded value cannot overflow.
inline constexpr std::int64_t max_saved_counter = std::int64_t(1) << 62;

/// One value a Writer wrote, as Writer::record_fields logs it: where it starts in bytes(), its
/// width (1, 4 or 8 bytes), whether it holds IEEE-754 bits, and, for a value inside a matrix,
/// its index among the matrix's `elements` values (-1 otherwise). Corruption tests and fuzzers
/// use the log to change one field of a checkpoint at a time.
struct WrittenField {
  std::size_t offset = 0;
  std::uint8_t width = 0;
  bool floating = false;
  std::int64_t element = -1;
  std::int64_t elements = 0;
};

/// Serialises values into a byte buffer: little-endian fixed-width integers, float/double as their
/// IEEE-754 bits, length-prefixed strings, Eigen matrices with a scalar-type code and their sizes,
/// and named section tags that a Reader checks (so a mismatch names what differs).
/// save_checkpoint (training/checkpoint.hpp) frames the bytes into a file.
class Writer {
 public:
  void u8(std::uint8_t v) {
    note(1, false);
    bytes_.push_back(static_cast<char>(v));
  }
  void u32(std::uint32_t v) { put(v, 4, false); }
  void u64(std::uint64_t v) { put(v, 8, false); }
  void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8, false); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void f32(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put(bits, 4, true);
  }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    put(bits, 8, true);
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
    element_count_ = static_cast<std::int64_t>(m.rows()) * static_cast<std::int64_t>(m.cols());
    for (Index c = 0; c < m.cols(); ++c)
      for (Index r = 0; r < m.rows(); ++r) {
        element_ = static_cast<std::int64_t>(c) * m.rows() + r;
        const S v = m.derived()(r, c);
        if constexpr (std::is_same_v<S, bool>)
          boolean(v);
        else if constexpr (std::is_integral_v<S>)
          put(static_cast<std::uint64_t>(v), sizeof(S), false);
        else
          scalar(v);
      }
    element_ = -1;
  }
  void rng(const Rng& rng) {
    for (std::uint64_t word : rng.state()) u64(word);
  }

  const std::string& bytes() const { return bytes_; }

  /// From now on, appends a WrittenField to `*log` for every value written (nullptr: stop).
  void record_fields(std::vector<WrittenField>* log) { log_ = log; }

  static constexpr std::uint8_t tag_section = 0xA5;

 private:
  void note(int width, bool floating) {
    if (log_ != nullptr)
      log_->push_back({bytes_.size(), static_cast<std::uint8_t>(width), floating, element_,
                       element_ < 0 ? 0 : element_count_});
  }
  void put(std::uint64_t v, int bytes, bool floating) {
    note(bytes, floating);
    for (int k = 0; k < bytes; ++k) bytes_.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
  std::string bytes_;
  std::vector<WrittenField>* log_ = nullptr;
  std::int64_t element_ = -1, element_count_ = 0;
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

  /// An i64 that must lie in [lo, hi] (a counter, a size, an index); otherwise throws naming
  /// `what` (section and field) and the value.
  std::int64_t i64_in(const char* what, std::int64_t lo, std::int64_t hi) {
    const std::int64_t v = i64();
    PGRAD_REQUIRE(v >= lo && v <= hi, source_, ": corrupt ", what, " ", v, " (must be in [", lo, ", ", hi, "])");
    return v;
  }
  /// A float or double that must be finite; otherwise throws naming `what` and the value.
  template <class S>
  S finite(const char* what) {
    const S v = scalar<S>();
    PGRAD_REQUIRE(std::isfinite(v), source_, ": corrupt ", what, " ", v, " (must be finite)");
    return v;
  }

  /// Reads a matrix into `m`, which must come out exactly rows x cols (the sizes the program
  /// expects): the type code must match its Scalar, the stored sizes must be rows and cols,
  /// and floating-point values must be finite. Anything else throws pgrad::Error naming `what`
  /// before anything is allocated; `m` is only resized once the sizes are known to be right
  /// and the bytes to be there.
  template <class M>
  void matrix(M& m, const std::string& what, Index rows, Index cols) {
    using S = typename M::Scalar;
    PGRAD_REQUIRE(rows >= 0 && cols >= 0, "Reader::matrix: ", what, ": expected sizes ", rows, "x", cols,
                  " must be given (>= 0)");
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
    PGRAD_REQUIRE(r == rows && c == cols, source_, ": ", what, " sizes differ: file has ", r, "x", c,
                  ", program has ", rows, "x", cols);
    read_values(m, what, rows, cols);
  }
  /// Reads a matrix into a fixed-size object (sizes must match exactly).
  template <class M>
  void fixed_matrix(M& m, const std::string& what) {
    Matrix<typename M::Scalar> tmp;
    matrix(tmp, what, m.rows(), m.cols());
    m = tmp;
  }
  /// Reads a column vector of floating-point values whose length the program cannot know in
  /// advance (it must be 1 column of at most max_rows finite values): for state saved by a
  /// component that was not told the sizes to expect (see nn::detail::BlockState).
  template <class S>
  void bounded_vector(Vector<S>& v, const std::string& what, Index max_rows) {
    const std::uint8_t found = u8();
    PGRAD_REQUIRE(found == detail::scalar_code<S>(), source_, ": ", what, ": element type code ", int(found),
                  " in the file, program expects ", int(detail::scalar_code<S>()));
    const std::int64_t r = i64(), c = i64();
    PGRAD_REQUIRE(r >= 0 && r <= max_rows && c == 1, source_, ": ", what, " sizes differ: file has ", r, "x", c,
                  ", program expects at most ", max_rows, "x1");
    read_values(v, what, static_cast<Index>(r), 1);
  }

  /// Reads a generator's state; an all-zero state (which xoshiro never leaves) throws naming `what`.
  void rng(Rng& rng, const char* what = "random generator") {
    Rng::State state;
    for (auto& word : state) word = u64();
    PGRAD_REQUIRE(state[0] | state[1] | state[2] | state[3], source_, ": corrupt ", what,
                  " state (all zero, which no generator reaches)");
    rng.set_state(state);
  }

  /// True when every byte has been read.
  bool at_end() const { return pos_ == bytes_.size(); }
  /// Throws unless every byte of the payload was read.
  void finish() const {
    PGRAD_REQUIRE(pos_ == bytes_.size(), source_, ": corrupt: ", bytes_.size() - pos_,
                  " unread bytes at the end of the payload");
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& source() const { return source_; }

 private:
  // The rows x cols values of a matrix whose sizes were checked: the bytes must be there
  // (overflow-safe) before m is resized; floating-point values must be finite.
  template <class M>
  void read_values(M& m, const std::string& what, Index rows, Index cols) {
    using S = typename M::Scalar;
    const std::uint64_t element = std::is_same_v<S, bool> ? 1 : sizeof(S);
    const std::uint64_t r = static_cast<std::uint64_t>(rows), c = static_cast<std::uint64_t>(cols);
    PGRAD_REQUIRE(c == 0 || r <= remaining() / element / c, source_, ": truncated while reading ", what, " (", rows,
                  "x", cols, ")");
    m.resize(rows, cols);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < rows; ++i) {
        if constexpr (std::is_same_v<S, bool>) {
          m(i, j) = boolean();
        } else if constexpr (std::is_integral_v<S>) {
          m(i, j) = static_cast<S>(get(sizeof(S), what.c_str()));
        } else {
          const S v = scalar<S>();
          PGRAD_REQUIRE(std::isfinite(v), source_, ": corrupt ", what, ": non-finite value ", v, " at row ", i,
                        ", column ", j);
          m(i, j) = v;
        }
      }
  }
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
