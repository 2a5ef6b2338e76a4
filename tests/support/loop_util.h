// loop_util.h - turning an event::Loop in unit tests until something
// happened.
//
// Summary
//   run_until(loop, done, limit) turns the loop until done() holds or the
//   limit passed, and returns done(): a test waits for the state that
//   proves a step finished instead of sleeping.
#pragma once

#include <chrono>
#include <functional>

#include "lib/event/event_loop.h"

namespace mailroom::testing {

inline bool run_until(event::Loop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    bool expired = false;
    event::Timer guard(loop, [&] { expired = true; });
    guard.start(limit);
    while (!done() && !expired) loop.run_once();
    return done();
}

}  // namespace mailroom::testing
