# The two commands: `make run` and `make test`. Everything else is a step of theirs.
BUILD      ?= build/release
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all run test bench deps test-deps build asan unit integration clean fuzz

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
# AddressSanitizer + UndefinedBehaviorSanitizer.
test: test-deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	$(MAKE) asan

unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDROSERA_SANITIZE=ON -DDROSERA_BUILD_BENCH=OFF $(CMAKE_ARGS)

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -L unit

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	bench/run.sh $(BUILD)

clean:
	rm -rf build
