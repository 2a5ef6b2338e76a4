// qmgr_queue.h - the queue manager: scans, delivery attempts, deferral.
//
// Summary
//   QueueManager owns qmgr's in-memory view: the active queue (IDs whose
//   files sit in active/, in arrival order) and what the next work step
//   should look at. Triggers (on_trigger) and timers only set flags and
//   schedule a work step on the loop; each step does one bounded piece of
//   work (one scan, or one message), so triggers keep being read while a
//   long batch is delivered.
//
// Description
//   Scans move incoming/ (and due deferred/) files into active/ and log
//     QUEUEID: from=<sender>, size=N, nrcpt=N (queue active)
//   A message is delivered with the file locked: pending recipients are
//   grouped by (transport, nexthop) and handed to private/<transport> with
//   the delivery protocol (lib/deliver); the agent logs each recipient's
//   to=... status=... line, qmgr only when it cannot reach the agent
//   ("delivery temporarily suspended"). Sent and bounced recipients are
//   marked done in the file before the next group; deferred ones stay
//   pending. When none is left the file is removed ("QUEUEID: removed");
//   otherwise it moves to deferred/ with its mtime set to the next attempt
//   (qmgr_log.h compute_backoff).
//
//   Recovery: at start every file in active/ (left by a qmgr that died) is
//   taken up again, then incoming/ and deferred/ are scanned. Recipients
//   already marked done are not delivered again.
//
//   Bounces: a bounced recipient is logged with status=bounced and marked
//   done. Sending the sender a non-delivery notification (DSN) is the
//   bounce service's job, which does not exist yet; until then nothing
//   tells the sender.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/queue/queue_dirs.h"
#include "lib/table/table.h"
#include "qmgr/qmgr_transport.h"

namespace mailroom::qmgr {

struct QmgrConfig {
    queue::QueueLayout layout;
    RoutingConfig routing;
    std::vector<std::string> transport_maps;
    long long minimal_backoff_time = 300;
    long long maximal_backoff_time = 4000;
    long long queue_run_delay = 300;
    int ipc_timeout_ms = 3600 * 1000;
};

Result<QmgrConfig> load_qmgr_config(const config::Config& cfg);

class QueueManager {
public:
    QueueManager(event::Loop& loop, QmgrConfig config);

    // Opens transport_maps, takes up active/ and schedules the first scans.
    Status start();
    void on_trigger(std::string_view request);

private:
    struct ActiveEntry {
        std::string id;
        double entered = 0;  // when it entered the active queue (epoch seconds)
    };

    void schedule();
    void work();
    void scan_incoming();
    void scan_deferred();
    bool activate(const std::string& id, std::string_view from_queue);
    void deliver_message(const ActiveEntry& entry);
    Result<std::optional<std::string>> lookup_transport(std::string_view key);

    event::Loop& loop_;
    QmgrConfig config_;
    std::vector<table::TablePtr> tables_;
    event::Timer work_timer_;
    event::Timer deferred_timer_;
    std::deque<ActiveEntry> active_;
    bool want_incoming_ = true;
    bool want_deferred_ = true;
    bool flush_ = false;  // deferred mail is due now
};

}  // namespace mailroom::qmgr
