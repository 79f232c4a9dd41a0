// The background loops (file tailers, the shipper, the ECS outputs, the MISP reporter,
// retention) run each step through failOnOutOfMemory(): memory running out in a step
// (std::bad_alloc) makes that step fail with "unavailable: out of memory", which the loop logs
// and retries like any transient failure, instead of ending the process. Each step commits its
// progress with its data, so a step cut short is simply done again.
#pragma once

#include <new>

#include "core/status.h"

namespace drosera::core {

// Made once at start: handing out a copy allocates nothing.
inline const Status kOutOfMemory = Status::unavailable("out of memory");

template <typename Step>
auto failOnOutOfMemory(Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const std::bad_alloc&) {
    return kOutOfMemory;
  }
}

}  // namespace drosera::core
