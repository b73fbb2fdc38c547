#!/usr/bin/env bash
# How long user programs take to compile at -O2 with nothing but pgrad and Eigen on the include
# path, as in a user's own project: examples/quickstart.cpp (one algorithm: PPO on CartPole with
# evaluation and a checkpoint) and examples/pendulum.cpp (PPO and TRPO on Pendulum with
# checkpoints, a CSV log and a progress line). Prints every run's wall time (and the compiler's
# peak memory when /usr/bin/time is there), then each program's median.
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
echo "$("$cxx" --version | head -n 1)"
for program in quickstart pendulum; do
  command=("$cxx" -std=c++17 -O2 "$@" -I"$root/include" $eigen -c "$root/examples/$program.cpp" -o "$work/$program.o")
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
    printf '  run %d: %.2f s%s\n' "$run" "$seconds" "$memory"
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
  printf '%s.cpp: median of %d runs %.2f s\n' "$program" "$runs" "$median"
done
