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
//   A message is delivered with the file open and locked: pending
//   recipients are grouped by (transport, nexthop), at most the
//   transport's destination recipient limit per request (qmgr_schedule.h),
//   and handed to private/<transport> with the delivery protocol
//   (lib/deliver), many conversations at once on the loop
//   (qmgr_delivery.h), at most the transport's destination concurrency
//   limit per destination and at most its master.cf maxproc
//   (default_process_limit for "-") per transport. A request says when
//   more requests for its transport and nexthop wait behind it
//   (deliver::kRequestFlagConnStore), so that the smtp agent caches its
//   connection on demand.
//
//   A message with a `filter` attribute (a FILTER action or content_filter)
//   sends every recipient to that transport:nexthop instead of the normal
//   routing; one with a `redirect` attribute (a REDIRECT action) is
//   delivered once, to that address, logged with the first pending
//   recipient as orig_to; its other recipients are done with it, as
//   Postfix's qmgr does. The agent logs each recipient's
//   to=... status=... line, qmgr only when it cannot reach the agent
//   ("delivery temporarily suspended"). Sent and bounced recipients are
//   marked done in the file before the next group; deferred ones stay
//   pending. When none is left the file is removed ("QUEUEID: removed":
//   renamed into recycle/ for cleanup to reuse while the pool holds fewer
//   than queue_file_recycle_limit files, lib/queue/recycle.h);
//   otherwise it moves to deferred/ with its mtime set to the next attempt
//   (qmgr_log.h compute_backoff).
//
//   Recovery: at start every file in active/ (left by a qmgr that died) is
//   taken up again, then incoming/ and deferred/ are scanned. Recipients
//   already marked done are not delivered again.
//
//   Bounces (docs/bounce-protocol.md): a bounced recipient is appended to
//   the bounce service's logfile before it is marked done (if that fails
//   it stays pending); deferred ones go to the defer service, delivered
//   ones with NOTIFY=SUCCESS to trace. When no recipient is left qmgr asks
//   bounce (and trace) to send the notification and removes the file only
//   once they did. A message older than maximal_queue_lifetime
//   (bounce_queue_lifetime for mail from <>) gives its deferred recipients
//   up: they bounce with 4.4.7, "message expired". With delay_warning_time
//   set, a deferred message that old gets one delay warning (remembered in
//   memory only). The bounce conversations block the loop briefly
//   (bounded by ipc_timeout, at most kBounceTimeoutMs). An instance
//   without the bounce service in master.cf (no private/bounce socket)
//   only logs bounced recipients, as before.
//
//   Routing: when a transport_maps table or a table in a domain list may
//   block (mysql:), a message's recipients are routed on the lookup worker
//   (one thread, one message at a time) and the message joins the others
//   when the routes are back, so the loop keeps serving triggers and
//   replies meanwhile.
#pragma once

#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/deliver/deliver_proto.h"
#include "lib/event/event_loop.h"
#include "lib/table/async_lookup.h"
#include "lib/queue/queue_dirs.h"
#include "lib/address/resolve.h"
#include "lib/table/table.h"
#include "lib/queue/queue_file.h"
#include "lib/queue/recycle.h"
#include "qmgr/qmgr_delivery.h"
#include "qmgr/qmgr_schedule.h"
#include "qmgr/qmgr_transport.h"

