// sort_thread.cc - see sort_thread.h.
#include "lib/imap/sort_thread.h"

#include <algorithm>
#include <unordered_map>

#include "lib/imap/decode.h"
#include "lib/imap/fetch_structure.h"
#include "lib/imap/imap_date.h"
#include "lib/imap/message_part.h"
#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

bool istarts(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && util::iequals(s.substr(0, prefix.size()), prefix);
}

// subj-blob: "[" *BLOBCHAR "]" *WSP; the length matched or 0.
std::size_t blob_length(std::string_view s) {
    if (s.empty() || s[0] != '[') return 0;
    std::size_t i = 1;
    while (i < s.size() && s[i] != '[' && s[i] != ']') ++i;
    if (i >= s.size() || s[i] != ']') return 0;
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i;
}

// subj-refwd: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"; the length or 0.
std::size_t refwd_length(std::string_view s) {
    std::size_t i = 0;
    if (istarts(s, "re")) i = 2;
    else if (istarts(s, "fwd")) i = 3;
    else if (istarts(s, "fw")) i = 2;
    else return 0;
    while (i < s.size() && s[i] == ' ') ++i;
    i += blob_length(s.substr(i));
    if (i < s.size() && s[i] == ':') return i + 1;
    return 0;
}

// subj-leader: (*subj-blob subj-refwd) / WSP; the length or 0.
std::size_t leader_length(std::string_view s) {
    if (!s.empty() && s[0] == ' ') return 1;
    std::size_t i = 0;
    for (;;) {
        std::size_t r = refwd_length(s.substr(i));
        if (r > 0) return i + r;
        std::size_t b = blob_length(s.substr(i));
        if (b == 0) return 0;
        i += b;
    }
}

// The first address of an address header; a group's start counts, with
// the group name as its mailbox (as Dovecot sorts it).
std::optional<Address> first_address(std::string_view header, std::string_view name) {
    std::optional<std::string> v = header_value(header, name);
    if (!v) return std::nullopt;
    std::vector<Address> list = parse_address_list(*v);
    if (list.empty()) return std::nullopt;
    return std::move(list[0]);
}

std::string mailbox_key(std::string_view header, std::string_view name) {
    auto a = first_address(header, name);
    if (!a || !a->mailbox || *a->mailbox == "MISSING_MAILBOX") return std::string();
    return fold_case(repair_utf8(*a->mailbox));
}

std::string display_key(std::string_view header, std::string_view name) {
    auto a = first_address(header, name);
    if (!a) return std::string();
    if (a->name) {
        std::string n = decode_header_value(*a->name);
        if (!util::trim(n).empty()) return fold_case(n);
    }
    std::string spec = a->mailbox.value_or("");
    if (a->host && *a->host != "MISSING_DOMAIN") spec += "@" + *a->host;
    return fold_case(repair_utf8(spec));
}

// The message ids ("<...>") in a header value, in order.
std::vector<std::string> message_ids(std::string_view v, std::size_t limit) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (out.size() < limit) {
        std::size_t open = v.find('<', i);
        if (open == std::string_view::npos) break;
        std::size_t close = v.find('>', open);
        if (close == std::string_view::npos) break;
        std::string id;
        for (char c : v.substr(open, close - open + 1))
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') id += c;
        if (id.size() > 2 && id.find('@') != std::string::npos) out.push_back(std::move(id));
        i = close + 1;
    }
    return out;
}

int compare_strings(const std::string& a, const std::string& b) { return a.compare(b) < 0 ? -1 : a == b ? 0 : 1; }

template <class T>
int compare_values(const T& a, const T& b) {
    return a < b ? -1 : b < a ? 1 : 0;
}

}  // namespace

