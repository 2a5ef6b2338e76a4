// cleanup_session.h - one client connection of the cleanup server.
//
// Summary
//   start_session() takes a connection from the multi-server skeleton and
//   runs the cleanup protocol (lib/submit/cleanup_proto.h) on the event
//   loop: announcement, request, queue ID, the record stream fed to a
//   CleanupMessage as it arrives, then the final status. After a commit it
//   wakes qmgr (public/qmgr). A session that is silent for ipc_timeout, or
//   whose client hangs up early, is dropped and its file removed. The
//   client's socket is an event::Channel (lib/event/channel.h).
#pragma once

#include "cleanup/cleanup_message.h"
#include "cleanup/cleanup_milter.h"
#include "lib/server/server.h"

namespace mailroom::cleanup {

struct CleanupConfig {
    CleanupParams params;
    int ipc_timeout_ms = 3600 * 1000;
    // A table of params may block (mysql:...): the records are fed, and
    // the tables looked up, on the lookup worker (lib/table/async_lookup.h).
    bool may_block = false;
    std::shared_ptr<const milter::MilterConfig> milters;  // non_smtpd_milters; null when none
};

Result<CleanupConfig> load_cleanup_config(const config::Config& cfg);

// The session lives on `loop` until the conversation ends (it frees itself
// from the loop then).
void start_session(event::Loop& loop, const CleanupConfig& config, server::Connection conn);

// Drops every session (their files are removed) and the loop objects the
// sessions share; called before the loop goes away.
void shutdown_sessions();

}  // namespace mailroom::cleanup
