// agent_outcome_test.cc - Postfix's sysexits table, enhanced status codes and combined outcomes.
#include "lib/agent/agent_outcome.h"

#include <cerrno>
#include <catch2/catch.hpp>

using namespace mailroom::agent;
using mailroom::Error;
using mailroom::ErrorKind;

TEST_CASE("sysexits table follows Postfix", "[unit]") {
    struct Row {
        int code;
        const char* dsn;
        const char* text;
    };
    const Row rows[] = {
        {64, "5.3.0", "command line usage error"}, {65, "5.6.0", "data format error"},
        {66, "5.3.0", "cannot open input"},        {67, "5.1.1", "user unknown"},
        {68, "5.1.2", "host name unknown"},        {69, "5.3.0", "service unavailable"},
        {70, "5.3.0", "internal software error"},  {71, "4.3.0", "system resource problem"},
        {72, "5.3.0", "critical OS file missing"}, {73, "5.2.0", "can't create user output file"},
        {74, "5.3.0", "input/output error"},       {75, "4.3.0", "temporary failure"},
        {76, "5.5.0", "remote error in protocol"}, {77, "5.7.0", "permission denied"},
        {78, "5.3.5", "local configuration error"},
    };
    for (const auto& r : rows) {
        INFO(r.code);
        auto d = sysexits_detail(r.code);
        REQUIRE(d);
        CHECK(std::string(d->dsn) == r.dsn);
        CHECK(std::string(d->text) == r.text);
    }
    CHECK(!sysexits_detail(0));
    CHECK(!sysexits_detail(1));
    CHECK(!sysexits_detail(63));
    CHECK(!sysexits_detail(79));
}

TEST_CASE("leading enhanced status codes", "[unit]") {
    std::string dsn;
    CHECK(leading_enhanced_status("5.1.1 no such user", &dsn));
    CHECK(dsn == "5.1.1");
    CHECK(leading_enhanced_status("4.2.2", &dsn));
    CHECK(dsn == "4.2.2");
    CHECK(leading_enhanced_status("4.123.456 x", &dsn));
    CHECK(dsn == "4.123.456");
    CHECK(!leading_enhanced_status("2.0.0 ok", &dsn));
    CHECK(!leading_enhanced_status("5.1 x", &dsn));
    CHECK(!leading_enhanced_status("5.1.1x", &dsn));
    CHECK(!leading_enhanced_status("5..1 x", &dsn));
    CHECK(!leading_enhanced_status("", &dsn));
}

TEST_CASE("an expansion defers if any part defers else bounces if any bounces", "[unit]") {
    CHECK(combine_outcomes({sent("a"), sent("b")}) == sent("a"));
    CHECK(combine_outcomes({sent("a"), bounced("b"), deferred("c")}) == deferred("c"));
    CHECK(combine_outcomes({sent("a"), bounced("b", "5.1.1")}) == bounced("b", "5.1.1"));
    CHECK(combine_outcomes({}).kind == OutcomeKind::kDeferred);
    auto both = combine_outcomes({sent("a"), bounced("b", "5.1.1")}, {"x@example.com", "y@example.com"});
    CHECK(both == bounced("b", "5.1.1"));
    CHECK(both.parts == std::vector<LoggedPart>{{"x@example.com", OutcomeKind::kSent, "2.0.0", "a"},
                                                {"y@example.com", OutcomeKind::kBounced, "5.1.1", "b"}});
}

TEST_CASE("errors map to deferrals and bounces by kind", "[unit]") {
    auto t = outcome_from_error(mailroom::make_temp_error("disk full"), "4.2.2", "5.2.2");
    CHECK(t == deferred("disk full", "4.2.2"));
    auto p = outcome_from_error(mailroom::make_error("not a directory"));
    CHECK(p == bounced("not a directory", "5.3.0"));
    CHECK(std::string(outcome_word(OutcomeKind::kSent)) == "sent");
    CHECK(std::string(outcome_word(OutcomeKind::kDeferred)) == "deferred");
    CHECK(std::string(outcome_word(OutcomeKind::kBounced)) == "bounced");
}

TEST_CASE("mailbox_dsn follows Postfix's mbox_dsn", "[unit]") {
    CHECK(mailbox_dsn(EAGAIN, "5.3.0") == "4.2.0");
    CHECK(mailbox_dsn(ESTALE, "5.3.0") == "4.2.0");
    CHECK(mailbox_dsn(ENOSPC, "5.3.0") == "4.3.0");
    CHECK(mailbox_dsn(EDQUOT, "4.2.0") == "5.2.2");
    CHECK(mailbox_dsn(EFBIG, "4.2.0") == "5.2.2");
    CHECK(mailbox_dsn(ENOENT, "5.2.0") == "5.2.0");
    CHECK(mailbox_dsn(0, "4.2.0") == "4.2.0");
}

TEST_CASE("a failed mailbox delivery is judged by its errno, not its text", "[unit]") {
    struct Row {
        int err;
        ErrorKind kind;
        bool maildir;
        OutcomeKind outcome;
        const char* dsn;
    };
    const Row rows[] = {
        {EDQUOT, ErrorKind::kTemporary, false, OutcomeKind::kBounced, "5.2.2"},   // the mailbox is full
        {EDQUOT, ErrorKind::kTemporary, true, OutcomeKind::kBounced, "5.2.2"},
        {EFBIG, ErrorKind::kPermanent, false, OutcomeKind::kBounced, "5.2.2"},    // mailbox_size_limit
        {ENOSPC, ErrorKind::kTemporary, false, OutcomeKind::kDeferred, "4.3.0"},  // the file system is full
        {ENOSPC, ErrorKind::kTemporary, true, OutcomeKind::kDeferred, "4.3.0"},
        {EAGAIN, ErrorKind::kTemporary, false, OutcomeKind::kDeferred, "4.2.0"},
        {EIO, ErrorKind::kTemporary, false, OutcomeKind::kDeferred, "4.2.0"},
        {ENOENT, ErrorKind::kPermanent, false, OutcomeKind::kBounced, "5.2.0"},   // mbox: bounce
        {ENOENT, ErrorKind::kPermanent, true, OutcomeKind::kDeferred, "4.2.0"},   // Maildir: the admin's to fix
        {EACCES, ErrorKind::kPermanent, false, OutcomeKind::kBounced, "5.2.0"},
        {0, ErrorKind::kPermanent, false, OutcomeKind::kBounced, "5.2.0"},
        {0, ErrorKind::kTemporary, false, OutcomeKind::kDeferred, "4.2.0"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.err, row.maildir);
        Error e = mailroom::make_sys_error("write /var/mail/u: whatever the C library says", row.err, row.kind);
        Outcome o = mailbox_failure("cannot update mailbox /var/mail/u. ", e, row.maildir);
        CHECK(o.kind == row.outcome);
        CHECK(o.dsn == row.dsn);
        CHECK(o.text == "cannot update mailbox /var/mail/u. write /var/mail/u: whatever the C library says");
    }
    // The wording alone decides nothing.
    Outcome text_only = mailbox_failure("", mailroom::make_error("error writing message: File too large"), false);
    CHECK(text_only.dsn == "5.2.0");
}
