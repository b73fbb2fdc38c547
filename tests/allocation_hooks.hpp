#pragma once
// Counts every malloc of the process while `counting` is set, and keeps the largest size asked
// for: glibc's malloc, calloc and realloc are wrapped here, or the sanitizer's allocation hook is
// installed under AddressSanitizer. Include it from one test file of an executable (it defines
// the wrappers); glibc only.
#include <atomic>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define PGRAD_TEST_SANITIZER_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PGRAD_TEST_SANITIZER_HOOKS 1
#endif
#endif

#if defined(PGRAD_TEST_SANITIZER_HOOKS)
// Declared here rather than through <sanitizer/allocator_interface.h>, which GCC does not ship;
// the sanitizer runtime (libasan) exports it for both GCC and Clang.
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, std::size_t), void (*free_hook)(const volatile void*));
#endif

namespace {
std::atomic<long> allocations{0};                // allocations while counting
std::atomic<std::size_t> largest_allocation{0};  // the largest size asked for while counting
std::atomic<bool> counting{false};
void note_allocation(std::size_t size) {
  if (!counting.load(std::memory_order_relaxed)) return;
  allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
  while (size > seen && !largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
}
}  // namespace

#if defined(PGRAD_TEST_SANITIZER_HOOKS)
namespace {
void on_malloc(const volatile void*, std::size_t size) { note_allocation(size); }
void on_free(const volatile void*) {}
const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
// glibc's allocator entry points, which the wrappers below forward to.
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* __libc_calloc(std::size_t count, std::size_t size);
extern "C" void* __libc_realloc(void* pointer, std::size_t size);
extern "C" void* malloc(std::size_t size) {
  note_allocation(size);
  return __libc_malloc(size);
}
extern "C" void* calloc(std::size_t count, std::size_t size) {
  note_allocation(count * size);
  return __libc_calloc(count, size);
}
extern "C" void* realloc(void* pointer, std::size_t size) {
  note_allocation(size);
  return __libc_realloc(pointer, size);
}
#endif

