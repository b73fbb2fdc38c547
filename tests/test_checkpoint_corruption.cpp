// Checkpoints from anywhere: every field of a real checkpoint set to extreme values (with a
// valid length and checksum) loads into a usable object or throws pgrad::Error; the crafted
// files of issue 17 and the fuzzers' findings end in pgrad::Error naming the field.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "checkpoint_targets.hpp"
#include "temp_path.hpp"
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

namespace {

/// A PPO checkpoint's payload and its fields.
struct Recorded {
  std::string payload;
  std::vector<pgrad::WrittenField> fields;
  /// The k-th field written after the first occurrence of `name` in the payload (a section's
  /// name is followed by the fields its owner writes).
  const pgrad::WrittenField& after(const std::string& name, std::size_t k) const {
    const std::size_t at = payload.find(name);
    REQUIRE(at != std::string::npos);
    std::size_t first = 0;
    while (fields[first].offset < at) ++first;
    return fields.at(first + k);
  }
  /// The checkpoint file with that field set to `bits`.
  std::string file_with(const std::string& name, std::size_t k, std::uint64_t bits) const {
    const pgrad::WrittenField& field = after(name, k);
    return pgrad::checkpoint_file_bytes(with_bytes(payload, field.offset, field.width, bits));
  }
};

Recorded recorded_ppo() {
  Recorded r;
  r.payload = checkpoint_targets::all()[0].payload(&r.fields);
  return r;
}

std::uint64_t double_bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, 8);
  return b;
}

std::string load_error(const std::string& file) {
  const Outcome outcome = checkpoint_targets::all()[0].load_and_update(file);
  CHECK(outcome.kind == Outcome::load_refused);
  return outcome.message;
}

}  // namespace

TEST_CASE("The crafted checkpoints of issue 17 end in pgrad::Error naming the field", "[checkpoint][corruption]") {
  const Recorded ppo = recorded_ppo();
  // Fields after the "Adam" section name: 0-5 beta1, beta2 and eps (name length, value), 6 the
  // learning rate, 7 the step count, 8 the number of state vectors, 9-11 the first vector's
  // type code, rows and cols.
  SECTION("an Adam state vector with rows > 0 and cols = 0, 2 or 2^62 (the crash)") {
    for (std::uint64_t cols : {std::uint64_t(0), std::uint64_t(2), std::uint64_t(1) << 62})
      CHECK_THAT(load_error(ppo.file_with("Adam", 11, cols)),
                 Contains("Adam state vector 0 of block 0 sizes differ: file has") && Contains("program has"));
    CHECK_THAT(load_error(ppo.file_with("Adam", 10, 4)), Contains("file has 4x1"));
  }
  SECTION("the number of Adam state vectors") {
    CHECK_THAT(load_error(ppo.file_with("Adam", 8, 3)), Contains("corrupt Adam state: 3 vectors, the optimiser "
                                                                 "expects 0 or 4"));
  }
  SECTION("Adam's step count INT64_MAX or -1") {
    CHECK_THAT(load_error(ppo.file_with("Adam", 7, INT64_MAX)),
               Contains("corrupt Adam step count 9223372036854775807 (must be in [0, 4611686018427387904])"));
    CHECK_THAT(load_error(ppo.file_with("Adam", 7, ~std::uint64_t(0))), Contains("corrupt Adam step count -1"));
  }
  SECTION("an Adam moment that Adam cannot produce") {
    const pgrad::WrittenField& code = ppo.after("Adam", 9);
    const pgrad::WrittenField& first_value = ppo.fields[&code - ppo.fields.data() + 3];
    REQUIRE(first_value.element == 0);
    float huge = 1e30f;
    std::uint32_t bits;
    std::memcpy(&bits, &huge, 4);
    CHECK_THAT(load_error(pgrad::checkpoint_file_bytes(with_bytes(ppo.payload, first_value.offset, 4, bits))),
               Contains("corrupt Adam state of block 0: first moment 1e+30 cannot go with second moment"));
  }
  SECTION("the algorithm's counters: iteration INT64_MIN, run steps inconsistent with it") {
    // After "RolloutCollector"'s section come the sampling Rng (4 words); the two counters are the
    // last fields before that section's tag and name length.
    const std::size_t at = ppo.payload.find("RolloutCollector");
    std::size_t k = 0;
    while (ppo.fields[k + 1].offset < at) ++k;
    const pgrad::WrittenField& run_steps = ppo.fields[k - 2];
    const pgrad::WrittenField& iteration = ppo.fields[k - 3];
    CHECK_THAT(load_error(pgrad::checkpoint_file_bytes(with_bytes(ppo.payload, iteration.offset, 8, std::uint64_t(1) << 63))),
               Contains("corrupt OnPolicy iteration -9223372036854775808"));
    CHECK_THAT(load_error(pgrad::checkpoint_file_bytes(with_bytes(ppo.payload, run_steps.offset, 8, 33))),
               Contains("corrupt OnPolicy counters: 3 updates cannot have taken 33 steps"));
  }
  SECTION("the collector's step count, episode log, and every copy's counters") {
    // After "RolloutCollector": 4 Rng words, observations (code, rows, cols, 8 values), steps.
    CHECK_THAT(load_error(ppo.file_with("RolloutCollector", 15, INT64_MAX)),
               Contains("corrupt RolloutCollector step count 9223372036854775807"));
    // After "EpisodeLog": capacity, then (return, length) pairs.
    CHECK_THAT(load_error(ppo.file_with("EpisodeLog", 1, double_bits(std::nan("")))),
               Contains("corrupt EpisodeLog episode return nan (must be finite)"));
    CHECK_THAT(load_error(ppo.file_with("EpisodeLog", 1, double_bits(-HUGE_VAL))),
               Contains("corrupt EpisodeLog episode return -inf"));
    CHECK_THAT(load_error(ppo.file_with("EpisodeLog", 2, ~std::uint64_t(0))),
               Contains("corrupt EpisodeLog episode length -1"));
    // After "CartPole": the limit, the state (code, rows, cols, 4 values), the elapsed steps.
    CHECK_THAT(load_error(ppo.file_with("CartPole", 8, ~std::uint64_t(0))),
               Contains("corrupt CartPole elapsed steps -1 (must be in [0, 500])"));
    CHECK_THAT(load_error(ppo.file_with("CartPole", 8, INT64_MAX)), Contains("corrupt CartPole elapsed steps"));
    // Right after the CartPole's fields: the VectorEnv's return and length of copy 0.
    CHECK_THAT(load_error(ppo.file_with("CartPole", 10, double_bits(std::nan("")))),
               Contains("corrupt VectorEnv episode return nan"));
    CHECK_THAT(load_error(ppo.file_with("CartPole", 11, INT64_MAX)),
               Contains("corrupt VectorEnv episode length 9223372036854775807"));
  }
}

