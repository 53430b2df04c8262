#!/usr/bin/env bash
# Runs every Google Benchmark binary of the release build and ends with one summary line per
# figure (DESIGN.md §5): BENCH <name> <value> <unit> [baseline=<value> ratio=<value>].
# A benchmark names its baseline (measured in the same run) with state.SetLabel("baseline=NAME").
# scripts/bench_daemon.py then measures mipv6d's tunnel; its BENCH lines join the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/release/bench-results
mkdir -p "$out"
status=0
for b in build/release/bench/*_bench; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  echo "bench: $name"
  "$b" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
       --benchmark_out="$out/$name.json" --benchmark_out_format=json || status=1
done
# The data plane's figures (issue 8): real mipv6d daemons in network namespaces, as root.
echo "bench: bench_daemon.py"
/usr/bin/python3 scripts/bench_daemon.py --bin-dir build/release/apps \
    --bench-out "$out/daemon.bench" || status=1
# Handover time in the namespace lab (issue 6): link change to the first packet delivered at the
# new care-of address, with fast and with default Router Advertisements.
echo "bench: mipv6-lab bench"
lab/mipv6-lab bench --bin-dir build/release/apps --bench-out "$out/lab.bench" || status=1
# Home registrations per second (issue 7): refresh BUs from many mobile nodes, with signalling
# "none" and with ESP (aes-gcm-16), and the ratio of the two.
echo "bench: bench_registrations.py"
/usr/bin/python3 scripts/bench_registrations.py --bin-dir build/release/apps \
    --bench-out "$out/registrations.bench" || status=1
/usr/bin/python3 scripts/bench_summary.py "$out"/*.json "$out/daemon.bench" "$out/lab.bench" \
  "$out/registrations.bench" || status=1
exit $status
