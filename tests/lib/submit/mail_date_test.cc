// mail_date_test.cc - the Date:/Received: time stamp in Postfix's format,
// in the local time zone.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <time.h>

#include <optional>
#include <string>

#include "lib/submit/mail_date.h"

using namespace mailroom;

namespace {

// Sets TZ for one test and puts the old value back.
class ScopedTz {
public:
    explicit ScopedTz(const char* tz) {
        if (const char* old = ::getenv("TZ")) old_ = old;
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~ScopedTz() {
        if (old_) ::setenv("TZ", old_->c_str(), 1);
        else ::unsetenv("TZ");
        ::tzset();
    }

private:
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("mail_date prints day, date, time, offset and zone name", "[unit]") {
    {
        ScopedTz tz("UTC0");
        CHECK(submit::mail_date(1795500000) == "Tue, 24 Nov 2026 06:00:00 +0000 (UTC)");
        CHECK(submit::mail_date(0) == "Thu, 1 Jan 1970 00:00:00 +0000 (UTC)");
    }
    {
        ScopedTz tz("XST-5:30");  // POSIX TZ: 5h30 east of UTC
        CHECK(submit::mail_date(1795500000) == "Tue, 24 Nov 2026 11:30:00 +0530 (XST)");
    }
    {
        ScopedTz tz("PST8");  // 8h west: the date goes back a day
        CHECK(submit::mail_date(1795500000) == "Mon, 23 Nov 2026 22:00:00 -0800 (PST)");
    }
}
