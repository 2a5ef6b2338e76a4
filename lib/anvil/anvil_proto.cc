// anvil_proto.cc - see anvil_proto.h.
#include "lib/anvil/anvil_proto.h"

#include <array>
#include <vector>

#include "lib/log/log.h"

namespace mailroom::anvil {

namespace {

struct Name {
    RequestType type;
    std::string_view name;
};
constexpr std::array<Name, 5> kNames = {{
    {RequestType::kConnect, kRequestConnect},
    {RequestType::kDisconnect, kRequestDisconnect},
    {RequestType::kMessage, kRequestMessage},
    {RequestType::kRecipient, kRequestRecipient},
    {RequestType::kLookup, kRequestLookup},
}};

// The integer attributes of each reply, after status.
std::vector<std::string_view> reply_fields(RequestType type) {
    switch (type) {
    case RequestType::kConnect: return {kAttrCount, kAttrRate};
    case RequestType::kDisconnect: return {};
    case RequestType::kMessage:
    case RequestType::kRecipient: return {kAttrRate};
    case RequestType::kLookup: return {kAttrCount, kAttrRate, kAttrMail, kAttrRcpt};
    }
    return {};
}

std::int64_t* field_of(Reply& r, std::string_view name) {
    if (name == kAttrCount) return &r.count;
    if (name == kAttrRate) return &r.rate;
    if (name == kAttrMail) return &r.mail;
    return &r.rcpt;
}

}  // namespace

std::string_view request_name(RequestType type) {
    for (const auto& n : kNames) {
        if (n.type == type) return n.name;
    }
    return "lookup";
}

std::optional<RequestType> request_type(std::string_view name) {
    for (const auto& n : kNames) {
        if (n.name == name) return n.type;
    }
    return std::nullopt;
}

std::string make_ident(std::string_view service, std::string_view address) {
    std::string out;
    out.reserve(service.size() + 1 + address.size());
    out.append(service).push_back(':');
    out.append(address);
    for (auto& c : out) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    return out;
}

ipc::AttrList encode_request(const Request& request) {
    ipc::AttrList list;
    list.add(std::string(kAttrRequest), std::string(request_name(request.type)));
    list.add(std::string(kAttrIdent), request.ident);
    return list;
}

Result<Request> decode_request(const ipc::AttrList& record, std::string* unknown) {
    static constexpr std::array<ipc::AttrSpec, 2> kSpecs = {{
        {kAttrRequest, ipc::AttrType::kString, true},
        {kAttrIdent, ipc::AttrType::kString, true},
    }};
    if (Status st = ipc::require_attrs(record, kSpecs, "anvil request"); !st) return st.error();
    std::string name = std::get<std::string>(record.find(kAttrRequest)->value);
    Request r;
    r.ident = std::get<std::string>(record.find(kAttrIdent)->value);
    if (r.ident.empty() || r.ident.size() > kMaxIdentLength)
        return make_error("anvil request: bad ident length " + std::to_string(r.ident.size()));
    auto type = request_type(name);
    if (!type) {
        if (unknown) *unknown = name;
        return make_error("unrecognized request: \"" + log::log_printable(name) + "\"");
    }
    r.type = *type;
    return r;
}

ipc::AttrList encode_reply(RequestType type, const Reply& reply) {
    ipc::AttrList list;
    list.add_int(std::string(kAttrStatus), reply.status);
    Reply copy = reply;
    for (auto name : reply_fields(type)) list.add_int(std::string(name), *field_of(copy, name));
    return list;
}

Result<Reply> decode_reply(RequestType type, const ipc::AttrList& record) {
    std::vector<ipc::AttrSpec> specs;
    specs.push_back({kAttrStatus, ipc::AttrType::kInteger, true});
    auto status = ipc::get_int(record, kAttrStatus);
    if (!status) return status.error();
    bool ok = *status == kStatusOk;
    for (auto name : reply_fields(type)) specs.push_back({name, ipc::AttrType::kInteger, ok});
    if (Status st = ipc::require_attrs(record, specs, "anvil reply"); !st) return st.error();
    Reply r;
    r.status = *status;
    for (auto name : reply_fields(type)) {
        if (const ipc::Attr* a = record.find(name)) *field_of(r, name) = std::get<std::int64_t>(a->value);
    }
    return r;
}

}  // namespace mailroom::anvil