BaseSubject base_subject(std::string_view raw) {
    BaseSubject r;
    // (1) Decode, make white space runs one space.
    std::string decoded = decode_header_value(raw);
    std::string s;
    for (char c : decoded) {
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
        if (c == ' ' && !s.empty() && s.back() == ' ') continue;
        s += c;
    }
    for (int guard = 0; guard < 1000; ++guard) {
        // (2) Trailing "(fwd)" and white space.
        for (;;) {
            if (!s.empty() && s.back() == ' ') {
                s.pop_back();
            } else if (s.size() >= 5 && util::iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
                s.resize(s.size() - 5);
                r.is_reply_or_fwd = true;
            } else {
                break;
            }
        }
        // (3), (4), (5): leaders and blobs, until none is left.
        for (bool changed = true; changed;) {
            changed = false;
            for (std::size_t n; (n = leader_length(s)) > 0;) {
                if (s[0] != ' ') r.is_reply_or_fwd = true;
                s.erase(0, n);
                changed = true;
            }
            std::size_t b = blob_length(s);
            if (b > 0 && b < s.size()) {
                s.erase(0, b);
                changed = true;
            }
        }
        // (6) "[fwd: ... ]" unwrapped, then again from (2).
        if (s.size() >= 6 && istarts(s, "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            r.is_reply_or_fwd = true;
            continue;
        }
        break;
    }
    r.subject = fold_case(s);
    return r;
}

SortKeys sort_keys_of(std::string_view message, const MessageMeta& meta) {
    // The header block: everything up to the first empty line.
    std::string_view header = message;
    for (std::size_t pos = 0; pos < message.size();) {
        std::size_t lf = message.find('\n', pos);
        if (lf == std::string_view::npos) break;
        std::string_view line = message.substr(pos, lf - pos);
        if (line.empty() || line == "\r") {
            header = message.substr(0, lf + 1);
            break;
        }
        pos = lf + 1;
    }
    SortKeys k;
    auto date = header_value(header, "Date");
    std::optional<ZonedTime> t = date ? parse_rfc5322_date(*date) : std::nullopt;
    k.sent_date = t ? t->utc : meta.internal_date;
    k.from = mailbox_key(header, "From");
    k.to = mailbox_key(header, "To");
    k.cc = mailbox_key(header, "Cc");
    k.display_from = display_key(header, "From");
    k.display_to = display_key(header, "To");
    k.subject = base_subject(header_value(header, "Subject").value_or(""));
    auto mid = message_ids(header_value(header, "Message-ID").value_or(""), 1);
    if (!mid.empty()) k.message_id = mid[0];
    k.references = message_ids(header_value(header, "References").value_or(""), 1000);
    auto irt = message_ids(header_value(header, "In-Reply-To").value_or(""), 1);
    if (!irt.empty()) k.in_reply_to = irt[0];
    return k;
}

std::optional<std::vector<SortCriterion>> parse_sort_criteria(const SearchArg& list) {
    if (list.kind != SearchArg::Kind::kList || list.list.empty()) return std::nullopt;
    static const struct {
        const char* name;
        SortKey key;
    } kNames[] = {{"ARRIVAL", SortKey::kArrival}, {"CC", SortKey::kCc},          {"DATE", SortKey::kDate},
                  {"FROM", SortKey::kFrom},       {"SIZE", SortKey::kSize},      {"SUBJECT", SortKey::kSubject},
                  {"TO", SortKey::kTo},           {"DISPLAYFROM", SortKey::kDisplayFrom},
                  {"DISPLAYTO", SortKey::kDisplayTo}};
    std::vector<SortCriterion> out;
    bool reverse = false;
    for (const SearchArg& a : list.list) {
        if (a.kind != SearchArg::Kind::kAtom) return std::nullopt;
        if (util::iequals(a.text, "REVERSE")) {
            if (reverse) return std::nullopt;
            reverse = true;
            continue;
        }
        bool found = false;
        for (const auto& n : kNames) {
            if (util::iequals(a.text, n.name)) {
                out.push_back({n.key, reverse});
                found = true;
                break;
            }
        }
        if (!found) return std::nullopt;
        reverse = false;
    }
    if (reverse) return std::nullopt;
    return out;
}

std::vector<std::size_t> sort_messages(const std::vector<SortCriterion>& criteria,
                                       const std::vector<SortItem>& items) {
    std::vector<std::size_t> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto cmp = [&](std::size_t x, std::size_t y) {
        const SortItem& a = items[x];
        const SortItem& b = items[y];
        for (const SortCriterion& c : criteria) {
            int r = 0;
            switch (c.key) {
                case SortKey::kArrival: r = compare_values(a.meta.internal_date, b.meta.internal_date); break;
                case SortKey::kCc: r = compare_strings(a.keys.cc, b.keys.cc); break;
                case SortKey::kDate: r = compare_values(a.keys.sent_date, b.keys.sent_date); break;
                case SortKey::kFrom: r = compare_strings(a.keys.from, b.keys.from); break;
                case SortKey::kSize: r = compare_values(a.meta.size, b.meta.size); break;
                case SortKey::kSubject: r = compare_strings(a.keys.subject.subject, b.keys.subject.subject); break;
                case SortKey::kTo: r = compare_strings(a.keys.to, b.keys.to); break;
                case SortKey::kDisplayFrom: r = compare_strings(a.keys.display_from, b.keys.display_from); break;
                case SortKey::kDisplayTo: r = compare_strings(a.keys.display_to, b.keys.display_to); break;
            }
            if (c.reverse) r = -r;
            if (r != 0) return r < 0;
        }
        return a.meta.seq < b.meta.seq;  // RFC 5256: ties in sequence order
    };
    std::stable_sort(order.begin(), order.end(), cmp);
    return order;
}

std::optional<ThreadAlgorithm> parse_thread_algorithm(std::string_view name) {
    if (util::iequals(name, "ORDEREDSUBJECT")) return ThreadAlgorithm::kOrderedSubject;
    if (util::iequals(name, "REFERENCES")) return ThreadAlgorithm::kReferences;
    return std::nullopt;
}

}  // namespace mailroom::imap
