// agent_headers.cc - see agent_headers.h.
#include "lib/agent/agent_headers.h"

#include "lib/mailbox/mbox.h"
#include "lib/util/strings.h"

namespace mailroom::agent {

std::string delivery_prefix(std::string_view sender, std::string_view original, std::string_view recipient,
                            const PrefixFlags& flags, time_t when) {
    std::string out;
    if (flags.from_line) out += mailbox::format_from_line(sender.empty() ? "MAILER-DAEMON" : sender, when);
    if (flags.return_path) out += "Return-Path: <" + std::string(sender) + ">\n";
    if (flags.original_to) out += "X-Original-To: " + std::string(original.empty() ? recipient : original) + "\n";
    if (flags.delivered_to) out += "Delivered-To: " + std::string(recipient) + "\n";
    return out;
}

namespace {

// Calls fn(name, value) for every unfolded header of the primary block.
template <class Fn>
bool for_each_header(std::string_view text, Fn fn) {
    std::string name, value;
    bool have = false;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;  // end of the primary header
        if ((line[0] == ' ' || line[0] == '\t') && have) {
            value += line;
            continue;
        }
        if (have && fn(name, value)) return true;
        have = false;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) break;  // not a header: the body started
        name = std::string(util::trim(line.substr(0, colon)));
        value = std::string(line.substr(colon + 1));
        have = true;
    }
    return have && fn(name, value);
}

}  // namespace

bool delivered_to_loop(std::string_view message_head, std::string_view address) {
    std::string want = util::lowercase(util::trim(address));
    return for_each_header(message_head, [&](const std::string& name, const std::string& value) {
        return util::iequals(name, "Delivered-To") && util::lowercase(util::trim(value)) == want;
    });
}

}  // namespace mailroom::agent
