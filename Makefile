# The two set-up commands (README): `make demo` and `make test`. Both install what is missing.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
SMOKE_SECONDS ?= 10

.PHONY: format-check all setup build demo test test-unit test-e2e test-asan test-clang test-fuzz bench fuzz format clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# Builds only what the demo runs, then runs it: as root the namespace lab with real daemons
# (lab/mipv6-lab demo, output in build/lab-demo), otherwise the simulator's equivalent scenario
# (scripts/demo.sh, output in build/demo) — mipv6-lab says why when it falls back.
demo: setup
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS) --target mipv6-sim mipv6-pcap mipv6d mipv6ctl
	@lab/mipv6-lab demo --bin-dir build/dev/apps

# Every test tier: GCC debug build (unit + interop), ASan/UBSan (unit), clang 14 -Werror build,
# and a short smoke run of every fuzz target.
test: setup format-check test-unit test-asan test-clang test-fuzz
	@echo "make test: all tiers passed"

test-unit:
	@cmake --preset dev -DMIPV6_WERROR=ON >/dev/null
	@cmake --build --preset dev -j $(JOBS)
	@ctest --preset dev -j $(JOBS)

test-asan:
	@cmake --preset asan -DMIPV6_WERROR=ON >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS) -L unit

test-clang:
	@cmake --preset clang -DMIPV6_WERROR=ON >/dev/null
	@cmake --build --preset clang -j $(JOBS)

test-fuzz:
	@cmake --preset fuzz -DMIPV6_WERROR=ON >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@scripts/fuzz.sh $(SMOKE_SECONDS)

fuzz: setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_SECONDS)

bench: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@scripts/bench.sh

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

clean:
	@rm -rf build
