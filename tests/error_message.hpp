#pragma once
// error_of: the message of the pgrad::Error a call throws, for tests that check what an error says.
#include <functional>
#include <string>

#include <pgrad/core/error.hpp>

/// The message of the pgrad::Error that `call` throws ("" when it throws nothing; any other
/// exception propagates).
inline std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const pgrad::Error& error) {
    return error.what();
  }
  return "";
}
