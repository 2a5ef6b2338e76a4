// bounce_service.h - what the bounce daemon does with one request.
//
// Summary
//   BounceService serves one of the three services (bounce, defer, trace;
//   lib/bounce/bounce_proto.h), chosen by the master.cf service name:
//     append  adds the recipient to queue_directory/SERVICE/QUEUEID;
//     flush   reads that logfile and the queue file, sends the notice
//             (bounce, defer: non-delivery; trace: delivery status) to
//             cleanup with the envelope sender plan_notice() chose (<> for
//             a sender notice) and removes the logfile;
//     warn    (defer) the same as a delay warning; the logfile stays.
//   serve_bounce() is one conversation on an accepted connection.
//
// Description
//   Log lines, as Postfix's:
//     QUEUEID: sender non-delivery notification: NEWQUEUEID
//     QUEUEID: sender delay notification: NEWQUEUEID
//     QUEUEID: sender delivery status notification: NEWQUEUEID
//     QUEUEID: postmaster non-delivery notification: NEWQUEUEID
//     QUEUEID: undeliverable postmaster notification discarded
//   When no recipient's NOTIFY asks for the notice, nothing is sent and
//   the logfile is removed all the same. Any failure to read the logfile
//   or the queue file, or to submit the notice, leaves the logfile in
//   place and answers with a non-zero status, so qmgr tries again later.
#pragma once

#include <string>

#include "lib/bounce/bounce_proto.h"
#include "lib/config/config.h"
#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::bounce {

struct BounceConfig {
    queue::QueueLayout layout;
    std::string myhostname;
    std::string myorigin;
    std::uint64_t bounce_size_limit = 50000;
    std::string notice_recipient = "postmaster";      // 2bounce_notice_recipient
    std::string double_bounce_sender = "double-bounce";
    long long maximal_queue_lifetime = 5 * 86400;
    std::string cleanup_service = "cleanup";           // public/cleanup
    int ipc_timeout_ms = 3600 * 1000;
};

Result<BounceConfig> load_bounce_config(const config::Config& cfg);

struct BounceReply {
    int status = 0;  // 0 = done
    std::string reason;
};

class BounceService {
public:
    // `service` is bounce, defer or trace (anything else acts as bounce).
    BounceService(BounceConfig config, std::string service);

    BounceReply handle(const BounceRequest& request);
    const std::string& log_queue() const { return log_queue_; }

private:
    Status append(const BounceRequest& request);
    Status notify(const BounceRequest& request, bool warning);

    BounceConfig config_;
    std::string log_queue_;
};

// Announce, read one request, handle it, reply.
Status serve_bounce(int fd, int timeout_ms, BounceService& service);

}  // namespace mailroom::bounce
