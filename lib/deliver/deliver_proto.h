// deliver_proto.h - the qmgr <-> delivery agent protocol, defined once.
//
// Summary
//   qmgr hands a delivery agent (discard, error, and later local, virtual,
//   pipe, smtp) one request per message and transport/nexthop: the queue
//   file to read, the sender, the nexthop and the recipients. The agent
//   answers with one result per recipient: sent, deferred or bounced, with
//   an RFC 3463 status code, the relay it talked to and a reason text.
//   docs/delivery-protocol.md is the prose specification.
//
// Description
//   The conversation on queue_directory/private/<transport>:
//     agent -> qmgr   announcement (protocol=deliver_protocol, version=1)
//     qmgr  -> agent  request record  (encode_request)
//     agent -> qmgr   reply record    (encode_reply)
//   then both sides close, unless the reply says more=1: then qmgr may
//   send another request on the same connection (no new announcement),
//   or close it. The codec below is pure; decoding is strict
//   (unknown or missing attributes fail, a reply must carry exactly one
//   result per requested recipient).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ipc/attr.h"
#include "lib/util/result.h"

namespace mailroom::deliver {

enum class DeliveryStatus { kSent, kDeferred, kBounced };

// "sent", "deferred", "bounced": the words of the log's status= field.
const char* status_word(DeliveryStatus status);
Result<DeliveryStatus> parse_status_word(std::string_view word);

struct DeliveryRecipient {
    std::string address;
    std::string orig_recipient;   // "" = same as address
    std::string dsn_orcpt;
    std::string dsn_notify;
    std::int64_t offset = 0;      // file offset of the R record's status byte
};

// Request flags, as Postfix's DEL_REQ_FLAG_*: kRequestFlagConnStore says
// that more mail for this transport and nexthop waits in qmgr, so an agent
// with on-demand connection caching keeps the session open for it
// (smtp_connection_cache_on_demand).
inline constexpr std::uint32_t kRequestFlagConnStore = 1u << 0;
inline constexpr std::uint32_t kRequestFlagsKnown = kRequestFlagConnStore;

struct DeliveryRequest {
    std::string queue_name;        // "active"
    std::string queue_id;
    std::string sender;            // "" = null sender
    std::string transport;         // master.cf service name
    std::string nexthop;           // resolved nexthop (explicit, or the recipient domain)
    bool nexthop_explicit = false; // nexthop came from "transport:nexthop"
    std::int64_t arrival_time = 0; // seconds since the epoch
    // Time stamps for the log's delays= (microseconds since the epoch;
    // 0 = unknown). Optional on the wire.
    std::int64_t arrival_time_us = 0;  // message arrival, with microseconds
    std::int64_t active_time_us = 0;   // entered the active queue
    std::int64_t handoff_time_us = 0;  // qmgr started this delivery attempt
    std::uint32_t flags = 0;           // kRequestFlag* bits (optional on the wire)
    std::vector<DeliveryRecipient> recipients;
};

struct RecipientResult {
    DeliveryStatus status = DeliveryStatus::kDeferred;
    std::string dsn;     // "2.0.0", "4.3.0", "5.0.0", ...
    std::string relay;   // "none", "host[addr]:port"
    std::string reason;  // human text, logged in parentheses
    bool relayed = false;  // sent, but not final delivery: DSN action "relayed"
    // Sent to a server that announced DSN and got the NOTIFY parameter: it
    // sends the success notice, so no success notice is sent here.
    bool dsn_delegated = false;
    // The smtp agent: how many messages the connection has carried with
    // this one; the log shows conn_use=N when it is more than 1.
    unsigned conn_use = 0;
};

struct DeliveryReply {
    std::vector<RecipientResult> results;  // one per request recipient, same order
    // The agent reads another request on this connection (attribute
    // "more"); qmgr may keep the connection for the transport's next one.
    bool more = false;
};

// Attribute names (the only place they are spelled).
inline constexpr std::string_view kAttrQueueName = "queue_name";
inline constexpr std::string_view kAttrQueueId = "queue_id";
inline constexpr std::string_view kAttrSender = "sender";
inline constexpr std::string_view kAttrTransport = "transport";
inline constexpr std::string_view kAttrNexthop = "nexthop";
inline constexpr std::string_view kAttrNexthopExplicit = "nexthop_explicit";
inline constexpr std::string_view kAttrArrivalTime = "arrival_time";
inline constexpr std::string_view kAttrArrivalTimeUs = "arrival_time_us";
inline constexpr std::string_view kAttrActiveTimeUs = "active_time_us";
inline constexpr std::string_view kAttrHandoffTimeUs = "handoff_time_us";
inline constexpr std::string_view kAttrFlags = "flags";
inline constexpr std::string_view kAttrRecipients = "recipients";
inline constexpr std::string_view kAttrResults = "results";
inline constexpr std::string_view kAttrAddress = "address";
inline constexpr std::string_view kAttrOrigRecipient = "orig_recipient";
inline constexpr std::string_view kAttrDsnOrcpt = "dsn_orcpt";
inline constexpr std::string_view kAttrDsnNotify = "dsn_notify";
inline constexpr std::string_view kAttrOffset = "offset";
inline constexpr std::string_view kAttrStatus = "status";
inline constexpr std::string_view kAttrDsn = "dsn";
inline constexpr std::string_view kAttrRelay = "relay";
inline constexpr std::string_view kAttrReason = "reason";
inline constexpr std::string_view kAttrAction = "action";  // optional: "relayed", "delegated"
inline constexpr std::string_view kAttrMore = "more";      // optional in a reply: 1 = send the next request

// A request carries at most this many recipients (attr.h's list limit).
inline constexpr std::size_t kMaxRecipientsPerRequest = 1000;

ipc::AttrList encode_request(const DeliveryRequest& request);
Result<DeliveryRequest> decode_request(const ipc::AttrList& record);
ipc::AttrList encode_reply(const DeliveryReply& reply);
// `expected` is the number of recipients in the request.
Result<DeliveryReply> decode_reply(const ipc::AttrList& record, std::size_t expected);

// True for a syntactically valid RFC 3463 status "D.DDD.DDD" whose class
// digit matches the status (2 sent, 4 deferred, 5 bounced).
bool dsn_matches_status(std::string_view dsn, DeliveryStatus status);

}  // namespace mailroom::deliver
