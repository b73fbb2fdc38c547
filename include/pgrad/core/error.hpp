#pragma once
// pgrad::Error and the checks that raise it.
//
// Messages are built by one non-template function, detail::fail(std::initializer_list<MessagePart>):
// every call site only stores its arguments in MessageParts (a tag and a value, no formatting and
// no operator<< overload resolution), so the hundreds of checks of a program cost little to compile.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace Eigen {
template <typename Derived>
class DenseBase;
}  // namespace Eigen

namespace pgrad {

/// Every error pgrad reports: wrong sizes, NaN/Inf, out-of-range hyperparameters, corrupt
/// files. The message says what was wrong and where.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error("pgrad: " + message) {}
};

namespace detail {

/// One argument of an error message, kept unformatted until the message is built: text
/// (const char*, std::string, std::string_view), a character, bool, any integer, float, double,
/// long double, a pointer, or an Eigen dense object (matrix, array, or expression). Formatted
/// exactly as `std::ostream <<` with default flags formats it: bool as 1/0, floating point as
/// printf "%g" (6 significant digits, nan/inf as printed by the C library), pointers as 0x..., and
/// Eigen objects as Eigen's operator<< does (coefficients right-aligned to a common width,
/// separated by spaces, one row per line).
///
/// A MessagePart may refer to its argument (text, Eigen objects): build it and use it within one
/// full-expression, as PGRAD_REQUIRE and detail::fail do.
class MessagePart {
 public:
  MessagePart(const char* text) noexcept : kind_(Kind::text) { value_.text = {text, text ? std::strlen(text) : 0}; }
  MessagePart(const std::string& text) noexcept : kind_(Kind::text) { value_.text = {text.data(), text.size()}; }
  MessagePart(std::string_view text) noexcept : kind_(Kind::text) { value_.text = {text.data(), text.size()}; }
  MessagePart(char c) noexcept : kind_(Kind::character) { value_.character = c; }
  MessagePart(signed char c) noexcept : kind_(Kind::character) { value_.character = static_cast<char>(c); }
  MessagePart(unsigned char c) noexcept : kind_(Kind::character) { value_.character = static_cast<char>(c); }
  MessagePart(bool b) noexcept : kind_(Kind::signed_integer) { value_.signed_integer = b ? 1 : 0; }
  MessagePart(short v) noexcept : MessagePart(static_cast<long long>(v)) {}
  MessagePart(int v) noexcept : MessagePart(static_cast<long long>(v)) {}
  MessagePart(long v) noexcept : MessagePart(static_cast<long long>(v)) {}
  MessagePart(long long v) noexcept : kind_(Kind::signed_integer) { value_.signed_integer = v; }
  MessagePart(unsigned short v) noexcept : MessagePart(static_cast<unsigned long long>(v)) {}
  MessagePart(unsigned v) noexcept : MessagePart(static_cast<unsigned long long>(v)) {}
  MessagePart(unsigned long v) noexcept : MessagePart(static_cast<unsigned long long>(v)) {}
  MessagePart(unsigned long long v) noexcept : kind_(Kind::unsigned_integer) { value_.unsigned_integer = v; }
  MessagePart(float v) noexcept : MessagePart(static_cast<double>(v)) {}  // as ostream: printed as a double
  MessagePart(double v) noexcept : kind_(Kind::floating) { value_.floating = v; }
  MessagePart(long double v) noexcept : kind_(Kind::long_floating) { value_.long_floating = v; }
  MessagePart(const void* pointer) noexcept : kind_(Kind::pointer) { value_.pointer = pointer; }

  /// An Eigen dense object, formatted when the message is built (the object must still live).
  template <class Derived>
  MessagePart(const Eigen::DenseBase<Derived>& object) noexcept : kind_(Kind::custom) {
    value_.custom = {static_cast<const void*>(&object), &append_dense<Derived>};
  }

  /// Appends this part's text to `out`.
  void append_to(std::string& out) const;

 private:
  enum class Kind : unsigned char { text, character, signed_integer, unsigned_integer, floating, long_floating,
                                    pointer, custom };
  using Appender = void (*)(std::string& out, const void* object);
  struct Text {
    const char* data;
    std::size_t size;
  };
  struct Custom {
    const void* object;
    Appender append;
  };
  union Value {
    Text text;
    char character;
    long long signed_integer;
    unsigned long long unsigned_integer;
    double floating;
    long double long_floating;
    const void* pointer;
    Custom custom;
  };

