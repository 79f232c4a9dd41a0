// How the outputs' threads sleep: a wait that stop() ends at once and wake() ends when the caller
// allows it (idle polling yes, a retry backoff no). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace drosera::ecs {

class Waiter {
 public:
  // Waits up to `seconds`. Returns false once stop() was called.
  bool wait(double seconds, bool wakeable) {
    std::unique_lock lock(mu_);
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(seconds > 0 ? seconds : 0));
    cv_.wait_until(lock, until, [&] { return stopped_ || (wakeable && woken_); });
    if (wakeable) woken_ = false;
    return !stopped_;
  }
  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  void reset() {
    std::lock_guard lock(mu_);
    stopped_ = false;
    woken_ = false;
  }
  bool stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool woken_ = false;
};

}  // namespace drosera::ecs
