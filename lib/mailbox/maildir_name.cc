// maildir_name.cc - see maildir_name.h.
#include "lib/mailbox/maildir_name.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace mailroom::mailbox {

namespace {

bool is_ascii_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Finds ",<key>=<digits>" in the base part of `filename`.
std::optional<uint64_t> find_size_field(std::string_view filename, char key) {
    std::string_view base = filename.substr(0, filename.find(':'));
    const char tag[3] = {',', key, '='};
    size_t pos = 0;
    while ((pos = base.find(std::string_view(tag, 3), pos)) != std::string_view::npos) {
        size_t i = pos + 3;
        uint64_t value = 0;
        size_t digits = 0;
        while (i < base.size() && base[i] >= '0' && base[i] <= '9') {
            uint64_t d = static_cast<uint64_t>(base[i] - '0');
            if (value > (UINT64_MAX - d) / 10) return std::nullopt;  // overflow
            value = value * 10 + d;
            ++i;
            ++digits;
        }
        if (digits > 0 && (i == base.size() || base[i] == ',')) return value;
        pos += 3;
    }
    return std::nullopt;
}

}  // namespace

std::string escape_maildir_host(std::string_view host) {
    std::string out;
    out.reserve(host.size());
    for (char c : host) {
        if (c == '/') {
            out.append("\\057");
        } else if (c == ':') {
            out.append("\\072");
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string make_maildir_base(const UniqueNameParts& parts) {
    char head[96];
    std::snprintf(head, sizeof(head), "%" PRId64 ".M%06ldP%ldQ%" PRIu64 ".", parts.seconds, parts.usec, parts.pid,
                  parts.counter);
    std::string out(head);
    out.append(escape_maildir_host(parts.host));
    return out;
}

std::string add_maildir_sizes(std::string_view base, uint64_t size, std::optional<uint64_t> vsize) {
    std::string out(base);
    out.append(",S=");
    out.append(std::to_string(size));
    if (vsize) {
        out.append(",W=");
        out.append(std::to_string(*vsize));
    }
    return out;
}

MaildirName parse_maildir_name(std::string_view filename) {
    MaildirName name;
    size_t colon = filename.find(':');
    name.base = std::string(filename.substr(0, colon));
    if (colon == std::string_view::npos) return name;
    name.has_info = true;
    name.info = std::string(filename.substr(colon + 1));
    if (name.info.size() >= 2 && name.info[0] == '2' && name.info[1] == ',') {
        name.flags = normalize_maildir_flags(std::string_view(name.info).substr(2));
    }
    return name;
}

std::string normalize_maildir_flags(std::string_view flags) {
    std::string out;
    for (char c : flags) {
        if (is_ascii_letter(c)) out.push_back(c);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string format_maildir_name(std::string_view base, std::string_view flags) {
    std::string out(base);
    out.append(":2,");
    out.append(normalize_maildir_flags(flags));
    return out;
}

bool maildir_has_flag(std::string_view flags, char flag) { return flags.find(flag) != std::string_view::npos; }

std::optional<uint64_t> maildir_name_size(std::string_view filename) { return find_size_field(filename, 'S'); }

std::optional<uint64_t> maildir_name_vsize(std::string_view filename) { return find_size_field(filename, 'W'); }

}  // namespace mailroom::mailbox
