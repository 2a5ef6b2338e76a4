// folder_index.cc - see folder_index.h.
#include "lib/access/folder_index.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "lib/util/strings.h"

namespace mailroom::access {
namespace {

template <class T>
bool parse_num(std::string_view s, T* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
}

bool parse_stamp(std::string_view s, DirStamp* out) {
    const auto dot = s.find('.');
    if (dot == std::string_view::npos) return false;
    return parse_num(s.substr(0, dot), &out->sec) && parse_num(s.substr(dot + 1), &out->nsec);
}

// Next field up to a space; advances `s` past it.
std::string_view next_field(std::string_view* s) {
    const auto sp = s->find(' ');
    std::string_view f = s->substr(0, sp);
    *s = sp == std::string_view::npos ? std::string_view() : s->substr(sp + 1);
    return f;
}

void put_u32(std::string* out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

std::uint32_t fold32(std::uint64_t h) { return static_cast<std::uint32_t>(h ^ (h >> 32)); }

// "<uid> <modseq> <size> <rfc822 size> <date> <n|c> <file name>", no newline.
void append_record(std::string* out, const IndexRecord& r) {
    char buf[128];
    int n = std::snprintf(buf, sizeof buf, "%u %llu %llu %llu %lld %c ", r.uid, static_cast<unsigned long long>(r.modseq),
                          static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.rfc822_size),
                          static_cast<long long>(r.internal_date), r.in_new ? 'n' : 'c');
    out->append(buf, static_cast<std::size_t>(n));
    out->append(r.filename);
}

bool parse_record(std::string_view line, IndexRecord* r) {
    std::string_view rest = line;
    if (!parse_num(next_field(&rest), &r->uid) || !parse_num(next_field(&rest), &r->modseq) ||
        !parse_num(next_field(&rest), &r->size) || !parse_num(next_field(&rest), &r->rfc822_size) ||
        !parse_num(next_field(&rest), &r->internal_date))
        return false;
    std::string_view where = next_field(&rest);
    if ((where != "n" && where != "c") || rest.empty()) return false;
    r->in_new = where == "n";
    r->filename = std::string(rest);
    return true;
}

std::string header_fields(const FolderIndex& x) {
    return util::format("V%u N%u M%llu R%u F%llu D%lld.%lld C%lld.%lld K%d O%lld", x.uid_validity, x.uid_next,
                        static_cast<unsigned long long>(x.highest_modseq), x.first_recent_uid,
                        static_cast<unsigned long long>(x.vanished_floor), static_cast<long long>(x.new_stamp.sec),
                        static_cast<long long>(x.new_stamp.nsec), static_cast<long long>(x.cur_stamp.sec),
                        static_cast<long long>(x.cur_stamp.nsec), x.scan_clean ? 1 : 0, static_cast<long long>(x.own_since));
}

bool parse_header_fields(std::string_view header, FolderIndex* x) {
    while (!header.empty()) {
        std::string_view f = next_field(&header);
        if (f.empty()) return false;
        std::string_view v = f.substr(1);
        bool ok = false;
        switch (f[0]) {
            case 'V': ok = parse_num(v, &x->uid_validity); break;
            case 'N': ok = parse_num(v, &x->uid_next); break;
            case 'M': ok = parse_num(v, &x->highest_modseq); break;
            case 'R': ok = parse_num(v, &x->first_recent_uid); break;
            case 'F': ok = parse_num(v, &x->vanished_floor); break;
            case 'D': ok = parse_stamp(v, &x->new_stamp); break;
            case 'C': ok = parse_stamp(v, &x->cur_stamp); break;
            case 'K': ok = v == "0" || v == "1"; x->scan_clean = v == "1"; break;
            case 'O': ok = parse_num(v, &x->own_since); break;
            default: ok = true;  // a later version's field
        }
        if (!ok) return false;
    }
    return true;
}

std::string log_line(std::string_view payload) {
    std::string out = util::format("L %016llx ", static_cast<unsigned long long>(fnv1a64(payload)));
    out.append(payload);
    out += '\n';
    return out;
}

// One log entry applied; false when it makes no sense (the log ends there).
// Expunged records are only noted in `dropped` (UIDs are never reused, so
// no later entry names them again) and removed in one pass at the end.
bool apply_log_entry(std::string_view payload, FolderIndex* x, std::vector<std::uint32_t>* dropped) {
    if (payload.size() < 2 || payload[1] != ' ') return false;
    std::string_view rest = payload.substr(2);
    switch (payload[0]) {
        case 'S': {
            IndexRecord r;
            if (!parse_record(rest, &r) || r.uid == 0) return false;
            if (r.uid >= x->uid_next) x->uid_next = r.uid + 1;  // the header entry follows
            auto it = std::lower_bound(x->records.begin(), x->records.end(), r.uid,
                                       [](const IndexRecord& a, std::uint32_t u) { return a.uid < u; });
            if (it != x->records.end() && it->uid == r.uid) {
                *it = std::move(r);
            } else {
                x->records.insert(it, std::move(r));
            }
            return true;
        }
        case 'X': {
            std::uint32_t uid = 0;
            std::uint64_t modseq = 0;
            if (!parse_num(next_field(&rest), &uid) || !parse_num(next_field(&rest), &modseq) || !rest.empty())
                return false;
            dropped->push_back(uid);
            remember_vanished(x, uid, modseq);
            return true;
        }
        case 'H': {
            FolderIndex parsed;
            if (!parse_header_fields(rest, &parsed) || parsed.uid_validity != x->uid_validity) return false;
            if (!x->records.empty() && parsed.uid_next <= x->records.back().uid) return false;
            parsed.records = std::move(x->records);
            parsed.vanished = std::move(x->vanished);
            *x = std::move(parsed);
            return true;
        }
        default:
            return false;
    }
}

}  // namespace

std::uint64_t fnv1a64(std::string_view data, std::uint64_t h) {
    for (unsigned char c : data) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::string format_folder_index(const FolderIndex& x) {
    std::string out;
    out.reserve(64 + x.records.size() * 96);
    out += "MRIDX 1 ";
    out += header_fields(x);
    out += '\n';
    char buf[128];
    for (const auto& r : x.records) {
        append_record(&out, r);
        out += '\n';
    }
    for (const auto& [uid, modseq] : x.vanished) {
        int n = std::snprintf(buf, sizeof buf, "X %u %llu\n", uid, static_cast<unsigned long long>(modseq));
        out.append(buf, static_cast<std::size_t>(n));
    }
    out += util::format("E %016llx\n", static_cast<unsigned long long>(fnv1a64(out)));
    return out;
}

Result<FolderIndex> parse_folder_index(std::string_view text, std::size_t* valid_end) {
    // The end line first: without it the file is not whole. It is the
    // first line starting "E " (no other line of the base does).
    std::size_t last_start = text.starts_with("E ") ? 0 : text.find("\nE ");
    if (last_start == std::string_view::npos) return make_error("index: truncated");
    if (last_start != 0) ++last_start;
    if (text.size() < last_start + 19 || text[last_start + 18] != '\n') return make_error("index: truncated");
    std::string_view last = text.substr(last_start, 18);
    std::string_view body = text.substr(0, last_start);
    if (body.size() < 20) return make_error("index: truncated");
    std::uint64_t want = 0;
    {
        auto [p, ec] = std::from_chars(last.data() + 2, last.data() + last.size(), want, 16);
        if (ec != std::errc() || p != last.data() + last.size()) return make_error("index: bad end line");
    }
    if (fnv1a64(body) != want) return make_error("index: checksum mismatch");

    FolderIndex x;
    std::size_t pos = body.find('\n');
    std::string_view header = body.substr(0, pos);
    ++pos;
    if (next_field(&header) != "MRIDX" || next_field(&header) != "1") return make_error("index: bad header");
    if (!parse_header_fields(header, &x)) return make_error("index: bad header field");
    if (x.uid_validity == 0) return make_error("index: no UIDVALIDITY");
    std::uint32_t last_uid = 0;
    while (pos < body.size()) {
        const auto end = body.find('\n', pos);
        std::string_view line = body.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line[0] == 'X') {
            std::string_view rest = line.substr(std::min<std::size_t>(2, line.size()));
            std::uint32_t uid = 0;
            std::uint64_t modseq = 0;
            if (!parse_num(next_field(&rest), &uid) || !parse_num(next_field(&rest), &modseq) || !rest.empty())
                return make_error("index: bad expunge line");
            x.vanished.emplace_back(uid, modseq);
            continue;
        }
        IndexRecord r;
        if (!parse_record(line, &r) || r.uid <= last_uid) return make_error("index: bad record");
        last_uid = r.uid;
        x.records.push_back(std::move(r));
    }
    if (x.uid_next <= last_uid) return make_error("index: UIDNEXT below a UID");
    const std::size_t base_end = last_start + 19;
    const std::size_t applied = apply_index_log(text.substr(base_end), &x);
    if (valid_end != nullptr) *valid_end = base_end + applied;
    return x;
}

std::size_t apply_index_log(std::string_view log, FolderIndex* index) {
    std::size_t pos = 0;
    std::vector<std::uint32_t> dropped;
    while (pos < log.size()) {
        const auto nl = log.find('\n', pos);
        if (nl == std::string_view::npos) break;
        std::string_view line = log.substr(pos, nl - pos);
        if (line.size() < 21 || line.substr(0, 2) != "L " || line[18] != ' ') break;
        std::uint64_t want = 0;
        auto [p, ec] = std::from_chars(line.data() + 2, line.data() + 18, want, 16);
        if (ec != std::errc() || p != line.data() + 18) break;
        std::string_view payload = line.substr(19);
        if (fnv1a64(payload) != want || !apply_log_entry(payload, index, &dropped)) break;
        pos = nl + 1;
    }
    if (!dropped.empty()) {
        std::sort(dropped.begin(), dropped.end());
        std::erase_if(index->records, [&](const IndexRecord& r) {
            return std::binary_search(dropped.begin(), dropped.end(), r.uid);
        });
    }
    return pos;
}

std::string format_index_log_header(const FolderIndex& index) { return log_line("H " + header_fields(index)); }

std::string format_index_log_record(const IndexRecord& record) {
    std::string payload = "S ";
    append_record(&payload, record);
    return log_line(payload);
}

std::string format_index_log_expunge(std::uint32_t uid, std::uint64_t modseq) {
    return log_line(util::format("X %u %llu", uid, static_cast<unsigned long long>(modseq)));
}

void remember_vanished(FolderIndex* index, std::uint32_t uid, std::uint64_t modseq) {
    index->vanished.emplace_back(uid, modseq);
    if (index->vanished.size() > kVanishedKept) {
        const std::size_t drop = index->vanished.size() - kVanishedKept;
        index->vanished_floor = index->vanished[drop - 1].second;
        index->vanished.erase(index->vanished.begin(), index->vanished.begin() + static_cast<std::ptrdiff_t>(drop));
    }
}

std::string format_cache_header(std::uint32_t uid_validity) {
    return util::format("MRCACHE 1 V%u\n", uid_validity);
}

std::string format_cache_record(std::uint32_t uid, std::uint8_t field, std::string_view value) {
    std::string out;
    out.reserve(14 + value.size());
    out += 'C';
    put_u32(&out, uid);
    out += static_cast<char>(field);
    put_u32(&out, static_cast<std::uint32_t>(value.size()));
    out += value;
    put_u32(&out, fold32(fnv1a64(out)));
    return out;
}

std::size_t parse_cache(std::string_view text, std::uint32_t uid_validity, CacheMap* out) {
    const std::string header = format_cache_header(uid_validity);
    if (text.substr(0, header.size()) != header) return 0;
    return header.size() + parse_cache_records(text.substr(header.size()), out);
}

std::size_t parse_cache_records(std::string_view text, CacheMap* out) {
    std::size_t pos = 0;
    while (text.size() - pos >= 14) {
        const char* p = text.data() + pos;
        if (p[0] != 'C') break;
        const std::uint32_t len = get_u32(p + 6);
        if (text.size() - pos - 14 < len) break;
        const std::string_view rec = text.substr(pos, 10 + len);
        if (get_u32(p + 10 + len) != fold32(fnv1a64(rec))) break;
        (*out)[{get_u32(p + 1), static_cast<std::uint8_t>(p[5])}] = std::string(rec.substr(10));
        pos += 14 + len;
    }
    return pos;
}

std::vector<std::string> parse_keywords(std::string_view text) {
    std::vector<std::string> names;
    for (const auto& line : util::split(text, "\n")) {
        std::string_view l = line;
        const auto sp = l.find(' ');
        std::size_t idx = 0;
        if (sp == std::string_view::npos || !parse_num(l.substr(0, sp), &idx) || idx >= 26) continue;
        if (names.size() <= idx) names.resize(idx + 1);
        names[idx] = std::string(l.substr(sp + 1));
    }
    return names;
}

std::string format_keywords(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (!names[i].empty()) out += std::to_string(i) + " " + names[i] + "\n";
    return out;
}

}  // namespace mailroom::access
