# The two commands: `make run` and `make test`. Everything else is a step of theirs.
BUILD      ?= build/release
ASAN_BUILD ?= build/asan
FUZZ_BUILD ?= build/fuzz
# Seconds per fuzz target: the short run of `make test`, the long run of `make fuzz`.
FUZZ_SHORT_SECONDS ?= 15
FUZZ_SECONDS ?= 600
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all run test bench deps test-deps build asan unit integration clean fuzz fuzz-deps \
	fuzz-build fuzz-short loadtest

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Starts drosera on its embedded defaults; data in ./drosera-data. Stop with Ctrl-C.
run: build
	$(BUILD)/drosera run

# Every test: unit and integration tests on the release build, then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then a short run of each fuzz target.
test: test-deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	$(MAKE) asan
	$(MAKE) fuzz-short

unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# The MISP reporter's crash-at-every-step loops (a minute and a half in the release build) are
# left to the release build: under the sanitizers they would take most of make test's budget.
ASAN_GTEST_FILTER ?= -IdempotenceTest.*:SqliteEndToEndTest.*

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDROSERA_SANITIZE=ON -DDROSERA_BUILD_BENCH=OFF $(CMAKE_ARGS)

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		GTEST_FILTER=$(ASAN_GTEST_FILTER) ctest --output-on-failure -j$(JOBS) -L unit

# The load suite's full form (minutes): real attack tools against `drosera run` over loopback,
# then counters against the event log, RSS and drain time (docs/loadtest.md). make test runs
# its short form (CTest label load).
loadtest:
	@scripts/install-deps.sh load
	$(MAKE) build
	python3 tests/load/loadtest.py --full --bin $(BUILD)/drosera

# Fuzzing (docs/fuzzing.md): libFuzzer targets built with clang, ASan and UBSan in $(FUZZ_BUILD).
# Each run replays the seed corpus (fuzz/corpus/, crash regressions included) before fuzzing;
# what the fuzzers add is kept in $(FUZZ_BUILD)/fuzz-work/, so every run builds on the last.
fuzz-deps:
	@scripts/install-deps.sh fuzz

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DDROSERA_FUZZ=ON -DDROSERA_BUILD_TESTS=OFF -DDROSERA_BUILD_BENCH=OFF $(CMAKE_ARGS)

fuzz-build: fuzz-deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_all

fuzz-short: fuzz-build
	cmake -S . -B $(FUZZ_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) >/dev/null
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(FUZZ_BUILD)/fuzz-work; exit $$rc

# The long run: FUZZ_SECONDS (default 600) per target, JOBS targets at a time.
fuzz: fuzz-build
	cmake -S . -B $(FUZZ_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(FUZZ_BUILD)/fuzz-work; exit $$rc

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	bench/run.sh $(BUILD)

clean:
	rm -rf build
