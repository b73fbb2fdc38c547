#!/usr/bin/env bash
# The README's REINFORCE-tutorials table: for DataCamp's tutorial (--preset datacamp), the
# PyTorch article's (--preset article) and pgrad's tuned preset, seeds 1-10 each, how many runs
# see the mean of their last 25 episodes reach 475 within their budget, the median episodes it
# took, and the mean of the 100-episode deterministic evaluations after training.
#   examples/benchmarks/reinforce_tutorials.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
printf '| preset | budget | runs reaching 475 (last 25 episodes) | median episodes to reach it | mean evaluation |\n'
printf '|---|---|---|---|---|\n'
for preset in datacamp article tuned; do
  case $preset in
    datacamp) flag="--preset datacamp"; budget="500 episodes, stops at 475" ;;
    article) flag="--preset article"; budget="1000 episodes" ;;
    tuned) flag=""; budget="300k steps, stops at 475 over 100" ;;
  esac
  episodes=()
  evaluation_sum=0
  for seed in 1 2 3 4 5 6 7 8 9 10; do
    # shellcheck disable=SC2086
    output=$("$build/examples/cartpole" --algo reinforce $flag --seed "$seed" --threads 1 || true)
    reached=$(sed -n 's/^Reached reward threshold in \([0-9]*\) episodes$/\1/p' <<<"$output")
    [ -n "$reached" ] && episodes+=("$reached")
    evaluation=$(sed -n 's/.*eval_return=\([-0-9.]*\).*/\1/p' <<<"$output")
    evaluation_sum=$(awk -v a="$evaluation_sum" -v b="$evaluation" 'BEGIN { print a + b }')
  done
  median="-"
  if [ ${#episodes[@]} -gt 0 ]; then
    median=$(printf '%s\n' "${episodes[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  fi
  printf '| %s | %s | %d / 10 | %s | %.1f |\n' "$preset" "$budget" "${#episodes[@]}" "$median" \
    "$(awk -v s="$evaluation_sum" 'BEGIN { print s / 10 }')"
done
