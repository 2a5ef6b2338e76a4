// imap_date.h - the dates SEARCH and SORT compare.
//
// Summary
//   parse_search_date() reads an IMAP date ("1-Feb-1994", RFC 3501
//   date-text, optionally in quotes) into a day number (days since
//   1970-01-01). parse_rfc5322_date() reads a Date: header value
//   (obsolete forms, missing weekday or seconds, named zones allowed)
//   into UTC seconds and the zone offset. day_of() gives the day number
//   of a time in a given zone, as SENTBEFORE (the Date: header's own
//   zone) and BEFORE (the internal date's zone) compare: RFC 3501 says to
//   disregard time and zone, so each date counts in the zone it was
//   written in.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>

namespace mailroom::imap {

struct ZonedTime {
    std::int64_t utc = 0;   // seconds since the epoch
    int offset_min = 0;     // zone offset east of UTC, in minutes
};

std::optional<std::int64_t> parse_search_date(std::string_view text);
std::optional<ZonedTime> parse_rfc5322_date(std::string_view value);
std::int64_t day_of(std::int64_t utc, int offset_min);
// Days since the epoch of a civil date (proleptic Gregorian).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace mailroom::imap
