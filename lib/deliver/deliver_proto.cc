// deliver_proto.cc - see deliver_proto.h.
#include "lib/deliver/deliver_proto.h"

#include <array>
#include <cctype>

#include "lib/util/strings.h"

namespace mailroom::deliver {

namespace {

using ipc::AttrList;
using ipc::AttrSpec;
using ipc::AttrType;

constexpr std::array<AttrSpec, 12> kRequestSpec = {{
    {kAttrQueueName, AttrType::kString},
    {kAttrQueueId, AttrType::kString},
    {kAttrSender, AttrType::kString},
    {kAttrTransport, AttrType::kString},
    {kAttrNexthop, AttrType::kString},
    {kAttrNexthopExplicit, AttrType::kInteger},
    {kAttrArrivalTime, AttrType::kInteger},
    {kAttrArrivalTimeUs, AttrType::kInteger, false},
    {kAttrActiveTimeUs, AttrType::kInteger, false},
    {kAttrHandoffTimeUs, AttrType::kInteger, false},
    {kAttrFlags, AttrType::kInteger, false},
    {kAttrRecipients, AttrType::kList},
}};

constexpr std::array<AttrSpec, 5> kRecipientSpec = {{
    {kAttrAddress, AttrType::kString},
    {kAttrOrigRecipient, AttrType::kString, false},
    {kAttrDsnOrcpt, AttrType::kString, false},
    {kAttrDsnNotify, AttrType::kString, false},
    {kAttrOffset, AttrType::kInteger},
}};

constexpr std::array<AttrSpec, 5> kResultSpec = {{
    {kAttrStatus, AttrType::kString},
    {kAttrDsn, AttrType::kString},
    {kAttrRelay, AttrType::kString},
    {kAttrReason, AttrType::kString},
    {kAttrAction, AttrType::kString, false},
}};

constexpr std::array<AttrSpec, 2> kReplySpec = {{{kAttrResults, AttrType::kList}, {kAttrMore, AttrType::kInteger, false}}};

std::string member_name(std::size_t i) { return "r" + std::to_string(i); }

std::string optional_string(const AttrList& list, std::string_view name) {
    auto v = ipc::get_string(list, name);
    return v ? *v : std::string();
}

}  // namespace

const char* status_word(DeliveryStatus status) {
    switch (status) {
        case DeliveryStatus::kSent: return "sent";
        case DeliveryStatus::kDeferred: return "deferred";
        case DeliveryStatus::kBounced: return "bounced";
    }
    return "deferred";
}

Result<DeliveryStatus> parse_status_word(std::string_view word) {
    if (word == "sent") return DeliveryStatus::kSent;
    if (word == "deferred") return DeliveryStatus::kDeferred;
    if (word == "bounced") return DeliveryStatus::kBounced;
    return make_error("delivery reply: unknown status \"" + std::string(word) + "\"");
}

bool dsn_matches_status(std::string_view dsn, DeliveryStatus status) {
    // class "." 1*3digit "." 1*3digit
    auto parts = util::split(dsn, ".");
    if (parts.size() != 3 || dsn.find("..") != std::string_view::npos || dsn.front() == '.' || dsn.back() == '.')
        return false;
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& p = parts[i];
        if (p.empty() || p.size() > (i == 0 ? 1u : 3u)) return false;
        for (char c : p)
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    char want = status == DeliveryStatus::kSent ? '2' : status == DeliveryStatus::kDeferred ? '4' : '5';
    return parts[0][0] == want;
}

AttrList encode_request(const DeliveryRequest& request) {
    AttrList list;
    list.add(std::string(kAttrQueueName), request.queue_name)
        .add(std::string(kAttrQueueId), request.queue_id)
        .add(std::string(kAttrSender), request.sender)
        .add(std::string(kAttrTransport), request.transport)
        .add(std::string(kAttrNexthop), request.nexthop)
        .add_int(std::string(kAttrNexthopExplicit), request.nexthop_explicit ? 1 : 0)
        .add_int(std::string(kAttrArrivalTime), request.arrival_time);
    if (request.arrival_time_us) list.add_int(std::string(kAttrArrivalTimeUs), request.arrival_time_us);
    if (request.active_time_us) list.add_int(std::string(kAttrActiveTimeUs), request.active_time_us);
    if (request.handoff_time_us) list.add_int(std::string(kAttrHandoffTimeUs), request.handoff_time_us);
    if (request.flags) list.add_int(std::string(kAttrFlags), request.flags);
    AttrList rcpts;
    for (std::size_t i = 0; i < request.recipients.size(); ++i) {
        const auto& r = request.recipients[i];
        AttrList one;
        one.add(std::string(kAttrAddress), r.address);
        if (!r.orig_recipient.empty()) one.add(std::string(kAttrOrigRecipient), r.orig_recipient);
        if (!r.dsn_orcpt.empty()) one.add(std::string(kAttrDsnOrcpt), r.dsn_orcpt);
        if (!r.dsn_notify.empty()) one.add(std::string(kAttrDsnNotify), r.dsn_notify);
        one.add_int(std::string(kAttrOffset), r.offset);
        rcpts.add_list(member_name(i), std::move(one));
    }
    list.add_list(std::string(kAttrRecipients), std::move(rcpts));
    return list;
}

Result<DeliveryRequest> decode_request(const AttrList& record) {
    if (auto st = ipc::require_attrs(record, kRequestSpec, "delivery request"); !st) return st.error();
    DeliveryRequest req;
    req.queue_name = *ipc::get_string(record, kAttrQueueName);
    req.queue_id = *ipc::get_string(record, kAttrQueueId);
    req.sender = *ipc::get_string(record, kAttrSender);
    req.transport = *ipc::get_string(record, kAttrTransport);
    req.nexthop = *ipc::get_string(record, kAttrNexthop);
    req.nexthop_explicit = *ipc::get_int(record, kAttrNexthopExplicit) != 0;
    req.arrival_time = *ipc::get_int(record, kAttrArrivalTime);
    if (auto v = ipc::get_int(record, kAttrArrivalTimeUs); v) req.arrival_time_us = *v;
    if (auto v = ipc::get_int(record, kAttrActiveTimeUs); v) req.active_time_us = *v;
    if (auto v = ipc::get_int(record, kAttrHandoffTimeUs); v) req.handoff_time_us = *v;
    if (auto v = ipc::get_int(record, kAttrFlags); v) {
        if (*v < 0 || (*v & ~static_cast<std::int64_t>(kRequestFlagsKnown)) != 0)
            return make_error("delivery request: unknown flags " + std::to_string(*v));
        req.flags = static_cast<std::uint32_t>(*v);
    }
    AttrList rcpts = *ipc::get_list(record, kAttrRecipients);
    if (rcpts.empty()) return make_error("delivery request: no recipients");
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
        const auto& attr = rcpts.attrs()[i];
        if (attr.name != member_name(i) || attr.type() != AttrType::kList)
            return make_error("delivery request: recipient " + std::to_string(i) + " is not a list named " +
                              member_name(i));
        AttrList one(std::get<std::vector<ipc::Attr>>(attr.value));
        if (auto st = ipc::require_attrs(one, kRecipientSpec, "delivery request recipient"); !st) return st.error();
        DeliveryRecipient r;
        r.address = *ipc::get_string(one, kAttrAddress);
        r.orig_recipient = optional_string(one, kAttrOrigRecipient);
        r.dsn_orcpt = optional_string(one, kAttrDsnOrcpt);
        r.dsn_notify = optional_string(one, kAttrDsnNotify);
        r.offset = *ipc::get_int(one, kAttrOffset);
        req.recipients.push_back(std::move(r));
    }
    return req;
}