  // Eigen prints char-sized coefficients as numbers, everything else as itself.
  template <class Scalar>
  using PrintType = std::conditional_t<std::is_same_v<Scalar, char> || std::is_same_v<Scalar, signed char> ||
                                           std::is_same_v<Scalar, unsigned char>,
                                       int, Scalar>;
  template <class Plain>
  static MessagePart dense_coefficient(const void* plain, std::ptrdiff_t row, std::ptrdiff_t col) {
    return MessagePart(static_cast<PrintType<typename Plain::Scalar>>(static_cast<const Plain*>(plain)->coeff(row, col)));
  }
  template <class Derived>
  static void append_dense(std::string& out, const void* object) {
    const auto& plain = static_cast<const Derived*>(object)->eval();  // as Eigen's operator<<
    using Plain = std::decay_t<decltype(plain)>;
    append_matrix(out, &plain, plain.rows(), plain.cols(), &dense_coefficient<Plain>);
  }
  static void append_matrix(std::string& out, const void* plain, std::ptrdiff_t rows, std::ptrdiff_t cols,
                            MessagePart (*coefficient)(const void*, std::ptrdiff_t, std::ptrdiff_t));

  Kind kind_;
  Value value_;
};

inline void MessagePart::append_to(std::string& out) const {
  char buffer[64];
  int length = 0;
  switch (kind_) {
    case Kind::text:
      if (value_.text.data)
        out.append(value_.text.data, value_.text.size);
      else
        out += "(null)";
      return;
    case Kind::character: out += value_.character; return;
    case Kind::signed_integer: length = std::snprintf(buffer, sizeof buffer, "%lld", value_.signed_integer); break;
    case Kind::unsigned_integer: length = std::snprintf(buffer, sizeof buffer, "%llu", value_.unsigned_integer); break;
    case Kind::floating: length = std::snprintf(buffer, sizeof buffer, "%.*g", 6, value_.floating); break;
    case Kind::long_floating: length = std::snprintf(buffer, sizeof buffer, "%.*Lg", 6, value_.long_floating); break;
    case Kind::pointer:
      length = std::snprintf(buffer, sizeof buffer, "%#llx",
                             static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(value_.pointer)));
      break;
    case Kind::custom: value_.custom.append(out, value_.custom.object); return;
  }
  if (length > 0) out.append(buffer, static_cast<std::size_t>(length) < sizeof buffer ? length : sizeof buffer - 1);
}

// Eigen's default IOFormat: every coefficient right-aligned to the widest one, " " between
// coefficients, "\n" between rows, nothing for an empty object.
inline void MessagePart::append_matrix(std::string& out, const void* plain, std::ptrdiff_t rows, std::ptrdiff_t cols,
                                       MessagePart (*coefficient)(const void*, std::ptrdiff_t, std::ptrdiff_t)) {
  std::string cell;
  std::size_t width = 0;
  for (std::ptrdiff_t j = 0; j < cols; ++j)
    for (std::ptrdiff_t i = 0; i < rows; ++i) {
      cell.clear();
      coefficient(plain, i, j).append_to(cell);
      if (cell.size() > width) width = cell.size();
    }
  for (std::ptrdiff_t i = 0; i < rows; ++i) {
    if (i > 0) out += '\n';
    for (std::ptrdiff_t j = 0; j < cols; ++j) {
      if (j > 0) out += ' ';
      cell.clear();
      coefficient(plain, i, j).append_to(cell);
      if (cell.size() < width) out.append(width - cell.size(), ' ');
      out += cell;
    }
  }
}

/// Throws pgrad::Error with the parts' texts concatenated (one non-template function for every
/// message of the library).
#if defined(__GNUC__)
#define PGRAD_DETAIL_COLD [[gnu::noinline, gnu::cold]]
#else
#define PGRAD_DETAIL_COLD
#endif
[[noreturn]] PGRAD_DETAIL_COLD inline void fail(std::initializer_list<MessagePart> parts) {
  std::string message;
  for (const MessagePart& part : parts) part.append_to(message);
  throw Error(message);
}
#undef PGRAD_DETAIL_COLD

/// fail(a, b, c) for call sites with separate arguments: a thin forwarder to the non-template fail.
template <class... Parts>
[[noreturn]] inline void fail(const Parts&... parts) {
  fail({MessagePart(parts)...});
}

}  // namespace detail

}  // namespace pgrad

/// PGRAD_REQUIRE(condition, message parts...): throws pgrad::Error built from the parts when
/// the condition is false. The parts are only evaluated on failure; each is text, a character,
/// bool, an integer, a floating-point number, a pointer or an Eigen dense object (see
/// pgrad::detail::MessagePart for the formatting).
#define PGRAD_REQUIRE(condition, ...)                                    \
  do {                                                                   \
    if (!(condition)) ::pgrad::detail::fail({__VA_ARGS__});              \
  } while (false)
