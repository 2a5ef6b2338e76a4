// pipe_args_test.cc - master.cf pipe arguments, flags and argv macro expansion.
#include "pipe/pipe_args.h"

#include <catch2/catch.hpp>

using namespace mailroom;
using namespace mailroom::pipe;

TEST_CASE("the seed's maildrop entry parses", "[unit]") {
    auto a = parse_pipe_args({"flags=DRhu", "user=vmail", "argv=/usr/bin/maildrop", "-d", "${recipient}"});
    REQUIRE(a.ok());
    CHECK(a->flags.delivered_to);
    CHECK(a->flags.return_path);
    CHECK(a->flags.fold_host);
    CHECK(a->flags.fold_user);
    CHECK(!a->flags.from_line);
    CHECK(a->user == "vmail");
    CHECK(a->group.empty());
    CHECK(a->argv == std::vector<std::string>{"/usr/bin/maildrop", "-d", "${recipient}"});
    CHECK(a->eol == "\n");
    CHECK(a->null_sender == "MAILER-DAEMON");
}

TEST_CASE("every pipe flag and attribute", "[unit]") {
    auto f = parse_pipe_flags("BDFORXhqu.>");
    REQUIRE(f.ok());
    PipeFlags all{true, true, true, true, true, true, true, true, true, true, true};
    CHECK(*f == all);
    CHECK(!parse_pipe_flags("DZ").ok());
    auto a = parse_pipe_args({"user=mail:adm", "size=1000", "eol=\\r\\n", "directory=/tmp", "null_sender=",
                              "argv=/bin/cat", "flags=ignored-after-argv"});
    REQUIRE(a.ok());
    CHECK(a->user == "mail");
    CHECK(a->group == "adm");
    CHECK(a->size_limit == 1000);
    CHECK(a->eol == "\r\n");
    CHECK(a->directory == "/tmp");
    CHECK(a->null_sender.empty());
    CHECK(a->argv == std::vector<std::string>{"/bin/cat", "flags=ignored-after-argv"});
    auto g = parse_pipe_args({"user=mail", "group=adm", "argv=/bin/cat"});
    REQUIRE(g.ok());
    CHECK(g->group == "adm");
}

TEST_CASE("bad pipe entries are configuration errors", "[unit]") {
    CHECK(!parse_pipe_args({"user=vmail"}).ok());
    CHECK(!parse_pipe_args({"argv=/bin/cat"}).ok());
    CHECK(!parse_pipe_args({"user=vmail", "argv="}).ok());
    CHECK(!parse_pipe_args({"user=vmail", "bogus=1", "argv=/bin/cat"}).ok());
    CHECK(!parse_pipe_args({"user=vmail", "size=12k", "argv=/bin/cat"}).ok());
    CHECK(!parse_pipe_args({"user=vmail", "flags=Dz", "argv=/bin/cat"}).ok());
    CHECK(!parse_pipe_args({"user=vmail", "noequals", "argv=/bin/cat"}).ok());
}

TEST_CASE("eol escapes", "[unit]") {
    CHECK(unescape_eol("\\r\\n") == "\r\n");
    CHECK(unescape_eol("\\n") == "\n");
    CHECK(unescape_eol("\\015\\012") == "\r\n");
    CHECK(unescape_eol("x\\\\") == "x\\");
}

namespace {

MacroContext context() {
    MacroContext c;
    c.sender = "Sender@Example.ORG";
    c.nexthop = "Magedu.COM";
    c.queue_id = "04B92147CE9";
    c.size = 1234;
    c.extension.delimiters = "+";
    c.client = {{"client_address", "192.0.2.1"}, {"client_hostname", "mx.example.org"},
                {"client_helo", "helo.example.org"}, {"client_protocol", "ESMTP"},
                {"sasl_username", "jerry"}};
    return c;
}

std::vector<std::string> expand(const std::vector<std::string>& argv, std::string_view flags,
                                const std::vector<agent::JobRecipient>& rcpts) {
    auto f = parse_pipe_flags(flags);
    REQUIRE(f.ok());
    auto r = expand_pipe_argv(argv, *f, context(), rcpts);
    REQUIRE(r.ok());
    return *r;
}

}  // namespace

