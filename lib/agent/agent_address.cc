// agent_address.cc - see agent_address.h.
#include "lib/agent/agent_address.h"

#include <cctype>

#include "lib/util/strings.h"

namespace mailroom::agent {

AddressParts split_address(std::string_view address) {
    size_t at = address.rfind('@');
    if (at == std::string_view::npos) return {std::string(address), ""};
    return {std::string(address.substr(0, at)), std::string(address.substr(at + 1))};
}

ExtensionParts split_extension(std::string_view local, std::string_view delimiters) {
    ExtensionParts parts{std::string(local), "", 0};
    if (delimiters.empty()) return parts;
    size_t pos = local.find_first_of(delimiters);
    // "owner-list" and "list-request" are names in their own right.
    while (pos != std::string_view::npos && local[pos] == '-') {
        bool owner = util::starts_with_icase(local, "owner-") && pos == 5;
        bool request = local.size() >= 8 && pos == local.size() - 8 && util::iequals(local.substr(pos), "-request");
        if (!owner && !request) break;
        pos = local.find_first_of(delimiters, pos + 1);
    }
    if (pos == std::string_view::npos || pos == 0) return parts;
    parts.user = std::string(local.substr(0, pos));
    parts.extension = std::string(local.substr(pos + 1));
    parts.delimiter = local[pos];
    return parts;
}

namespace {

bool is_atext(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') return false;
            continue;
        }
        if (!is_atext(s[i])) return false;
    }
    return true;
}

}  // namespace

std::string quote_local_part(std::string_view local) {
    if (is_dot_atom(local)) return std::string(local);
    std::string out = "\"";
    for (char c : local) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

}  // namespace mailroom::agent
