// mail_date.cc - see mail_date.h.
#include "lib/submit/mail_date.h"

#include <array>
#include <cstdio>

namespace mailroom::submit {

std::string mail_date(std::time_t when) {
    struct tm tm {};
    ::localtime_r(&when, &tm);
    char buf[96];
    // The day and month names must be English whatever the locale: use tables.
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    std::snprintf(buf, sizeof(buf), "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld (%s)", kDays[tm.tm_wday], tm.tm_mday,
                  kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 3600,
                  (off % 3600) / 60, tm.tm_zone ? tm.tm_zone : "UTC");
    return buf;
}

}  // namespace mailroom::submit
