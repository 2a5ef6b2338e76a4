// queue_listing.h - the mail queue listing (postqueue -p / -j, mailq).
//
// Summary
//   collect_queue() reads every queue file of incoming, active, deferred,
//   hold and maildrop (in that order, as Postfix's showq does) into
//   QueueEntry values; format_mailq() and format_json_line() are the pure
//   formatters:
//     -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
//     D786582E95*     346 Tue Nov 24 05:17:18  hadoop@example.com
//                                              user@example.com
//
//     -- 1 Kbytes in 1 Request.
//   or "Mail queue is empty". The character after the ID is "*" for the
//   active queue, "!" for hold, blank otherwise. Only recipients not yet
//   delivered are listed. A recipient of a deferred message whose latest
//   attempt is in the defer logfile (defer/QUEUEID, written by the bounce
//   service) has that reason: mailq prints it right-aligned in
//   parentheses before the recipients it applies to ("(reason
//   unavailable)" after a recipient with one), -j adds "delay_reason".
#pragma once

#include <array>
#include <ctime>
#include <string_view>
#include <string>
#include <vector>

#include "lib/queue/queue_dirs.h"

namespace mailroom::showq {

struct QueueEntry {
    std::string queue;  // queue name
    std::string id;
    std::uint64_t size = 0;
    std::time_t arrival = 0;
    std::string sender;
    struct Recipient {
        std::string address;
        std::string reason;  // why the latest attempt deferred it; "" = unknown
        bool operator==(const Recipient&) const = default;
    };
    std::vector<Recipient> recipients;  // pending ones
    long uid = -1;                        // maildrop: the submitting user
};

// The queues the listing shows, in its order (Postfix's showq order).
inline constexpr std::array<std::string_view, 5> kListedQueues = {queue::kQueueIncoming, queue::kQueueActive,
                                                                  queue::kQueueDeferred, queue::kQueueHold,
                                                                  queue::kQueueMaildrop};

std::vector<QueueEntry> collect_queue(const queue::QueueLayout& layout);

std::string format_mailq(const std::vector<QueueEntry>& entries);
std::string format_json_line(const QueueEntry& entry);
// JSON string escaping (RFC 8259), for addresses and IDs.
std::string json_quote(std::string_view s);

}  // namespace mailroom::showq
