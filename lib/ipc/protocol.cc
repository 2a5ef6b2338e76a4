// protocol.cc - see protocol.h.
#include "lib/ipc/protocol.h"

#include <array>

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::ipc {

AttrList make_announcement(std::string_view protocol, std::int64_t version) {
    AttrList list;
    list.add(std::string(kAttrProtocol), std::string(protocol));
    list.add_int(std::string(kAttrVersion), version);
    return list;
}

Status check_announcement(const AttrList& record, std::string_view expected_protocol,
                          std::int64_t expected_version) {
    static constexpr std::array<AttrSpec, 2> kSpecs = {{
        {kAttrProtocol, AttrType::kString, true},
        {kAttrVersion, AttrType::kInteger, true},
    }};
    std::string expected(expected_protocol);
    if (Status st = require_attrs(record, kSpecs, "protocol announcement"); !st) {
        return make_error(util::format("expected %s announcement: %s", expected.c_str(), st.error().message.c_str()));
    }
    std::string got = std::get<std::string>(record.find(kAttrProtocol)->value);
    if (got != expected_protocol) {
        return make_error(util::format("protocol mismatch: expected %s, peer announced %s", expected.c_str(),
                                       log::log_printable(got).c_str()));
    }
    std::int64_t version = std::get<std::int64_t>(record.find(kAttrVersion)->value);
    if (version != expected_version) {
        return make_error(util::format("%s version mismatch: expected %lld, peer announced %lld", expected.c_str(),
                                       static_cast<long long>(expected_version), static_cast<long long>(version)));
    }
    return ok_status();
}

}  // namespace mailroom::ipc
