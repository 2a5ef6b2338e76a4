// bounce_proto.h - the qmgr -> bounce protocol, defined once.
//
// Summary
//   The bounce daemon runs as three master.cf services with the same
//   program, as Postfix splits them: private/bounce (recipients that
//   failed for good), private/defer (recipients that will be retried) and
//   private/trace (recipients delivered with NOTIFY=SUCCESS). Each service
//   keeps one logfile per message in the queue directory of the same name
//   (bounce/QUEUEID, defer/QUEUEID, trace/QUEUEID). qmgr talks to it with
//   three requests:
//     append  add one recipient's status to the service's logfile
//     flush   send the sender the notification the logfile calls for
//             (bounce, defer: non-delivery; trace: delivery status) and
//             remove the logfile
//     warn    (defer) send a delay warning; the logfile stays
//   docs/bounce-protocol.md is the prose specification.
//
// Description
//   The conversation on queue_directory/private/{bounce,defer,trace}:
//     bounce -> client  announcement (protocol=bounce_protocol, version=1)
//     client -> bounce  request record (encode_request)
//     bounce -> client  reply: status (integer, 0 = done), reason (string)
//   then both sides close. A non-zero status is a temporary failure: the
//   client keeps the recipient (or the message) and tries again later.
//
//   BounceRecipient is also the logfile record (lib/bounce/bounce_log.h): the
//   same attribute names, one attribute record per recipient.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/ipc/attr.h"
#include "lib/util/result.h"

namespace mailroom::bounce {

// Service names (master.cf) and the logfile queue each one keeps.
inline constexpr std::string_view kServiceBounce = "bounce";
inline constexpr std::string_view kServiceDefer = "defer";
inline constexpr std::string_view kServiceTrace = "trace";

// Request names.
inline constexpr std::string_view kRequestAppend = "append";
inline constexpr std::string_view kRequestFlush = "flush";
inline constexpr std::string_view kRequestWarn = "warn";

// Attribute names (the only place they are spelled).
inline constexpr std::string_view kAttrRequest = "request";
inline constexpr std::string_view kAttrQueueName = "queue_name";
inline constexpr std::string_view kAttrQueueId = "queue_id";
inline constexpr std::string_view kAttrRecipient = "recipient";
inline constexpr std::string_view kAttrOrigRcpt = "orig_rcpt";
inline constexpr std::string_view kAttrDsnOrcpt = "dsn_orcpt";
inline constexpr std::string_view kAttrNotify = "notify";
inline constexpr std::string_view kAttrStatus = "status";
inline constexpr std::string_view kAttrAction = "action";
inline constexpr std::string_view kAttrReason = "reason";
inline constexpr std::string_view kAttrOffset = "offset";
inline constexpr std::string_view kAttrReplyStatus = "status";
inline constexpr std::string_view kAttrReplyReason = "reason";

// RFC 3464 Action values.
inline constexpr std::string_view kActionFailed = "failed";
inline constexpr std::string_view kActionDelayed = "delayed";
inline constexpr std::string_view kActionDelivered = "delivered";
inline constexpr std::string_view kActionRelayed = "relayed";

// One recipient's status: the append request's payload and one logfile
// record.
struct BounceRecipient {
    std::string recipient;   // the address delivered to
    std::string orig_rcpt;   // before rewriting ("" = same)
    std::string dsn_orcpt;   // DSN ORCPT "rfc822;addr" ("" = none)
    std::string notify;      // DSN NOTIFY ("" = default: FAILURE,DELAY)
    std::string status;      // RFC 3463 code: 5.x.x, 4.x.x, 2.x.x
    std::string action;      // failed, delayed, delivered
    std::string reason;      // the text the log shows in parentheses
    std::int64_t offset = 0; // file offset of the recipient's status byte

    bool operator==(const BounceRecipient&) const = default;
};

struct BounceRequest {
    std::string request;     // append, flush, warn
    std::string queue_name;  // where the queue file is (flush, warn): active, deferred
    std::string queue_id;
    BounceRecipient rcpt;    // append only
};

ipc::AttrList encode_recipient(const BounceRecipient& rcpt);
// Strict: unknown names, missing recipient/status/action fail.
Result<BounceRecipient> decode_recipient(const ipc::AttrList& list);

ipc::AttrList encode_request(const BounceRequest& request);
Result<BounceRequest> decode_request(const ipc::AttrList& record);

// Client side: one conversation with private/SERVICE. Every failure
// (service down, timeout, a non-zero reply status) is a temporary error
// whose text says what happened.
Status bounce_append(const std::string& queue_directory, std::string_view service, std::string_view queue_id,
                     const BounceRecipient& rcpt, int timeout_ms);
Status bounce_flush(const std::string& queue_directory, std::string_view service, std::string_view queue_name,
                    std::string_view queue_id, int timeout_ms);
Status defer_warn(const std::string& queue_directory, std::string_view queue_name, std::string_view queue_id,
                  int timeout_ms);

// True when a DSN NOTIFY value asks for this kind of notice: "FAILURE",
// "DELAY" or "SUCCESS". An empty NOTIFY means FAILURE,DELAY (RFC 3461);
// NEVER asks for nothing. Case-insensitive.
bool notify_wants(std::string_view notify, std::string_view what);

}  // namespace mailroom::bounce
