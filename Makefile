# kuma-cpp — see README.md. Every target does its own set-up (idempotent, quick when done).
BUILD_DIR      ?= build
ASAN_DIR       ?= $(BUILD_DIR)/asan
FUZZ_DIR       ?= $(BUILD_DIR)/fuzz
BUILD_TYPE     ?= RelWithDebInfo
JOBS           ?= 2
PROTOS_SRC     := $(BUILD_DIR)/deps/protos
PROTOS_BUILD   := $(BUILD_DIR)/envoy-protos-build
PROTOS_PREFIX  := $(abspath $(BUILD_DIR)/envoy-protos)
KUMA_CP_ARGS   ?=
CTEST_ARGS     ?=
# e.g. BENCH_ARGS="--benchmark_filter=generate_proxy --benchmark_format=json"
BENCH_ARGS     ?=
# `make conformance` (docs/conformance.md): the reference Kuma 2.14 kuma-cp (and optionally its
# kuma-dp), or saved Kuma dumps to compare with instead; extra harness flags.
REF_KUMA_CP    ?=
REF_KUMA_DP    ?=
REF_DUMPS      ?=
CONFORMANCE_ARGS ?=
# `make fuzz`: seconds per fuzz target, which targets (default all), extra libFuzzer flags.
FUZZ_SECONDS   ?= 30
FUZZ_TARGETS   ?=
FUZZ_ARGS      ?=
# The fuzz flavour's compilers (Debian's clang-16 brings libFuzzer; tools/setup.sh installs it).
FUZZ_CC        ?= clang-16
FUZZ_CXX       ?= clang++-16

# ccache lives outside the repository so that fresh clones reuse it.
export CCACHE_DIR ?= $(HOME)/.cache/kuma-cpp/ccache
export CCACHE_MAXSIZE ?= 5G
# Paths relative to the checkout, so that another clone hits the same cache entries.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true

.PHONY: all setup setup-test protos configure build run test test-unit test-asan bench bench-micro format \
        format-check clean fuzz-build fuzz fuzz-smoke conformance

all: build

setup:
	@bash tools/setup.sh --no-envoy

setup-test:
	@bash tools/setup.sh

# The Envoy API proto library: its own CMake project, Release, fixed flags, built once and shared
# by every build flavour (see docs/adr/0001-build.md); rebuilt (incrementally) when a file of
# third_party/envoy_protos, such as the proto list, is newer than the library.
protos: setup
	@if [ ! -f $(PROTOS_PREFIX)/lib/libenvoy_protos.a ] || \
	    [ -n "$$(find third_party/envoy_protos -newer $(PROTOS_PREFIX)/lib/libenvoy_protos.a)" ]; then \
	  cmake -S third_party/envoy_protos -B $(PROTOS_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	    -DENVOY_PROTO_ROOT=$(abspath $(PROTOS_SRC)) -DCMAKE_INSTALL_PREFIX=$(PROTOS_PREFIX) \
	    > /dev/null && \
	  cmake --build $(PROTOS_BUILD) -j $(JOBS) && \
	  cmake --install $(PROTOS_BUILD) > /dev/null && \
	  touch $(PROTOS_PREFIX)/lib/libenvoy_protos.a; \
	fi

configure: protos
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DKUMA_ENVOY_PROTOS_DIR=$(PROTOS_PREFIX) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/kuma-cp run $(KUMA_CP_ARGS)

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (no tcmalloc, no integration).
test-asan: protos
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKUMA_SANITIZE=ON \
	  -DKUMA_UNIT_TESTS_ONLY=ON -DKUMA_ENVOY_PROTOS_DIR=$(PROTOS_PREFIX) > /dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/test/sanitizers/lsan.supp \
	  ctest --output-on-failure -L unit -j $(JOBS) $(CTEST_ARGS)

# The fuzz flavour (docs/fuzzing.md): clang, ASan + UBSan + libFuzzer, only the fuzz targets and
# the libraries they link, in $(FUZZ_DIR)/fuzz_bin.
fuzz-build: protos
	@CC=$(FUZZ_CC) CXX=$(FUZZ_CXX) cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
	  -DKUMA_FUZZ=ON -DKUMA_ENVOY_PROTOS_DIR=$(PROTOS_PREFIX) > /dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target kuma_fuzzers

# Every fuzz target for FUZZ_SECONDS (one at a time) on its seed corpus plus what earlier runs
# found ($(FUZZ_DIR)/corpus); fails on any crash, leak, timeout or out-of-memory.
fuzz: fuzz-build
	python3 tools/fuzz/run.py --bin-dir $(FUZZ_DIR)/fuzz_bin --work-dir $(FUZZ_DIR) \
	  --seconds $(FUZZ_SECONDS) $(if $(FUZZ_TARGETS),--targets $(FUZZ_TARGETS)) \
	  $(if $(FUZZ_ARGS),--fuzzer-args="$(FUZZ_ARGS)")

# What CI runs (`make test`): every target for about 30 s, starting from the seed corpus only.
fuzz-smoke: fuzz-build
	python3 tools/fuzz/run.py --bin-dir $(FUZZ_DIR)/fuzz_bin --work-dir $(FUZZ_DIR)/smoke \
	  --seconds $(FUZZ_SECONDS) --fresh

# Everything: the sanitizer unit tests, the fuzz smoke run, then every test (unit + end-to-end)
# of the main build.
test: setup-test test-asan fuzz-smoke build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The parity harness (optional, never part of `make test`): the fixtures of tools/conformance/cases
# on kuma-cpp and on REF_KUMA_CP, one real kuma-dp + Envoy each, Envoy config dumps diffed.
conformance: setup-test build
	python3 tools/conformance/conformance.py --bin-dir $(BUILD_DIR)/bin \
	  --envoy $(BUILD_DIR)/deps/envoy-venv/bin/envoy --out $(BUILD_DIR)/conformance \
	  $(if $(REF_KUMA_CP),--ref-kuma-cp $(REF_KUMA_CP)) $(if $(REF_KUMA_DP),--ref-kuma-dp $(REF_KUMA_DP)) \
	  $(if $(REF_DUMPS),--ref-dumps $(REF_DUMPS)) $(CONFORMANCE_ARGS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit -j $(JOBS) $(CTEST_ARGS)

# The small scale scenarios (about 3 minutes, summary table at the end); `make bench-micro` runs the
# xDS microbenchmarks. Sizes and flags: docs/benchmarks.md.
bench: bench-scenarios

bench-micro: build
	$(BUILD_DIR)/bin/kuma-bench-xds --benchmark_counters_tabular=true $(BENCH_ARGS)

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

format-check:
	@git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR)/CMakeFiles $(BUILD_DIR)/bin $(ASAN_DIR) $(FUZZ_DIR)

# Scale scenarios S1–S6 against a real kuma-cp with kuma-xds-load (docs/benchmarks.md, "Scale
# scenarios"); the small size takes about 3 minutes. Raw results go to docs/bench-results/.
SCENARIO_ARGS ?= --scenario all --size small
.PHONY: bench-scenarios
bench-scenarios: build
	python3 bench/scenarios.py --build-dir $(BUILD_DIR) $(SCENARIO_ARGS)
