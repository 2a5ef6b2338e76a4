// passwd_file_test.cc - Dovecot's passwd-file lines and the module that
// serves a file (lookups, reloading on change, enumeration).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "lib/auth/passwd_file.h"

using namespace mailroom;
using namespace mailroom::auth;

TEST_CASE("passwd-file: a full line with extra fields", "[unit]") {
    auto r = parse_passwd_file_line(
        "user@example.com:{SHA512-CRYPT}$6$salt$hash:1001:1002:Some User,,,:/home/u:/bin/false:"
        "userdb_mail=maildir:/var/mail/u/Maildir:INDEX=/idx userdb_quota_rule=*:storage=1G nopassword");
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    const UserRecord& u = **r;
    CHECK(u.username == "user@example.com");
    CHECK(u.address == "user@example.com");
    CHECK(u.crypt_password == "{SHA512-CRYPT}$6$salt$hash");
    CHECK(u.uid == 1001);
    CHECK(u.gid == 1002);
    CHECK(u.name == "Some User,,,");
    CHECK(u.home == "/home/u");
    CHECK(u.maildir == "/var/mail/u/Maildir");
    CHECK(u.quota == "1073741824S");
}

TEST_CASE("passwd-file: short lines, comments, bad ids", "[unit]") {
    auto shortline = parse_passwd_file_line("bob:{PLAIN}secret");
    REQUIRE(shortline.ok());
    REQUIRE(shortline->has_value());
    CHECK((*shortline)->uid == -1);
    CHECK((*shortline)->home.empty());
    auto comment = parse_passwd_file_line("# comment");
    REQUIRE(comment.ok());
    CHECK_FALSE(comment->has_value());
    auto blank = parse_passwd_file_line("   ");
    REQUIRE(blank.ok());
    CHECK_FALSE(blank->has_value());
    CHECK_FALSE(parse_passwd_file_line("bob:x:abc:1").ok());
    CHECK_FALSE(parse_passwd_file_line(":x:1:1").ok());
    // userdb_uid/userdb_home override the columns.
    auto over = parse_passwd_file_line("c:x:1:1::/h::userdb_uid=7 userdb_home=/other mail=maildir:~/Maildir");
    REQUIRE(over.ok());
    CHECK((*over)->uid == 7);
    CHECK((*over)->home == "/other");
    CHECK((*over)->maildir == "~/Maildir");
}

TEST_CASE("passwd-file: quota rules in courier's form", "[unit]") {
    CHECK(quota_rule_to_courier("*:storage=1G") == "1073741824S");
    CHECK(quota_rule_to_courier("*:storage=512M:messages=100") == "536870912S,100C");
    CHECK(quota_rule_to_courier("*:storage=2048") == "2048S");
    CHECK(quota_rule_to_courier("*:storage=0") == "");
    CHECK(quota_rule_to_courier("*:storage=1X") == "");
}

TEST_CASE("passwd-file module: lookup, reload after a change, enumerate", "[unit]") {
    char tmpl[] = "/tmp/passwd_file_test.XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    std::string path = dir + "/users";
    {
        std::ofstream f(path);
        f << "alice:{PLAIN}a:10:10::/home/alice::\n";
    }
    PasswdFileModule m("passwd-file:" + path, path);
    CHECK_FALSE(m.may_block());
    auto a = m.lookup("alice", "imap");
    CHECK(a.outcome == Outcome::kOk);
    CHECK(a.user.home == "/home/alice");
    CHECK(m.lookup("bob", "imap").outcome == Outcome::kNotFound);
    {
        std::ofstream f(path);
        f << "alice:{PLAIN}a:10:10::/home/alice::\nbob:{PLAIN}b:11:11::/home/bob::\n";
    }
    CHECK(m.lookup("bob", "imap").outcome == Outcome::kOk);
    auto all = m.enumerate();
    REQUIRE(all.has_value());
    REQUIRE(all->ok());
    CHECK((*all)->size() == 2);
    // A file that went away is a temporary failure, never "unknown user".
    ::unlink(path.c_str());
    auto gone = m.lookup("alice", "imap");
    CHECK(gone.outcome == Outcome::kTempFail);
    CHECK(gone.reason.find(path) != std::string::npos);
    ::rmdir(dir.c_str());
}
