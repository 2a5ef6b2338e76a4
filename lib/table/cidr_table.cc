// cidr_table.cc - cidr: rules over IPv4/IPv6 network blocks.
//
// Description
//   See cidr_table.h. Matching compares the first `prefix` bits of the key
//   with the block's network address; the families must agree.
#include "lib/table/cidr_table.h"

#include <arpa/inet.h>

#include <cstring>

#include "lib/log/log.h"
#include "lib/table/backends.h"
#include "lib/table/rule_list.h"
#include "lib/table/table_text.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::table {

using util::format;

std::optional<IpAddress> parse_ip_address(std::string_view text) {
    std::string s(util::trim(text));
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
    if (s.empty() || s.size() > 64) return std::nullopt;
    IpAddress a;
    if (s.find(':') != std::string::npos) {
        if (::inet_pton(AF_INET6, s.c_str(), a.bytes) != 1) return std::nullopt;
        a.family = AF_INET6;
    } else {
        if (::inet_pton(AF_INET, s.c_str(), a.bytes) != 1) return std::nullopt;
        a.family = AF_INET;
    }
    return a;
}

namespace {

struct CidrMatcher {
    IpAddress net;
    int prefix = 0;

    bool applies(std::string_view key) const {
        std::optional<IpAddress> a = parse_ip_address(key);
        return a && a->family == net.family;
    }

    bool match(std::string_view key, detail::Captures*) const {
        std::optional<IpAddress> a = parse_ip_address(key);
        if (!a || a->family != net.family) return false;
        int bits = prefix;
        for (size_t i = 0; bits > 0; ++i, bits -= 8) {
            unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
            if ((a->bytes[i] & mask) != net.bytes[i]) return false;
        }
        return true;
    }
};

std::string format_ip(const IpAddress& a) {
    char buf[INET6_ADDRSTRLEN];
    ::inet_ntop(a.family, a.bytes, buf, sizeof(buf));
    return buf;
}

// Parses "addr[/prefix]". On failure returns nullopt with the reason.
std::optional<CidrMatcher> parse_block(std::string_view pattern, std::string* error) {
    std::string_view addr = pattern;
    std::string_view len;
    size_t slash = pattern.find('/');
    if (slash != std::string_view::npos) {
        addr = pattern.substr(0, slash);
        len = pattern.substr(slash + 1);
    }
    std::optional<IpAddress> a = parse_ip_address(addr);
    if (!a) {
        *error = format("bad net/mask pattern: \"%.*s\"", int(pattern.size()), pattern.data());
        return std::nullopt;
    }
    int max = a->family == AF_INET ? 32 : 128;
    int prefix = max;
    if (slash != std::string_view::npos) {
        if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string_view::npos ||
            (prefix = std::atoi(std::string(len).c_str())) > max) {
            *error = format("bad net/mask pattern: \"%.*s\"", int(pattern.size()), pattern.data());
            return std::nullopt;
        }
    }
    IpAddress masked = *a;
    int bits = prefix;
    for (size_t i = 0; i < a->size(); ++i, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<unsigned char>(0xff << (8 - bits));
        masked.bytes[i] &= mask;
    }
    if (std::memcmp(masked.bytes, a->bytes, a->size()) != 0) {
        *error = format("non-null host address bits in \"%.*s\", perhaps you should use \"%s/%d\" instead",
                        int(pattern.size()), pattern.data(), format_ip(masked).c_str(), prefix);
        return std::nullopt;
    }
    return CidrMatcher{masked, prefix};
}

class CidrTable : public Table {
public:
    CidrTable(std::string name, detail::RuleList<CidrMatcher> rules, std::string stamp_path)
        : Table("cidr", std::move(name)), rules_(std::move(rules)), stamp_(std::move(stamp_path)) {}

    LookupResult lookup(std::string_view key) override {
        if (!parse_ip_address(key)) return std::optional<std::string>();
        detail::Captures caps;
        const auto* r = rules_.first(key, &caps);
        if (r == nullptr) return std::optional<std::string>();
        return std::optional<std::string>(r->result);
    }
    bool changed() const override { return stamp_.changed(); }
    bool is_pattern() const override { return true; }

private:
    detail::RuleList<CidrMatcher> rules_;
    FileStamp stamp_;
};

}  // namespace

namespace {

Result<TablePtr> build_cidr(std::string_view text, const std::string& filename, std::vector<std::string>* warnings,
                            std::string stamp_path) {
    std::vector<std::string> local;
    if (warnings == nullptr) warnings = &local;
    detail::RuleList<CidrMatcher> rules;
    auto warn = [&](int line, const std::string& msg) {
        warnings->push_back(format("%s, line %d: %s", filename.c_str(), line, msg.c_str()));
    };
    for (const TextLine& l : split_table_lines(text, filename, warnings)) {
        std::string_view rest;
        detail::RuleKeyword kw = detail::rule_keyword(l.text, &rest);
        if (kw == detail::RuleKeyword::kEndif) {
            if (!rest.empty()) warn(l.line, "ignoring extra text after ENDIF");
            if (!rules.add_endif(l.line)) warn(l.line, "ignoring ENDIF without matching IF");
            continue;
        }
        bool negate = false;
        if (!rest.empty() && rest[0] == '!') {
            negate = true;
            rest = util::trim(rest.substr(1));
        }
        size_t end = 0;
        while (end < rest.size() && !util::is_space(rest[end])) ++end;
        std::string_view pattern = rest.substr(0, end);
        std::string_view result = util::trim(rest.substr(end));
        std::string err;
        std::optional<CidrMatcher> m = parse_block(pattern, &err);
        if (!m) {
            warn(l.line, err);
            continue;
        }
        if (kw == detail::RuleKeyword::kIf) {
            if (!result.empty()) warn(l.line, "ignoring extra text after IF");
            rules.add_if(*m, negate, l.line);
            continue;
        }
        if (result.empty()) {
            warn(l.line, format("no lookup result for \"%.*s\"", int(pattern.size()), pattern.data()));
            continue;
        }
        rules.add_match(*m, negate, std::string(result), l.line);
    }
    for (int line : rules.close()) warn(line, "IF has no matching ENDIF");
    return TablePtr(std::make_unique<CidrTable>(filename, std::move(rules), std::move(stamp_path)));
}

}  // namespace

Result<TablePtr> open_cidr_text(std::string_view text, const std::string& filename,
                                std::vector<std::string>* warnings) {
    return build_cidr(text, filename, warnings, "");
}

namespace detail {

Result<TablePtr> open_cidr(const std::string& name, const OpenOptions&) {
    if (name.empty()) return make_error("cidr: missing file name");
    Result<std::string> text = util::read_file(name);
    if (!text) return text.error();
    std::vector<std::string> warnings;
    Result<TablePtr> t = build_cidr(*text, name, &warnings, name);
    for (const std::string& w : warnings) log::warn("cidr map %s", w.c_str());
    return t;
}

}  // namespace detail
}  // namespace mailroom::table
