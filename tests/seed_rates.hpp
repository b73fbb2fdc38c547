#pragma once
// Learning tests over seeds: a run's numbers depend on the instruction set and the compiler's
// choices (AVX-512 and AVX2 builds sum in different orders), so which seeds of a fragile
// configuration succeed changes from build to build while how many do stays about the same.
// These tests ask for a count of seeds, not for particular ones.
#include <cstdint>
#include <sstream>
#include <string>

namespace pgrad_test {

/// Runs evaluation_of(seed) for seeds 1, 2, ... up to `seeds` until `needed` of them reach
/// `threshold` (or too few seeds remain for that); returns how many did, and lists every
/// seed's evaluation in `log`.
template <class Evaluation>
int seeds_reaching(double threshold, int needed, int seeds, const Evaluation& evaluation_of, std::string& log) {
  std::ostringstream out;
  int reached = 0;
  for (int seed = 1; seed <= seeds && reached < needed && reached + (seeds - seed + 1) >= needed; ++seed) {
    const double value = evaluation_of(static_cast<std::uint64_t>(seed));
    out << "seed " << seed << ": " << value << "\n";
    reached += value >= threshold ? 1 : 0;
  }
  log = out.str();
  return reached;
}

}  // namespace pgrad_test
