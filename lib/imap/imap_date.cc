// imap_date.cc - see imap_date.h.
#include "lib/imap/imap_date.h"

#include <string>
#include <vector>

#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};

int month_of(std::string_view name) {
    if (name.size() < 3) return 0;
    std::string m = util::lowercase(name.substr(0, 3));
    for (int i = 0; i < 12; ++i)
        if (m == kMonths[i]) return i + 1;
    return 0;
}

bool parse_uint(std::string_view s, int max_digits, int* out) {
    if (s.empty() || static_cast<int>(s.size()) > max_digits) return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

unsigned days_in_month(int year, unsigned month) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

// Splits at spaces, tabs and (for Date:) commas, dropping comments.
std::vector<std::string> words_of(std::string_view v) {
    std::vector<std::string> out;
    std::string cur;
    int depth = 0;
    for (char c : v) {
        if (c == '(') {
            ++depth;
            continue;
        }
        if (depth > 0) {
            if (c == ')') --depth;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur += c;
        }
        if (out.size() > 16) break;
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

bool zone_offset(std::string_view z, int* minutes) {
    if (z.size() == 5 && (z[0] == '+' || z[0] == '-')) {
        int hh = 0;
        int mm = 0;
        if (!parse_uint(z.substr(1, 2), 2, &hh) || !parse_uint(z.substr(3, 2), 2, &mm) || mm > 59) return false;
        *minutes = (hh * 60 + mm) * (z[0] == '-' ? -1 : 1);
        return true;
    }
    static const struct {
        const char* name;
        int hours;
    } kZones[] = {{"ut", 0},  {"gmt", 0}, {"z", 0},   {"est", -5}, {"edt", -4}, {"cst", -6},
                  {"cdt", -5}, {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}};
    std::string lz = util::lowercase(z);
    for (const auto& zone : kZones) {
        if (lz == zone.name) {
            *minutes = zone.hours * 60;
            return true;
        }
    }
    *minutes = 0;  // military and unknown zones: RFC 5322 says treat as -0000
    return true;
}

}  // namespace

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::int64_t day_of(std::int64_t utc, int offset_min) {
    std::int64_t local = utc + static_cast<std::int64_t>(offset_min) * 60;
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

std::optional<std::int64_t> parse_search_date(std::string_view text) {
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    std::size_t d1 = text.find('-');
    if (d1 == std::string_view::npos) return std::nullopt;
    std::size_t d2 = text.find('-', d1 + 1);
    if (d2 == std::string_view::npos) return std::nullopt;
    int day = 0;
    int year = 0;
    std::string_view mon = text.substr(d1 + 1, d2 - d1 - 1);
    if (!parse_uint(text.substr(0, d1), 2, &day) || mon.size() != 3 || !parse_uint(text.substr(d2 + 1), 4, &year) ||
        text.size() - d2 - 1 != 4)
        return std::nullopt;
    int month = month_of(mon);
    if (month == 0 || day < 1 || static_cast<unsigned>(day) > days_in_month(year, month)) return std::nullopt;
    return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

std::optional<ZonedTime> parse_rfc5322_date(std::string_view value) {
    std::vector<std::string> w = words_of(value);
    std::size_t i = 0;
    if (i < w.size() && !w[i].empty() && !(w[i][0] >= '0' && w[i][0] <= '9')) ++i;  // day of week
    if (w.size() < i + 4) return std::nullopt;
    int day = 0;
    int year = 0;
    if (!parse_uint(w[i], 2, &day)) return std::nullopt;
    int month = month_of(w[i + 1]);
    if (month == 0 || w[i + 1].size() < 3 || !parse_uint(w[i + 2], 4, &year)) return std::nullopt;
    if (w[i + 2].size() == 2) year += year < 50 ? 2000 : 1900;
    else if (w[i + 2].size() == 3) year += 1900;
    if (day < 1 || static_cast<unsigned>(day) > days_in_month(year, month)) return std::nullopt;
    // hh:mm[:ss]
    const std::string& t = w[i + 3];
    int hh = 0;
    int mm = 0;
    int ss = 0;
    std::size_t c1 = t.find(':');
    if (c1 == std::string::npos || !parse_uint(std::string_view(t).substr(0, c1), 2, &hh)) return std::nullopt;
    std::size_t c2 = t.find(':', c1 + 1);
    std::string_view mins = std::string_view(t).substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    if (!parse_uint(mins, 2, &mm)) return std::nullopt;
    if (c2 != std::string::npos && !parse_uint(std::string_view(t).substr(c2 + 1), 2, &ss)) return std::nullopt;
    if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    ZonedTime zt;
    if (i + 4 < w.size()) zone_offset(w[i + 4], &zt.offset_min);
    std::int64_t local = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                         hh * 3600 + mm * 60 + ss;
    zt.utc = local - static_cast<std::int64_t>(zt.offset_min) * 60;
    return zt;
}

}  // namespace mailroom::imap
