// cleanup_proto.cc - see cleanup_proto.h.
#include "lib/submit/cleanup_proto.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "lib/ipc/protocol.h"
#include "lib/queue/record.h"
#include "lib/util/strings.h"

namespace mailroom::submit {

namespace {
constexpr std::size_t kFlushAt = 64 * 1024;
}

CleanupStatusText cleanup_status_text(CleanupStatus status) {
    switch (status) {
        case CleanupStatus::kOk: return {"2.0.0", "queued"};
        case CleanupStatus::kWrite: return {"4.3.0", "queue file write error"};
        case CleanupStatus::kSize: return {"5.3.4", "message file too big"};
        case CleanupStatus::kRcpt: return {"5.1.0", "no recipients specified"};
        case CleanupStatus::kBad: return {"5.3.0", "malformed message stream"};
        case CleanupStatus::kTimeout: return {"4.4.2", "timeout while receiving the message"};
        case CleanupStatus::kContent: return {"5.7.1", "message content rejected"};
        case CleanupStatus::kDefer: return {"4.3.0", "server configuration error"};
    }
    return {"4.3.0", "queue file write error"};
}

Result<CleanupClient> CleanupClient::open(const std::string& queue_directory, ipc::ServiceClass cls,
                                          std::string_view service, std::int64_t flags, int timeout_ms) {
    auto fd = ipc::connect_service(queue_directory, cls, service, timeout_ms);
    if (!fd) return make_temp_error(fd.error().message);
    CleanupClient client(ipc::IpcStream(std::move(*fd), timeout_ms), timeout_ms);
    if (auto st = client.stream_.expect_announcement(ipc::kCleanupProtocol, ipc::kProtocolVersion); !st)
        return make_temp_error(st.error().message);
    if (auto st = client.stream_.send(cleanup_request(flags)); !st) return make_temp_error(st.error().message);
    auto rec = client.stream_.receive();
    if (!rec) return make_temp_error(rec.error().message);
    auto id = decode_queue_id(*rec);
    if (!id) return id.error();
    client.queue_id_ = *id;
    return client;
}

ipc::AttrList cleanup_request(std::int64_t flags) {
    ipc::AttrList req;
    req.add_int(std::string(kAttrFlags), flags);
    return req;
}

Result<std::string> decode_queue_id(const ipc::AttrList& record) {
    auto id = ipc::get_string(record, kAttrQueueId);
    if (!id) return make_temp_error("cleanup: " + id.error().message);
    return *id;
}

Result<CleanupResult> decode_cleanup_result(const ipc::AttrList& record, const std::string& queue_id) {
    auto status = ipc::get_int(record, kAttrStatus);
    if (!status) return make_temp_error("cleanup reply: " + status.error().message);
    CleanupResult result;
    result.status = static_cast<CleanupStatus>(*status);
    result.queue_id = queue_id;
    if (auto d = ipc::get_string(record, kAttrDsn); d) result.dsn = *d;
    if (auto r = ipc::get_string(record, kAttrReason); r) result.reason = *r;
    return result;
}

Status CleanupClient::send(queue::RecordType type, std::string_view payload) {
    if (auto st = queue::append_record(&buffer_, type, payload); !st) return st;
    if (buffer_.size() >= kFlushAt) return flush();
    return ok_status();
}

Status CleanupClient::flush() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = ::send(stream_.fd(), buffer_.data() + done, buffer_.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{stream_.fd(), POLLOUT, 0};
            int r = ::poll(&p, 1, timeout_ms_);
            if (r > 0) continue;
            if (r == 0) return make_temp_error("cleanup: timeout while sending the message");
            if (errno == EINTR) continue;
        }
        return make_temp_error(util::format("cleanup: write: %s", std::strerror(errno)));
    }
    buffer_.clear();
    return ok_status();
}

Result<CleanupResult> CleanupClient::finish() {
    if (auto st = flush(); !st) return st.error();
    auto rec = stream_.receive();
    if (!rec) return make_temp_error(rec.error().message);
    return decode_cleanup_result(*rec, queue_id_);
}

Result<ReceiveOverrides> parse_receive_override_options(std::string_view value) {
    ReceiveOverrides out;
    for (const auto& given : util::split_list(value)) {
        std::string word = util::lowercase(given);  // any case, as the validator accepts
        if (word == "no_address_mappings") {
            out.cleanup_flags |= kCleanupFlagNoAddressMappings;
        } else if (word == "no_header_body_checks") {
            out.cleanup_flags |= kCleanupFlagNoHeaderBodyChecks;
        } else if (word == "no_unknown_recipient_checks") {
            out.no_unknown_recipient_checks = true;
        } else if (word == "no_milters") {
            out.no_milters = true;
        } else {
            return make_error("invalid receive_override_options value: " + given);
        }
    }
    return out;
}

}  // namespace mailroom::submit