TEST_CASE("Reader::matrix accepts only the expected shape and never overflows", "[checkpoint][corruption]") {
  pgrad::Writer w;
  w.u8(4);  // float
  w.i64(4);
  w.i64(std::int64_t(1) << 62);
  pgrad::Matrix<float> m;
  pgrad::Reader shape(w.bytes(), "crafted");
  CHECK_THROWS_WITH(shape.matrix(m, "weights", 4, 1),
                    Contains("crafted: weights sizes differ: file has 4x4611686018427387904, program has 4x1"));
  // A program that did expect such sizes: the product overflows 64 bits; still "truncated".
  pgrad::Reader huge(w.bytes(), "crafted");
  CHECK_THROWS_WITH(huge.matrix(m, "weights", 4, pgrad::Index(1) << 62), Contains("truncated while reading weights"));
  CHECK(m.size() == 0);
  pgrad::Writer all_zero;
  for (int k = 0; k < 4; ++k) all_zero.u64(0);
  pgrad::Reader rng(all_zero.bytes(), "crafted");
  pgrad::Rng generator(1);
  CHECK_THROWS_WITH(rng.rng(generator, "Ppo minibatch shuffling"),
                    Contains("crafted: corrupt Ppo minibatch shuffling state (all zero"));
}

TEST_CASE("load_checkpoint reads only regular files no larger than a checkpoint of the configuration",
          "[checkpoint][corruption]") {
  pgrad::algo::Ppo<checkpoint_targets::CartPole> ppo(checkpoint_targets::CartPole(), checkpoint_targets::ppo_config(), 1);
  CHECK_THROWS_WITH(pgrad::load_checkpoint(ppo, "/tmp"), Contains("'/tmp': is a directory, not a regular file"));
  CHECK_THROWS_WITH(pgrad::load_checkpoint(ppo, "/dev/zero"), Contains("is a character device"));
  const std::uint64_t limit = pgrad::checkpoint_size_limit(ppo);
  const std::uint64_t saved = pgrad::checkpoint_file_bytes(checkpoint_targets::all()[0].payload(nullptr)).size();
  CHECK(limit >= 2 * saved);
  CHECK(limit < 4 * saved + 200000);
  // A (sparse) file of 64 MiB is refused before it is read.
  const pgrad_test::TempPath file("large_checkpoint");
  const std::string& path = file.path;
  {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    std::fseek(file, (64 << 20) - 1, SEEK_SET);
    std::fputc(0, file);
    std::fclose(file);
  }
  CHECK_THROWS_WITH(pgrad::load_checkpoint(ppo, path),
                    Contains("the file is larger than the limit of " + std::to_string(limit) + " bytes (67108864 bytes)"));
}

