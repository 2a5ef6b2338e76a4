// loop_util.h - turning an event::Loop in unit tests until something
// happened.
//
// Summary
//   run_until(loop, done, limit) turns the loop until done() holds or the
//   limit passed (30 s unless told: a stuck test fails, a loaded machine
//   does not), and returns done(): a test waits for the state that
//   proves a step finished instead of sleeping. Including it also ignores
//   SIGPIPE, as the daemons do: a peer that went away must not kill a test.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>

#include "lib/event/event_loop.h"

namespace mailroom::testing {

inline const bool kSigpipeIgnored = (std::signal(SIGPIPE, SIG_IGN), true);

inline bool run_until(event::Loop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
    bool expired = false;
    event::Timer guard(loop, [&] { expired = true; });
    guard.start(limit);
    while (!done() && !expired) loop.run_once();
    return done();
}

}  // namespace mailroom::testing
