#!/usr/bin/python3
"""Prints BENCH lines from Google Benchmark JSON files (the median of the repetitions).

Each benchmark reports items_per_second (one item = one packet or one operation); a benchmark
whose label is "baseline=OTHER" also gets the ratio of its rate to OTHER's, measured in the same
run. User counters (e.g. binding_bytes) get a line of their own. A benchmark that reported an
error makes the summary exit non-zero. Files ending in .bench hold BENCH lines a scripted
benchmark already wrote (scripts/bench_daemon.py), or the SKIP line saying why it measured
nothing: they are kept as they are, after the others.
"""
import json
import sys

STANDARD = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
            "iterations", "real_time", "cpu_time", "time_unit", "items_per_second",
            "bytes_per_second", "label", "aggregate_name", "aggregate_unit", "family_index",
            "per_family_instance_index", "error_occurred", "error_message"}
UNITS = {"binding_bytes": "B", "wall_s": "s", "sim_100k_wall_s": "s", "peak_rss_mb": "MB"}


def main():
    rates, labels, counters, failed = {}, {}, {}, False
    scripted = []
    for path in sys.argv[1:]:
        if path.endswith(".bench"):
            scripted += scripted_lines(path)
            continue
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                name = b.get("run_name", b["name"]).removeprefix("BM_")
                if b.get("error_occurred"):
                    print(f"BENCH {name} ERROR {b.get('error_message', '')}")
                    failed = True
                    continue
                if b.get("aggregate_name", "median") != "median":
                    continue
                rates[name] = b.get("items_per_second")
                labels[name] = b.get("label", "")
                for key, value in b.items():
                    if key not in STANDARD and isinstance(value, (int, float)):
                        counters[f"{key}/{name}"] = (value, UNITS.get(key, ""))
    for name, rate in rates.items():
        if rate is None:
            continue
        line = f"BENCH {name} {rate:.0f} 1/s"
        if labels[name].startswith("baseline="):
            base_name = labels[name].split("=", 1)[1].removeprefix("BM_")
            base = rates.get(base_name)
            if base:
                line += f" baseline={base:.0f} ratio={rate / base:.3f}"
        print(line)
    for name, (value, unit) in counters.items():
        print(f"BENCH {name} {value:g} {unit}".rstrip())
    for line in scripted:
        print(line)
        failed = failed or line.split()[2:3] == ["ERROR"]
    sys.exit(1 if failed else 0)


def scripted_lines(path):
    """The BENCH (or SKIP) lines of a scripted benchmark; none when it never ran."""
    try:
        with open(path) as f:
            return [line.rstrip() for line in f if line.startswith(("BENCH ", "SKIP "))]
    except FileNotFoundError:
        return []


if __name__ == "__main__":
    main()
