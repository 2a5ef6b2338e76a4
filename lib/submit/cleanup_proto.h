// cleanup_proto.h - the protocol that hands a message to cleanup, defined once.
//
// Summary
//   pickup (and later smtpd and bounce) submit a message to the cleanup
//   service on queue_directory/{public,private}/cleanup:
//     cleanup -> client  announcement (protocol=cleanup_protocol, version=1)
//     client  -> cleanup request attributes: flags (integer)
//     cleanup -> client  queue_id (string): the ID the message will have
//     client  -> cleanup typed records of the cleanup stream
//                        (record_format.h, StreamKind::kCleanupStream: no C
//                        record; envelope, M, content, X, extracted, E)
//     cleanup -> client  status (integer), dsn (string), reason (string)
//   Status 0 means the queue file is complete, fsynced and renamed into
//   incoming/; only then may the client acknowledge or delete its copy.
//   docs/cleanup-protocol.md is the prose specification.
//
//   CleanupClient is the blocking client side, for programs that submit
//   one message and may wait (pickup, bounce, local's forwarding);
//   AsyncCleanupClient (cleanup_async.h) is the same protocol on an event
//   loop, for smtpd, whose other sessions must never wait on cleanup. Both
//   use the encoder and decoder below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/ipc/ipc_socket.h"
#include "lib/queue/record_format.h"
#include "lib/util/result.h"

namespace mailroom::submit {

inline constexpr std::string_view kAttrFlags = "flags";
inline constexpr std::string_view kAttrQueueId = "queue_id";
inline constexpr std::string_view kAttrStatus = "status";
inline constexpr std::string_view kAttrDsn = "dsn";
inline constexpr std::string_view kAttrReason = "reason";

// Request flags: the client's receive_override_options (cleanup_flags()),
// and kCleanupFlagBounce (pickup, as Postfix's CLEANUP_FLAG_BOUNCE): a
// message rejected for good (content checks, message_size_limit) is not
// refused but queued with every recipient bounced, so the sender gets a
// non-delivery notice with the reason. Mail the system made itself
// (bounce notices, local forwarding) is sent with
// kCleanupFlagNoHeaderBodyChecks, as Postfix's internal_mail_filter_classes
// (empty by default) has it: a notice returning a rejected message would
// otherwise be rejected too.
inline constexpr std::int64_t kCleanupFlagNone = 0;
inline constexpr std::int64_t kCleanupFlagNoAddressMappings = 1;    // no canonical, masquerade, virtual alias
inline constexpr std::int64_t kCleanupFlagNoHeaderBodyChecks = 2;   // no header_checks, body_checks
inline constexpr std::int64_t kCleanupFlagBounce = 4;               // bounce a permanent reject
inline constexpr std::int64_t kCleanupFlagMilters = 8;              // run non_smtpd_milters (pickup)

// receive_override_options as Postfix names its words: no_address_mappings,
// no_header_body_checks, no_unknown_recipient_checks (smtpd's own) and
// no_milters (no milters exist). An unknown word is an error.
struct ReceiveOverrides {
    std::int64_t cleanup_flags = kCleanupFlagNone;
    bool no_unknown_recipient_checks = false;
    bool no_milters = false;
};
Result<ReceiveOverrides> parse_receive_override_options(std::string_view value);

// Status values of the final reply, with Postfix's DSN codes and texts
// (cleanup_status_text()).
enum class CleanupStatus : std::int64_t {
    kOk = 0,
    kWrite = 1,     // 4.3.0 queue file write error
    kSize = 2,      // 5.3.4 message file too big
    kRcpt = 3,      // 5.1.0 no recipients specified
    kBad = 4,       // 5.3.0 malformed message stream
    kTimeout = 5,   // 4.4.2 timeout while receiving the message
    kContent = 6,   // 5.7.1 message content rejected (header/body checks)
    kDefer = 7,     // 4.3.0 temporary failure (a table lookup failed)
};

struct CleanupStatusText {
    const char* dsn;
    const char* text;
};
CleanupStatusText cleanup_status_text(CleanupStatus status);

struct CleanupResult {
    CleanupStatus status = CleanupStatus::kWrite;
    std::string queue_id;
    std::string dsn;
    std::string reason;

    bool ok() const { return status == CleanupStatus::kOk; }
    bool temporary() const { return !dsn.empty() && dsn[0] == '4'; }
};

// The protocol's pieces, shared by both clients: the request record, the
// queue ID reply and the final reply.
ipc::AttrList cleanup_request(std::int64_t flags);
Result<std::string> decode_queue_id(const ipc::AttrList& record);
Result<CleanupResult> decode_cleanup_result(const ipc::AttrList& record, const std::string& queue_id);

class CleanupClient {
public:
    // Connects, checks the announcement, sends the request and reads the
    // queue ID. Failures are temporary (cleanup not running, timeouts).
    static Result<CleanupClient> open(const std::string& queue_directory, ipc::ServiceClass cls,
                                      std::string_view service, std::int64_t flags, int timeout_ms);

    const std::string& queue_id() const { return queue_id_; }

    // Buffers one record and writes when the buffer is full.
    Status send(queue::RecordType type, std::string_view payload);
    // Writes what is buffered and reads the final reply.
    Result<CleanupResult> finish();

private:
    CleanupClient(ipc::IpcStream stream, int timeout_ms) : stream_(std::move(stream)), timeout_ms_(timeout_ms) {}
    Status flush();

    ipc::IpcStream stream_;
    int timeout_ms_;
    std::string queue_id_;
    std::string buffer_;
};

}  // namespace mailroom::submit
