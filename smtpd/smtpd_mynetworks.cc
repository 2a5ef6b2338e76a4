// smtpd_mynetworks.cc - see smtpd_mynetworks.h.
#include "smtpd/smtpd_mynetworks.h"

#include <arpa/inet.h>

#include <cstring>

#include "lib/util/fs.h"
#include "lib/util/strings.h"

namespace mailroom::smtpd {
namespace {

// Parses an address (brackets allowed) into family + bytes; IPv4-mapped
// IPv6 addresses become IPv4.
bool parse_addr(std::string_view text, int* family, unsigned char* bytes) {
    std::string a(text);
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
        *family = AF_INET;
        std::memcpy(bytes, &v4, 4);
        return true;
    }
    if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
        static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(v6.s6_addr, kMapped, 12) == 0) {
            *family = AF_INET;
            std::memcpy(bytes, v6.s6_addr + 12, 4);
            return true;
        }
        *family = AF_INET6;
        std::memcpy(bytes, v6.s6_addr, 16);
        return true;
    }
    return false;
}

bool prefix_equal(const unsigned char* a, const unsigned char* b, int bits) {
    int full = bits / 8, rest = bits % 8;
    if (std::memcmp(a, b, full) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

Status Mynetworks::add(std::string_view item, const TableOpener& opener, int depth) {
    if (depth > 10) return make_error("mynetworks: too many levels of file inclusion");
    Entry e;
    if (!item.empty() && item.front() == '!') {
        e.negate = true;
        item.remove_prefix(1);
    }
    if (item.empty()) return make_error("mynetworks: empty element");
    if (item.front() == '/') {
        Result<std::string> text = util::read_file(std::string(item));
        if (!text) return text.error();
        for (const auto& sub : util::split_list(*text)) {
            if (Status st = add(sub, opener, depth + 1); !st) return st;
        }
        return ok_status();
    }
    std::string s(item);
    size_t slash = s.find('/');
    bool looks_like_table = s.find(':') != std::string::npos && s.front() != '[' &&
                            !parse_addr(s.substr(0, slash), &e.family, e.bytes);
    if (looks_like_table) {
        Result<table::TablePtr> t = opener ? opener(s) : table::open_table(s);
        if (!t) return t.error();
        e.kind = Entry::Kind::kTable;
        e.table = std::shared_ptr<table::Table>(std::move(*t));
        entries_.push_back(std::move(e));
        return ok_status();
    }
    std::string addr = slash == std::string::npos ? s : s.substr(0, slash);
    if (parse_addr(addr, &e.family, e.bytes)) {
        int max = e.family == AF_INET ? 32 : 128;
        // An IPv4-mapped block "[::ffff:a.b.c.d]/104" counts IPv4 bits.
        bool mapped = addr.find(':') != std::string::npos && e.family == AF_INET;
        if (slash == std::string::npos) {
            e.prefix = max;
        } else {
            std::string len = s.substr(slash + 1);
            if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos) {
                return make_error("bad net/mask pattern: \"" + s + "\"");
            }
            e.prefix = std::stoi(len);
            if (mapped) e.prefix -= 96;
            if (e.prefix < 0 || e.prefix > max) return make_error("bad net/mask pattern: \"" + s + "\"");
        }
        unsigned char masked[16];
        std::memcpy(masked, e.bytes, 16);
        int nbytes = e.family == AF_INET ? 4 : 16;
        for (int bit = e.prefix; bit < nbytes * 8; ++bit) {
            masked[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
        }
        if (std::memcmp(masked, e.bytes, nbytes) != 0) {
            char buf[INET6_ADDRSTRLEN];
            inet_ntop(e.family, masked, buf, sizeof(buf));
            std::string fixed = e.family == AF_INET6 ? "[" + std::string(buf) + "]" : std::string(buf);
            return make_error("non-null host address bits in \"" + s + "\", perhaps you should use \"" + fixed +
                              "/" + std::to_string(e.prefix) + "\" instead");
        }
        e.kind = Entry::Kind::kNet;
        entries_.push_back(std::move(e));
        return ok_status();
    }
    if (slash != std::string::npos || s.front() == '[') return make_error("bad net/mask pattern: \"" + s + "\"");
    e.kind = Entry::Kind::kName;
    e.name = util::lowercase(s);
    entries_.push_back(std::move(e));
    return ok_status();
}

Result<Mynetworks> Mynetworks::parse(const std::vector<std::string>& items, TableOpener opener) {
    Mynetworks m;
    for (const auto& item : items) {
        if (Status st = m.add(item, opener, 0); !st) return st.error();
    }
    return m;
}

Result<Mynetworks> Mynetworks::from_config(const config::Config& config, TableOpener opener) {
    Result<std::string> v = config.get("mynetworks");
    if (!v) return v.error();
    Result<Mynetworks> m = parse(util::split_list(*v), std::move(opener));
    if (!m) return make_error("mynetworks: " + m.error().message);
    return m;
}

Result<bool> Mynetworks::match(std::string_view client_name, std::string_view client_addr) const {
    int family = 0;
    unsigned char bytes[16] = {};
    bool have_addr = parse_addr(client_addr, &family, bytes);
    std::string name = util::lowercase(client_name);
    for (const Entry& e : entries_) {
        bool hit = false;
        switch (e.kind) {
        case Entry::Kind::kNet:
            hit = have_addr && e.family == family && prefix_equal(e.bytes, bytes, e.prefix);
            break;
        case Entry::Kind::kName: {
            std::string_view pat = e.name;
            if (!pat.empty() && pat.front() == '.') pat.remove_prefix(1);
            hit = name == pat ||
                  (name.size() > pat.size() && name.compare(name.size() - pat.size(), pat.size(), pat) == 0 &&
                   name[name.size() - pat.size() - 1] == '.');
            break;
        }
        case Entry::Kind::kTable: {
            table::LookupResult r = e.table->lookup(client_addr);
            if (!r) return r.error();
            hit = r->has_value();
            if (!hit && !name.empty() && name != "unknown") {
                table::LookupResult n = e.table->lookup(name);
                if (!n) return n.error();
                hit = n->has_value();
            }
            break;
        }
        }
        if (hit) return !e.negate;
    }
    return false;
}

}  // namespace mailroom::smtpd
