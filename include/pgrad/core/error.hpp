#pragma once
// pgrad::Error and the checks that raise it.
#include <sstream>
#include <stdexcept>
#include <string>

namespace pgrad {

/// Every error pgrad reports: wrong sizes, NaN/Inf, out-of-range hyperparameters, corrupt
/// files. The message says what was wrong and where.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error("pgrad: " + message) {}
};

namespace detail {
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}
}  // namespace detail

}  // namespace pgrad

/// PGRAD_REQUIRE(condition, message parts...): throws pgrad::Error built from the parts when
/// the condition is false. The parts are only evaluated on failure.
#define PGRAD_REQUIRE(condition, ...)                                    \
  do {                                                                   \
    if (!(condition)) ::pgrad::detail::fail(__VA_ARGS__);                \
  } while (false)
