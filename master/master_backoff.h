// master_backoff.h - how long master waits before restarting a failing service.
//
// Summary
//   A Backoff counts consecutive failed starts of one service (a child that
//   died before serving anything). The first failure waits
//   service_throttle_time; each further one doubles the wait, up to
//   kMaxFactor times the base. A child that serves work resets the count.
//   Pure: no clock, no I/O.
#pragma once

#include <chrono>

namespace mailroom::master {

class Backoff {
public:
    static constexpr int kMaxFactor = 8;

    explicit Backoff(std::chrono::seconds base = std::chrono::seconds(60)) : base_(base) {}

    // Records a failed start; returns the time to wait before the next one.
    std::chrono::seconds failure();
    // A child did useful work: the next failure starts from the base again.
    void success() { failures_ = 0; }
    int failures() const { return failures_; }
    void set_base(std::chrono::seconds base) { base_ = base; }

private:
    std::chrono::seconds base_;
    int failures_ = 0;
};

}  // namespace mailroom::master
