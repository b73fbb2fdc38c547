#!/usr/bin/env bash
# Builds the checkpoint-loader fuzzers with Clang (ASan + UBSan), writes the seed corpus of real
# checkpoints and runs both fuzzers side by side for SECONDS each (default 90); FUZZ_SEED=N
# fixes libFuzzer's seeds (default 1; 0: random). Fails on any
# crash, leak, timeout, out-of-memory or exception other than pgrad::Error; the input that
# caused it is left in BUILD_DIR/artifacts/.
#   tests/fuzz/run_fuzzers.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-90}
build=${2:-build-fuzz}

cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGRAD_BUILD_FUZZERS=ON \
  -DPGRAD_BUILD_TESTS=OFF -DPGRAD_BUILD_EXAMPLES=OFF -DPGRAD_INSTALL=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_checkpoint_raw fuzz_checkpoint_framed make_seed_corpus

rm -rf "$build/seeds" "$build/corpus" "$build/artifacts"
mkdir -p "$build/seeds" "$build/corpus/raw" "$build/corpus/framed" "$build/artifacts"
"$build/tests/fuzz/make_seed_corpus" "$build/seeds"

# -timeout: one input (a load and one small update) takes milliseconds; -malloc_limit_mb: a
# checkpoint of a few kilobytes must never make the loader ask for more. -seed: the same
# mutations on every run, so CI is repeatable (FUZZ_SEED=0 draws a new seed each run).
pids=()
for variant in raw framed; do
  seed=${FUZZ_SEED:-1}
  [ "$seed" != 0 ] && [ $variant = framed ] && seed=$((seed + 1))
  "$build/tests/fuzz/fuzz_checkpoint_$variant" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=256 -print_final_stats=1 -artifact_prefix="$build/artifacts/$variant-" \
    "$build/corpus/$variant" "$build/seeds" >"$build/fuzz_$variant.log" 2>&1 &
  pids+=($!)
done
status=0
for k in 0 1; do
  variant=$([ $k = 0 ] && echo raw || echo framed)
  if wait "${pids[$k]}"; then
    echo "fuzz_checkpoint_$variant: no findings ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/fuzz_$variant.log" | grep -o '[0-9]*$') inputs in ${seconds} s)"
  else
    status=1
    echo "fuzz_checkpoint_$variant FAILED; its log:" >&2
    tail -n 60 "$build/fuzz_$variant.log" >&2
  fi
done
ls "$build/artifacts"
exit $status