namespace mailroom::qmgr {

struct QmgrConfig {
    queue::QueueLayout layout;
    SchedulePolicy schedule;  // per-transport limits; defaults for transports not in master.cf
    RoutingConfig routing;
    std::shared_ptr<address::DomainLists> domain_lists;  // behind routing.resolver
    std::vector<std::string> transport_maps;
    long long minimal_backoff_time = 300;
    long long maximal_backoff_time = 4000;
    long long queue_run_delay = 300;
    long long delay_warning_time = 0;             // 0 = no delay warnings
    long long maximal_queue_lifetime = 5 * 86400;
    long long bounce_queue_lifetime = 5 * 86400;  // for mail from <>
    int ipc_timeout_ms = 3600 * 1000;
    long queue_file_recycle_limit = queue::kDefaultRecycleLimit;  // 0 = unlink finished files
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
        bool fresh = false;  // came from incoming/: no attempt before this one
    };
    struct Group {
        Route route;
        std::string destination;  // what the concurrency limit counts (qmgr_schedule.h)
        std::vector<const queue::QueueRecipient*> rcpts;
        std::vector<std::string> addresses;  // rcpts[i] as resolved (address/resolve.h)
        std::string redirect;  // REDIRECT: the one address every member is delivered to
        // REDIRECT: recipients done together with the first one, never delivered.
        std::vector<const queue::QueueRecipient*> followers;
    };
    // A message whose file is open and locked while its groups are delivered.
    struct OpenMessage {
        ActiveEntry entry;
        std::optional<queue::QueueFile> file;
        queue::QueueEnvelope env;
        double arrival = 0;
        std::deque<Group> waiting;
        int running = 0;
        bool deferred = false;
        bool traced = false;  // a trace logfile record was written in this attempt
        // Recipients deferred in this attempt, with why (for expiry).
        std::vector<std::pair<const queue::QueueRecipient*, deliver::RecipientResult>> deferred_rcpts;
        std::string redirect;                                 // the redirect attribute
        std::vector<const queue::QueueRecipient*> pending;    // to be routed and delivered
        std::vector<const queue::QueueRecipient*> followers;  // REDIRECT: done with pending[0]
    };

    void schedule();
    void work();
    void scan_incoming();
    void scan_deferred();
    bool activate(const std::string& id, std::string_view from_queue);
    std::unique_ptr<OpenMessage> open_message(const ActiveEntry& entry);
    std::vector<Result<Route>> resolve_all(const std::vector<std::string>& addresses, const std::string& filter);
    void route_message(std::unique_ptr<OpenMessage> msg);
    void assign_groups(OpenMessage& msg, const std::vector<Result<Route>>& routes);
    void dispatch();
    bool start_group(OpenMessage& msg, const Group& group);
    bool more_waiting(const Route& route) const;
    void group_done(OpenMessage* msg, const Group& group, const Result<deliver::DeliveryReply>& reply,
                    double started);
    void finalize(OpenMessage& msg);
    void log_here(const OpenMessage& msg, const queue::QueueRecipient& r, const deliver::RecipientResult& res,
                  double started);
    Result<std::optional<std::string>> lookup_transport(std::string_view key);
    bool service_configured(std::string_view service) const;
    int bounce_timeout_ms() const;
    void record_deferred(OpenMessage& msg, const queue::QueueRecipient& r, const deliver::RecipientResult& res);
    bool expire(OpenMessage& msg);

    event::Loop& loop_;
    QmgrConfig config_;
    std::vector<table::TablePtr> tables_;
    event::Timer work_timer_;
    event::Timer deferred_timer_;
    event::Timer rate_timer_;  // a destination's rate delay is over
    std::deque<ActiveEntry> active_;               // in active/, not opened yet
    std::list<std::unique_ptr<OpenMessage>> open_;  // being delivered
    ConcurrencyTracker busy_{config_.schedule};
    AgentPool pool_{loop_};  // agent connections kept between requests
    std::map<DeliveryCall*, std::unique_ptr<DeliveryCall>> calls_;
    bool want_incoming_ = true;
    bool want_deferred_ = true;
    bool flush_ = false;  // deferred mail is due now
    std::set<std::string> warned_;  // messages whose sender got a delay warning
    queue::RecycleCounter recycle_{config_.layout, config_.queue_file_recycle_limit};
    std::list<std::unique_ptr<OpenMessage>> routing_;  // waiting for the lookup worker's routes
    // Set when a transport_maps or domain-list table may block (mysql:):
    // routing then runs on its one worker. Last, so it stops first.
    std::unique_ptr<table::LookupRunner> lookups_;  // routing lookups (async_lookup.h)
    bool routing_may_block_ = false;
};

}  // namespace mailroom::qmgr
