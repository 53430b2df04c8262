#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each (default 60), seeded from tests/vectors and the
# demo capture. A crash fails the run; its input is left in build/fuzz/artifacts/ — fix the bug
# and keep the input as a vector under tests/vectors/<layer>/ (see tests/vectors/README.md).
# Usage: scripts/fuzz.sh [SECONDS]   (after: cmake --preset fuzz && cmake --build --preset fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bin=build/fuzz/fuzz
work=build/fuzz/work
mkdir -p "$work" build/fuzz/artifacts
targets=$(ls "$bin"/*_fuzz 2>/dev/null || true)
[ -n "$targets" ] || { echo "fuzz: no targets built in $bin" >&2; exit 1; }

/usr/bin/python3 scripts/fuzz_seeds.py "$work/seeds"

failed=0
for target in $targets; do
  name=$(basename "$target")
  corpus="$work/corpus/$name"
  mkdir -p "$corpus"
  seeds="$work/seeds/${name%_fuzz}"
  [ -d "$seeds" ] || seeds="$work/seeds/all"
  echo "fuzz: $name for ${seconds}s (seeds: $(ls "$seeds" | wc -l))"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix=build/fuzz/artifacts/"$name"- "$corpus" "$seeds" >"$work/$name.log" 2>&1; then
    echo "fuzz: $name FAILED — see $work/$name.log and build/fuzz/artifacts/" >&2
    tail -30 "$work/$name.log" >&2
    failed=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work/$name.log" | tr '\n' ' '
    echo
  fi
done
exit $failed
