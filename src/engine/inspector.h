// The inspection engine seam: a capture in, a verdict out. The only implementation that matters
// is the ModSecurity adapter (modsec_inspector.h); tests and benchmarks may use others.
// Thread-safety: inspect() is called concurrently from the inspector threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/capture.h"
#include "core/status.h"
#include "core/verdict.h"

namespace drosera::engine {

class Inspector {
 public:
  virtual ~Inspector() = default;
  virtual core::Verdict inspect(const core::Capture& capture) = 0;
  // For the audit record's "producer" object.
  virtual std::string producer() const = 0;
  virtual std::vector<std::string> components() const = 0;
  virtual std::string ruleEngineState() const = 0;  // "DetectionOnly", "Enabled"
};

}  // namespace drosera::engine
