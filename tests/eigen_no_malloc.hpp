#pragma once
// Eigen's run-time allocation check, active in Release too: an allocation while
// Eigen::internal::set_is_malloc_allowed(false) throws std::logic_error (the "no allocation"
// tests). Include this first, before anything that includes Eigen.
#define EIGEN_RUNTIME_NO_MALLOC
#include <stdexcept>
#define eigen_assert(x)                                                \
  do {                                                                 \
    if (!(x)) throw std::logic_error("Eigen assertion failed: " #x); \
  } while (false)