TEST_CASE("${user} and ${extension} follow owner_request_special and double_bounce_sender", "[unit]") {
    MacroContext c = context();
    c.extension.delimiters = "-";
    c.extension.double_bounce_sender = "bounce-twice";
    auto f = parse_pipe_flags("");
    REQUIRE(f.ok());
    auto user_ext = [&](const char* rcpt) {
        auto r = expand_pipe_argv({"${user}", "${extension}"}, *f, c, {{rcpt, ""}});
        REQUIRE(r.ok());
        return *r;
    };
    CHECK(user_ext("owner-list@x.test") == std::vector<std::string>{"owner-list", ""});
    CHECK(user_ext("list-request@x.test") == std::vector<std::string>{"list-request", ""});
    CHECK(user_ext("bounce-twice@x.test") == std::vector<std::string>{"bounce-twice", ""});
    CHECK(user_ext("user-box@x.test") == std::vector<std::string>{"user", "box"});
    c.extension.owner_request_special = false;
    CHECK(user_ext("owner-list@x.test") == std::vector<std::string>{"owner", "list"});
}

TEST_CASE("argv macros expand per element without a shell", "[unit]") {
    std::vector<agent::JobRecipient> one = {{"Jerry+Box@Magedu.COM", "alias@Magedu.COM"}};
    CHECK(expand({"/usr/bin/maildrop", "-d", "${recipient}"}, "", one) ==
          std::vector<std::string>{"/usr/bin/maildrop", "-d", "Jerry+Box@Magedu.COM"});
    CHECK(expand({"-d", "${recipient}"}, "hu", one) == std::vector<std::string>{"-d", "jerry+box@magedu.com"});
    CHECK(expand({"${user}", "${extension}", "${mailbox}", "${domain}"}, "", one) ==
          std::vector<std::string>{"Jerry", "Box", "Jerry+Box", "Magedu.COM"});
    CHECK(expand({"${user}", "${domain}", "${nexthop}"}, "hu", one) ==
          std::vector<std::string>{"jerry", "magedu.com", "magedu.com"});
    CHECK(expand({"${original_recipient}", "${sender}", "${nexthop}", "${size}", "${queue_id}"}, "", one) ==
          std::vector<std::string>{"alias@Magedu.COM", "Sender@Example.ORG", "Magedu.COM", "1234", "04B92147CE9"});
    CHECK(expand({"${client_address}", "${client_hostname}", "${client_helo}", "${client_protocol}",
                  "${sasl_username}", "${sasl_method}"},
                 "", one) ==
          std::vector<std::string>{"192.0.2.1", "mx.example.org", "helo.example.org", "ESMTP", "jerry", ""});
    // $name and $(name) forms, literal text around macros, $$.
    CHECK(expand({"--to=$recipient", "$(user).x", "cost$$5", "a$"}, "", one) ==
          std::vector<std::string>{"--to=Jerry+Box@Magedu.COM", "Jerry.x", "cost$5", "a$"});
    // A value with shell metacharacters stays one argument, untouched.
    std::vector<agent::JobRecipient> evil = {{"a;rm -rf /`x`@example.com", ""}};
    CHECK(expand({"${recipient}"}, "", evil) == std::vector<std::string>{"a;rm -rf /`x`@example.com"});
    CHECK(expand({"${recipient}"}, "q", evil) == std::vector<std::string>{"\"a;rm -rf /`x`\"@example.com"});
}

TEST_CASE("per-recipient elements repeat for each recipient", "[unit]") {
    std::vector<agent::JobRecipient> two = {{"a@x", ""}, {"b@y", ""}};
    CHECK(expand({"cmd", "-f", "${sender}", "--", "${recipient}"}, "", two) ==
          std::vector<std::string>{"cmd", "-f", "Sender@Example.ORG", "--", "a@x", "b@y"});
    CHECK(expand({"-d${domain}"}, "", two) == std::vector<std::string>{"-dx", "-dy"});
}

TEST_CASE("unknown macros and unbalanced braces are errors", "[unit]") {
    PipeFlags f;
    std::vector<agent::JobRecipient> one = {{"a@x", ""}};
    CHECK(!expand_pipe_argv({"${nosuch}"}, f, context(), one).ok());
    CHECK(!expand_pipe_argv({"${recipient"}, f, context(), one).ok());
    CHECK(!expand_pipe_argv({"$(user"}, f, context(), one).ok());
}
