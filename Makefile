# The two commands: `make run` and `make test`. Everything else is a step of theirs.
BUILD      ?= build/release
# One clang tree with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer's coverage):
# the unit tests run in it under the sanitizers, and the fuzz targets are built in it.
SAN_BUILD  ?= build/sanitize
# Seconds per fuzz target: the short run of `make test`, the long run of `make fuzz`.
FUZZ_SHORT_SECONDS ?= 5
FUZZ_SECONDS ?= 600
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all run test bench deps test-deps build asan unit integration clean fuzz fuzz-deps \
	sanitize-build fuzz-short loadtest

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

# Unity builds (batches of 16 files per compiler run): the heavy headers (Boost, JSON, toml11,
# GoogleTest) are parsed and their templates compiled once per batch, not once per file, which
# halves the build that `make run` and `make test` wait for.
UNITY      ?= -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(UNITY) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Starts drosera on its embedded defaults; data in ./drosera-data. Stop with Ctrl-C.
run: build
	$(BUILD)/drosera run

# Every test: the integration tests (and the CRS, traps, dashboard and load suites) on the
# release build, then the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, then a
# short run of each fuzz target. The unit tests run once, in the sanitizer tree; the release
# tree builds the binary, the benchmarks and intel_test, for the few unit tests the sanitizers
# slow too much (CTest label unsanitized, tests/CMakeLists.txt). Each tree builds one target,
# make_test_targets (CMakeLists.txt). The sanitizer tree builds (at the lowest priority) while
# the release tests run: most of those wait on sockets and child processes, which leaves the
# cores idle. `make unit` runs every unit test in release.
test: test-deps deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target make_test_targets
	@scripts/install-deps.sh fuzz
	$(MAKE) $(SAN_BUILD)/CMakeCache.txt
	@echo "make test: building $(SAN_BUILD) in the background (log: $(SAN_BUILD)/build.log)"
	@( nice -n 19 cmake --build $(SAN_BUILD) -j$(JOBS) --target make_test_targets \
	     > $(SAN_BUILD)/build.log 2>&1; \
	   echo $$? > $(SAN_BUILD)/build.rc ) & \
	(cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600 -LE unit); rc=$$?; wait; \
	if [ "$$(cat $(SAN_BUILD)/build.rc)" != 0 ]; then \
	  tail -n 60 $(SAN_BUILD)/build.log; echo "make test: the sanitizer build failed"; exit 1; fi; \
	exit $$rc
	$(MAKE) asan
	$(MAKE) fuzz-short

unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# -O1: the sanitizers' usual level (the test code itself is built at -O0, tests/CMakeLists.txt).
$(SAN_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DDROSERA_SANITIZE=ON -DDROSERA_FUZZ=ON \
		-DDROSERA_BUILD_BENCH=OFF $(UNITY) $(CMAKE_ARGS)

sanitize-build: fuzz-deps $(SAN_BUILD)/CMakeCache.txt
	cmake --build $(SAN_BUILD) -j$(JOBS) --target make_test_targets

asan: sanitize-build
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -L unit

# The load suite's full form (minutes): real attack tools against `drosera run` over loopback,
# then counters against the event log, RSS and drain time (docs/loadtest.md). make test runs
# its short form (CTest label load).
loadtest:
	@scripts/install-deps.sh load
	$(MAKE) build
	python3 tests/load/loadtest.py --full --bin $(BUILD)/drosera

# Fuzzing (docs/fuzzing.md): libFuzzer targets built with clang, ASan and UBSan in $(SAN_BUILD).
# Each run replays the seed corpus (fuzz/corpus/, crash regressions included) before fuzzing;
# what the fuzzers add is kept in $(SAN_BUILD)/fuzz-work/, so every run builds on the last.
fuzz-deps:
	@scripts/install-deps.sh fuzz

fuzz-short: sanitize-build
	cmake -S . -B $(SAN_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) >/dev/null
	cd $(SAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(SAN_BUILD)/fuzz-work; exit $$rc

# The long run: FUZZ_SECONDS (default 600) per target, JOBS targets at a time.
fuzz: sanitize-build
	cmake -S . -B $(SAN_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cd $(SAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(SAN_BUILD)/fuzz-work; exit $$rc

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	bench/run.sh $(BUILD)

clean:
	rm -rf build
