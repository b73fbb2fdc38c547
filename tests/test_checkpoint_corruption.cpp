// Checkpoints from anywhere: every field of a real checkpoint set to extreme values (with a
// valid length and checksum) loads into a usable object or throws pgrad::Error; the crafted
// files of issue 17 and the fuzzers' findings end in pgrad::Error naming the field.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "checkpoint_targets.hpp"
#if defined(__GLIBC__)
#include "allocation_hooks.hpp"
#endif

using Catch::Matchers::Contains;
using checkpoint_targets::Outcome;

namespace {

/// `payload` with the `width` bytes at `offset` replaced by the low bytes of `bits`.
std::string with_bytes(std::string payload, std::size_t offset, int width, std::uint64_t bits) {
  for (int k = 0; k < width; ++k) payload[offset + k] = static_cast<char>((bits >> (8 * k)) & 0xFF);
  return payload;
}

/// The extreme values a field is set to, as the bit patterns of its width: for integers 0, -1,
/// INT64_MAX, INT64_MIN and 2^62 (their low bytes) and the bits of NaN and Inf; for floats and
/// doubles 0, -1, ±9.22e18 (±INT64_MAX), 4.61e18 (2^62), NaN and Inf.
std::vector<std::uint64_t> extreme_bits(const pgrad::WrittenField& field) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const auto bits_of = [&](double v) -> std::uint64_t {
    if (field.width == 4) {
      const float f = static_cast<float>(v);
      std::uint32_t b;
      std::memcpy(&b, &f, 4);
      return b;
    }
    std::uint64_t b;
    std::memcpy(&b, &v, 8);
    return b;
  };
  if (field.floating) return {bits_of(0.0), bits_of(-1.0), bits_of(9.223372036854775807e18),
                              bits_of(-9.223372036854775807e18), bits_of(4.611686018427387904e18), bits_of(nan),
                              bits_of(inf)};
  std::vector<std::uint64_t> values{0, ~std::uint64_t(0), std::uint64_t(INT64_MAX), std::uint64_t(1) << 63,
                                    std::uint64_t(1) << 62};
  if (field.width > 1) {
    values.push_back(bits_of(nan));
    values.push_back(bits_of(inf));
  }
  return values;
}

/// Every field but the values inside matrices, of which the first and the last.
bool sampled(const pgrad::WrittenField& field) {
  return field.element < 0 || field.element == 0 || field.element == field.elements - 1;
}

}  // namespace

TEST_CASE("Every field of a checkpoint set to an extreme value loads into a usable object or throws pgrad::Error",
          "[checkpoint][corruption]") {
  for (const checkpoint_targets::Target& target : checkpoint_targets::all()) {
    std::vector<pgrad::WrittenField> fields;
    const std::string payload = target.payload(&fields);
    REQUIRE(fields.size() > 50);
    INFO("target " << target.name);
    REQUIRE(target.load_and_update(pgrad::checkpoint_file_bytes(payload)).kind == Outcome::updated);

    std::map<Outcome::Kind, int> outcomes;
    std::size_t tried_fields = 0;
#if defined(__GLIBC__)
    largest_allocation = 0;
    counting = true;
#endif
    for (const pgrad::WrittenField& field : fields) {
      if (!sampled(field)) continue;
      ++tried_fields;
      for (std::uint64_t bits : extreme_bits(field)) {
        const std::string corrupted = with_bytes(payload, field.offset, field.width, bits);
        if (corrupted == payload) continue;
        const Outcome outcome = target.load_and_update(pgrad::checkpoint_file_bytes(corrupted));
        ++outcomes[outcome.kind];
        INFO("field at payload byte " << field.offset << " (width " << int(field.width)
                                      << (field.floating ? ", floating" : "") << ", element " << field.element << " of "
                                      << field.elements << ") set to bits 0x" << std::hex << bits << std::dec << ": "
                                      << outcome.message);
        CHECK(outcome.kind != Outcome::non_finite_parameters);
        CHECK(outcome.kind != Outcome::update_refused);
        if (outcome.kind == Outcome::load_refused) CHECK_THAT(outcome.message, Contains("pgrad: corrupt checkpoint"));
      }
    }
#if defined(__GLIBC__)
    counting = false;
    // A checkpoint of a few kilobytes: no load allocates more than a few times that.
    CHECK(largest_allocation.load() < (std::size_t(16) << 20));
#endif
    std::printf("%s: %zu of %zu fields, %d corrupted files refused, %d loaded and updated\n", target.name.c_str(),
                tried_fields, fields.size(), outcomes[Outcome::load_refused], outcomes[Outcome::updated]);
    CHECK(outcomes[Outcome::load_refused] > 0);
    CHECK(outcomes[Outcome::updated] > 0);
  }
}
