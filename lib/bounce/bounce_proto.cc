// bounce_proto.cc - see bounce_proto.h.
#include "lib/bounce/bounce_proto.h"

#include "lib/ipc/ipc_socket.h"
#include "lib/ipc/protocol.h"
#include "lib/util/strings.h"

namespace mailroom::bounce {

namespace {

void add_if(ipc::AttrList& list, std::string_view name, const std::string& value) {
    if (!value.empty()) list.add(std::string(name), value);
}

std::string string_or_empty(const ipc::AttrList& list, std::string_view name) {
    auto v = ipc::get_string(list, name);
    return v ? *v : std::string();
}

const ipc::AttrSpec kRecipientSpecs[] = {
    {kAttrRecipient, ipc::AttrType::kString, true}, {kAttrOrigRcpt, ipc::AttrType::kString, false},
    {kAttrDsnOrcpt, ipc::AttrType::kString, false}, {kAttrNotify, ipc::AttrType::kString, false},
    {kAttrStatus, ipc::AttrType::kString, true},    {kAttrAction, ipc::AttrType::kString, true},
    {kAttrReason, ipc::AttrType::kString, false},   {kAttrOffset, ipc::AttrType::kInteger, false},
};

// The request is the recipient's attributes plus the request's own.
const ipc::AttrSpec kRequestSpecs[] = {
    {kAttrRequest, ipc::AttrType::kString, true},    {kAttrQueueName, ipc::AttrType::kString, false},
    {kAttrQueueId, ipc::AttrType::kString, true},    {kAttrRecipient, ipc::AttrType::kString, false},
    {kAttrOrigRcpt, ipc::AttrType::kString, false},  {kAttrDsnOrcpt, ipc::AttrType::kString, false},
    {kAttrNotify, ipc::AttrType::kString, false},    {kAttrStatus, ipc::AttrType::kString, false},
    {kAttrAction, ipc::AttrType::kString, false},    {kAttrReason, ipc::AttrType::kString, false},
    {kAttrOffset, ipc::AttrType::kInteger, false},
};

Status converse(const std::string& queue_directory, std::string_view service, const BounceRequest& request,
                int timeout_ms) {
    auto fd = ipc::connect_service(queue_directory, ipc::ServiceClass::kPrivate, service, timeout_ms);
    if (!fd) return make_temp_error(std::string(service) + " service: " + fd.error().message);
    ipc::IpcStream stream(std::move(*fd), timeout_ms);
    if (auto st = stream.expect_announcement(ipc::kBounceProtocol, ipc::kProtocolVersion); !st)
        return make_temp_error(std::string(service) + " service: " + st.error().message);
    if (auto st = stream.send(encode_request(request)); !st)
        return make_temp_error(std::string(service) + " service: " + st.error().message);
    auto reply = stream.receive();
    if (!reply) return make_temp_error(std::string(service) + " service: " + reply.error().message);
    auto status = ipc::get_int(*reply, kAttrReplyStatus);
    if (!status) return make_temp_error(std::string(service) + " service: " + status.error().message);
    if (*status != 0) {
        std::string why = string_or_empty(*reply, kAttrReplyReason);
        return make_temp_error(std::string(service) + " service failure" + (why.empty() ? "" : ": " + why));
    }
    return ok_status();
}

}  // namespace

ipc::AttrList encode_recipient(const BounceRecipient& r) {
    ipc::AttrList list;
    list.add(std::string(kAttrRecipient), r.recipient);
    add_if(list, kAttrOrigRcpt, r.orig_rcpt);
    add_if(list, kAttrDsnOrcpt, r.dsn_orcpt);
    add_if(list, kAttrNotify, r.notify);
    list.add(std::string(kAttrStatus), r.status);
    list.add(std::string(kAttrAction), r.action);
    add_if(list, kAttrReason, r.reason);
    list.add_int(std::string(kAttrOffset), r.offset);
    return list;
}

Result<BounceRecipient> decode_recipient(const ipc::AttrList& list) {
    if (auto st = ipc::require_attrs(list, kRecipientSpecs, "bounce log record"); !st) return st.error();
    BounceRecipient r;
    r.recipient = string_or_empty(list, kAttrRecipient);
    r.orig_rcpt = string_or_empty(list, kAttrOrigRcpt);
    r.dsn_orcpt = string_or_empty(list, kAttrDsnOrcpt);
    r.notify = string_or_empty(list, kAttrNotify);
    r.status = string_or_empty(list, kAttrStatus);
    r.action = string_or_empty(list, kAttrAction);
    r.reason = string_or_empty(list, kAttrReason);
    if (auto off = ipc::get_int(list, kAttrOffset); off) r.offset = *off;
    return r;
}

ipc::AttrList encode_request(const BounceRequest& request) {
    ipc::AttrList list;
    list.add(std::string(kAttrRequest), request.request);
    add_if(list, kAttrQueueName, request.queue_name);
    list.add(std::string(kAttrQueueId), request.queue_id);
    if (request.request == kRequestAppend) {
        ipc::AttrList rcpt = encode_recipient(request.rcpt);
        for (const auto& a : rcpt.attrs()) list.mutable_attrs().push_back(a);
    }
    return list;
}

Result<BounceRequest> decode_request(const ipc::AttrList& record) {
    if (auto st = ipc::require_attrs(record, kRequestSpecs, "bounce request"); !st) return st.error();
    BounceRequest req;
    req.request = string_or_empty(record, kAttrRequest);
    req.queue_name = string_or_empty(record, kAttrQueueName);
    req.queue_id = string_or_empty(record, kAttrQueueId);
    if (req.request == kRequestAppend) {
        ipc::AttrList rcpt;
        for (const auto& a : record.attrs()) {
            if (a.name != kAttrRequest && a.name != kAttrQueueName && a.name != kAttrQueueId)
                rcpt.mutable_attrs().push_back(a);
        }
        auto r = decode_recipient(rcpt);
        if (!r) return make_error("bounce append request: " + r.error().message);
        req.rcpt = std::move(*r);
    } else if (req.request == kRequestFlush || req.request == kRequestWarn) {
        if (req.queue_name.empty()) return make_error("bounce " + req.request + " request: no queue_name");
    } else {
        return make_error("bounce request: unknown request \"" + req.request + "\"");
    }
    return req;
}

Status bounce_append(const std::string& queue_directory, std::string_view service, std::string_view queue_id,
                     const BounceRecipient& rcpt, int timeout_ms) {
    BounceRequest req;
    req.request = std::string(kRequestAppend);
    req.queue_id = std::string(queue_id);
    req.rcpt = rcpt;
    return converse(queue_directory, service, req, timeout_ms);
}

Status bounce_flush(const std::string& queue_directory, std::string_view service, std::string_view queue_name,
                    std::string_view queue_id, int timeout_ms) {
    BounceRequest req;
    req.request = std::string(kRequestFlush);
    req.queue_name = std::string(queue_name);
    req.queue_id = std::string(queue_id);
    return converse(queue_directory, service, req, timeout_ms);
}

Status defer_warn(const std::string& queue_directory, std::string_view queue_name, std::string_view queue_id,
                  int timeout_ms) {
    BounceRequest req;
    req.request = std::string(kRequestWarn);
    req.queue_name = std::string(queue_name);
    req.queue_id = std::string(queue_id);
    return converse(queue_directory, kServiceDefer, req, timeout_ms);
}

bool notify_wants(std::string_view notify, std::string_view what) {
    if (util::trim(notify).empty()) return util::iequals(what, "FAILURE") || util::iequals(what, "DELAY");
    for (const auto& word : util::split(notify, ", ")) {
        if (util::iequals(word, "NEVER")) return false;
        if (util::iequals(word, what)) return true;
    }
    return false;
}

}  // namespace mailroom::bounce