namespace {

/// Sets every sampled field of target k's checkpoint to every extreme value in turn, with a
/// valid length and checksum: each load must be refused with a pgrad::Error naming the file, or
/// succeed and be followed by an update that throws nothing and leaves every parameter finite;
/// no load may allocate more than a few megabytes.
void check_every_field(std::size_t k) {
  const checkpoint_targets::Target target = checkpoint_targets::all().at(k);
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

}  // namespace

// One test case per target of checkpoint_targets::all(), so that ctest runs them in parallel.
TEST_CASE("Every field of a PPO CartPole checkpoint set to extreme values: pgrad::Error or a usable object",
          "[checkpoint][corruption]") {
  check_every_field(0);
}
TEST_CASE("Every field of an A2C (RMSprop) CartPole checkpoint set to extreme values: pgrad::Error or a usable object",
          "[checkpoint][corruption]") {
  check_every_field(1);
}
TEST_CASE("Every field of a REINFORCE CartPole checkpoint set to extreme values: pgrad::Error or a usable object",
          "[checkpoint][corruption]") {
  check_every_field(2);
}
TEST_CASE("Every field of a PPO wrapped-Pendulum checkpoint set to extreme values: pgrad::Error or a usable object",
          "[checkpoint][corruption]") {
  check_every_field(3);
}
TEST_CASE("Every field of an A2C (Adam) wrapped-Pendulum checkpoint set to extreme values: pgrad::Error or a usable "
          "object",
          "[checkpoint][corruption]") {
  check_every_field(4);
}
TEST_CASE("Every field of a REINFORCE-with-dropout CartPole checkpoint set to extreme values: pgrad::Error or a "
          "usable object",
          "[checkpoint][corruption]") {
  check_every_field(5);
}
TEST_CASE("Every field of a TRPO CartPole checkpoint set to extreme values: pgrad::Error or a usable object",
          "[checkpoint][corruption]") {
  check_every_field(6);
}
TEST_CASE("Every field of a TRPO wrapped-Pendulum checkpoint (shared trunk) set to extreme values: pgrad::Error or a "
          "usable object",
          "[checkpoint][corruption]") {
  check_every_field(7);
}
TEST_CASE("Every field of a recurrent PPO checkpoint (CartPole without velocities) set to extreme values: "
          "pgrad::Error or a usable object",
          "[checkpoint][corruption]") {
  check_every_field(8);
}

// Inputs the checkpoint fuzzers found crashes with (tests/fuzz/regressions, raw file bytes; the
// framed variant's length and checksum fix-up applied, as the fuzzer did): every target they may
// be must refuse them with pgrad::Error, at load or at the next update, or update to finite
// parameters.
TEST_CASE("The fuzzers' past crash inputs end in pgrad::Error or a usable object", "[checkpoint][corruption]") {
  namespace fs = std::filesystem;
  const fs::path directory(PGRAD_TEST_FUZZ_REGRESSIONS);
  REQUIRE(fs::is_directory(directory));
  int replayed = 0;
  for (const auto& entry : fs::directory_iterator(directory)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& file : {bytes, checkpoint_targets::with_valid_framing(bytes)})
      for (const checkpoint_targets::Target& target : checkpoint_targets::all()) {
        if (!checkpoint_targets::may_be(target, file)) continue;
        INFO(entry.path().filename().string() << " as " << target.name);
        const Outcome outcome = target.load_and_update(file);
        CHECK(outcome.kind != Outcome::non_finite_parameters);
        ++replayed;
      }
  }
  CHECK(replayed > 0);
}
