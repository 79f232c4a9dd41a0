# The two commands: `make run` and `make test`. Everything else is a step of theirs.
BUILD      ?= build/release
# One clang tree with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer's coverage):
# the unit tests run in it under the sanitizers, and the fuzz targets of make test's short runs
# are built in it. It compiles at -O0 (half the compile time of -O1: make test waits for this
# build), but the store and core libraries at -O1: the store conformance suite, the longest unit
# test, runs a third slower when they are at -O0.
SAN_BUILD  ?= build/sanitize
# The long fuzz runs (make fuzz) have a tree of their own at -O1: in 5 s runs on an idle machine
# http_parser_fuzz ran 2.4 and v3_json_fuzz 2.9 times the inputs they ran at -O0. (What they find
# stays in that tree's fuzz-work; make test replays fuzz/corpus/, the seeds and regressions.)
FUZZ_BUILD ?= build/fuzz
# Seconds per fuzz target: the short run of `make test`, the long run of `make fuzz`.
FUZZ_SHORT_SECONDS ?= 5
FUZZ_SECONDS ?= 600
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all run test bench deps test-deps build asan unit integration clean fuzz fuzz-deps \
	sanitize-build sanitize-tests fuzz-short loadtest

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
# release build, then the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer and a
# short run of each fuzz target, side by side (sanitize-tests). The unit tests run once, in the
# sanitizer tree; the release tree builds the binary, the benchmarks and, from three files of intel_test, the few
# unit tests the sanitizers slow too much (CTest label unsanitized, tests/CMakeLists.txt). Each
# tree builds one target, make_test_targets (CMakeLists.txt). The sanitizer tree builds in the
# background at the lowest priority from the start: it takes the core the release build leaves
# idle while it links, then the cores the release tests leave idle while they wait on sockets
# and child processes. `make unit` runs every unit test in release.
test: test-deps deps $(BUILD)/CMakeCache.txt
	@scripts/install-deps.sh fuzz
	$(MAKE) $(SAN_BUILD)/CMakeCache.txt
	@echo "make test: building $(SAN_BUILD) in the background (log: $(SAN_BUILD)/build.log)"
	@rm -f $(SAN_BUILD)/build.rc; \
	( nice -n 19 cmake --build $(SAN_BUILD) -j$(JOBS) --target make_test_targets \
	     > $(SAN_BUILD)/build.log 2>&1; \
	   echo $$? > $(SAN_BUILD)/build.rc ) & \
	cmake --build $(BUILD) -j$(JOBS) --target make_test_targets && \
	(cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600 -LE unit); rc=$$?; wait; \
	if [ "$$(cat $(SAN_BUILD)/build.rc)" != 0 ]; then \
	  tail -n 60 $(SAN_BUILD)/build.log; echo "make test: the sanitizer build failed"; exit 1; fi; \
	exit $$rc
	$(MAKE) sanitize-tests

unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# Both clang trees configure again when this file changes (its flags are here); cmake keeps the
# rest of the tree.
$(SAN_BUILD)/CMakeCache.txt: Makefile
	CC=clang CXX=clang++ cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" -DDROSERA_O1_TARGETS="drosera_store;drosera_core" \
		-DDROSERA_SANITIZE=ON -DDROSERA_FUZZ=ON -DDROSERA_BUILD_BENCH=OFF $(UNITY) $(CMAKE_ARGS)
	@touch $@

# -O1: the sanitizers' usual level for fuzzing (the test code is built at -O0 in every tree).
$(FUZZ_BUILD)/CMakeCache.txt: Makefile
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DDROSERA_FUZZ=ON \
		-DDROSERA_BUILD_BENCH=OFF $(UNITY) $(CMAKE_ARGS)
	@touch $@

sanitize-build: fuzz-deps $(SAN_BUILD)/CMakeCache.txt
	cmake --build $(SAN_BUILD) -j$(JOBS) --target make_test_targets

SAN_ENV    = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan: sanitize-build
	cd $(SAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j$(JOBS) -L unit

# make test's last step: the unit tests under the sanitizers and the short fuzz runs in one CTest
# run, two at a time, the longest first (the two conformance halves, COST): the rest fill the
# slot the SQLite half leaves, while the PostgreSQL half goes on. Two runs one after the other
# would each end on one test alone.
sanitize-tests: sanitize-build
	cmake -S . -B $(SAN_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) >/dev/null
	cd $(SAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j$(JOBS) -L 'unit|fuzz'; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(SAN_BUILD)/fuzz-work; exit $$rc

# The load suite's full form (minutes): real attack tools against `drosera run` over loopback,
# then counters against the event log, RSS and drain time (docs/loadtest.md). make test runs
# its short form (CTest label load).
loadtest:
	@scripts/install-deps.sh load
	$(MAKE) build
	python3 tests/load/loadtest.py --full --bin $(BUILD)/drosera

# Fuzzing (docs/fuzzing.md): libFuzzer targets built with clang, ASan and UBSan, in $(SAN_BUILD)
# for the short runs and in $(FUZZ_BUILD) for the long ones. Each run replays the seed corpus
# (fuzz/corpus/, crash regressions included) before fuzzing; what the fuzzers add is kept in the
# tree's fuzz-work/, so every run builds on the last.
fuzz-deps:
	@scripts/install-deps.sh fuzz

fuzz-short: sanitize-build
	cmake -S . -B $(SAN_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) >/dev/null
	cd $(SAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(SAN_BUILD)/fuzz-work; exit $$rc

# The long run: FUZZ_SECONDS (default 600) per target, JOBS targets at a time.
fuzz: fuzz-deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake -S . -B $(FUZZ_BUILD) -DDROSERA_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_all
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz; rc=$$?; \
		cd $(CURDIR) && fuzz/summary.sh $(FUZZ_BUILD)/fuzz-work; exit $$rc

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	bench/run.sh $(BUILD)

clean:
	rm -rf build
