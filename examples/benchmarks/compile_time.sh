#!/usr/bin/env bash
# How long a user's program takes to compile: examples/pendulum.cpp (PPO on Pendulum with
# checkpoints, a CSV log and a progress line) compiled at -O2 with nothing but pgrad and Eigen on
# the include path, as in a user's own project. Prints every run's wall time (and the compiler's
# peak memory when /usr/bin/time is there), then the median.
#   examples/benchmarks/compile_time.sh [compiler (default g++)] [runs (default 3)] [extra flags...]
#   cmake --build build --target compile_time      (the same with CMake's compiler)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${1:-g++}
runs=${2:-3}
shift $(($# < 2 ? $# : 2))
eigen=$(pkg-config --cflags eigen3 2>/dev/null || echo -I/usr/include/eigen3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command=("$cxx" -std=c++17 -O2 "$@" -I"$root/include" $eigen -c "$root/examples/pendulum.cpp" -o "$work/pendulum.o")
echo "${command[*]}"
times=()
for ((run = 1; run <= runs; ++run)); do
  start=$(date +%s.%N)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f %M -o "$work/memory" "${command[@]}"
    memory=" $(($(cat "$work/memory") / 1024)) MB"
  else
    "${command[@]}"
    memory=""
  fi
  seconds=$(awk -v start="$start" -v end="$(date +%s.%N)" 'BEGIN {print end - start}')
  times+=("$seconds")
  printf 'run %d: %.2f s%s\n' "$run" "$seconds" "$memory"
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
printf 'median of %d: %.2f s (%s)\n' "$runs" "$median" "$("$cxx" --version | head -n 1)"
