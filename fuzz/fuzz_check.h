// What every fuzz target shares: FUZZ_CHECK, an invariant that holds in every build type (assert
// is compiled out with NDEBUG); a failure prints the condition and aborts, which libFuzzer
// reports as a crash and saves the input for.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace drosera::fuzz {

// Reads a fuzz input front to back: a few option bytes, then the payload. Unlike
// FuzzedDataProvider (which takes integers from the end), a seed is written as its option bytes
// followed by a real record, and the record stays intact.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  // The next byte, 0 once the input is exhausted.
  uint8_t byte() {
    if (pos_ >= size_) return 0;
    return data_[pos_++];
  }
  // A value in [lo, hi] from the next byte.
  uint64_t inRange(uint64_t lo, uint64_t hi) { return lo + byte() % (hi - lo + 1); }
  // Everything not read yet.
  std::string_view rest() {
    std::string_view r(reinterpret_cast<const char*>(data_) + pos_, size_ - pos_);
    pos_ = size_;
    return r;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace drosera::fuzz
