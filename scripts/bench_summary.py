#!/usr/bin/python3
"""Prints BENCH lines from Google Benchmark JSON files (the median of the repetitions).

Each benchmark reports items_per_second (one item = one packet); a benchmark whose label is
"baseline=OTHER" also gets the ratio of its rate to OTHER's, measured in the same run.
"""
import json
import sys


def main():
    rates, labels = {}, {}
    for path in sys.argv[1:]:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("aggregate_name", "median") != "median":
                    continue
                name = b.get("run_name", b["name"]).removeprefix("BM_")
                rates[name] = b.get("items_per_second")
                labels[name] = b.get("label", "")
    for name, rate in rates.items():
        if rate is None:
            continue
        line = f"BENCH {name} {rate:.0f} pkt/s"
        if labels[name].startswith("baseline="):
            base_name = labels[name].split("=", 1)[1].removeprefix("BM_")
            base = rates.get(base_name)
            if base:
                line += f" baseline={base:.0f} ratio={rate / base:.3f}"
        print(line)


if __name__ == "__main__":
    main()