AttrList encode_reply(const DeliveryReply& reply) {
    AttrList results;
    for (std::size_t i = 0; i < reply.results.size(); ++i) {
        const auto& r = reply.results[i];
        AttrList one;
        one.add(std::string(kAttrStatus), status_word(r.status))
            .add(std::string(kAttrDsn), r.dsn)
            .add(std::string(kAttrRelay), r.relay)
            .add(std::string(kAttrReason), r.reason);
        if (r.dsn_delegated) one.add(std::string(kAttrAction), "delegated");
        else if (r.relayed) one.add(std::string(kAttrAction), "relayed");
        results.add_list(member_name(i), std::move(one));
    }
    AttrList list;
    list.add_list(std::string(kAttrResults), std::move(results));
    if (reply.more) list.add_int(std::string(kAttrMore), 1);
    return list;
}

Result<DeliveryReply> decode_reply(const AttrList& record, std::size_t expected) {
    if (auto st = ipc::require_attrs(record, kReplySpec, "delivery reply"); !st) return st.error();
    AttrList results = *ipc::get_list(record, kAttrResults);
    if (results.size() != expected)
        return make_error("delivery reply: " + std::to_string(results.size()) + " results for " +
                          std::to_string(expected) + " recipients");
    DeliveryReply reply;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& attr = results.attrs()[i];
        if (attr.name != member_name(i) || attr.type() != AttrType::kList)
            return make_error("delivery reply: result " + std::to_string(i) + " is not a list named " +
                              member_name(i));
        AttrList one(std::get<std::vector<ipc::Attr>>(attr.value));
        if (auto st = ipc::require_attrs(one, kResultSpec, "delivery reply result"); !st) return st.error();
        auto status = parse_status_word(*ipc::get_string(one, kAttrStatus));
        if (!status) return status.error();
        RecipientResult r;
        r.status = *status;
        r.dsn = *ipc::get_string(one, kAttrDsn);
        if (!dsn_matches_status(r.dsn, r.status))
            return make_error("delivery reply: status code \"" + r.dsn + "\" does not fit status " +
                              status_word(r.status));
        r.relay = *ipc::get_string(one, kAttrRelay);
        r.reason = *ipc::get_string(one, kAttrReason);
        if (auto action = ipc::get_string(one, kAttrAction)) {
            if (*action != "relayed" && *action != "delegated")
                return make_error("delivery reply: unknown action \"" + *action + "\"");
            r.relayed = r.status == DeliveryStatus::kSent;
            r.dsn_delegated = r.relayed && *action == "delegated";
        }
        reply.results.push_back(std::move(r));
    }
    if (auto more = ipc::get_int(record, kAttrMore)) reply.more = *more == 1;
    return reply;
}

}  // namespace mailroom::deliver
