// authd_proto_test.cc - the authdaemond codec: courier's wire format both
// ways, bounds, and the fuzz corpus replayed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <vector>

#include "lib/auth/authd_proto.h"
#include "lib/util/fs.h"
#include "tests/fuzz/authd_proto_fuzz.h"
#include "tests/support/corpus.h"

using namespace mailroom;
using namespace mailroom::auth;

TEST_CASE("requests encode in courier's wire format", "[unit]") {
    CHECK(*encode_request(make_pre_request("smtp", "joe@example.com")) == "PRE . smtp joe@example.com\n");
    CHECK(*encode_request(make_login_request("imap", "joe", "pw d")) == "AUTH 20\nimap\nlogin\njoe\npw d\n");
    Request p;
    p.type = RequestType::kPasswd;
    p.service = "imap";
    p.user = "joe";
    p.old_password = "a";
    p.new_password = "b";
    CHECK(*encode_request(p) == "PASSWD imap\tjoe\ta\tb\n");
    Request e;
    e.type = RequestType::kEnumerate;
    e.meta = {{"TCPREMOTEIP", "192.0.2.1"}};
    CHECK(*encode_request(e) == "TCPREMOTEIP=192.0.2.1\nENUMERATE\n");
    auto cram = make_cram_request("smtp", "cram-md5", "<1.2@h>", "joe 0123");
    CHECK(cram.authdata == "PDEuMkBoPg==\nam9lIDAxMjM=\n");
    CHECK(parse_cram_data(cram.authdata) == std::make_pair(std::string("<1.2@h>"), std::string("joe 0123")));
}

TEST_CASE("fields that cannot travel are refused", "[unit]") {
    CHECK_FALSE(encode_request(make_pre_request("smtp", "jo\ne")).ok());
    CHECK_FALSE(encode_request(make_pre_request("sm tp", "joe")).ok());
    CHECK_FALSE(encode_request(make_pre_request("smtp", "")).ok());
    CHECK_FALSE(encode_request(make_login_request("smtp", "joe", std::string(17000, 'x'))).ok());
    CHECK_FALSE(encode_request(make_login_request("smtp", "joe", std::string("a\0b", 3))).ok());
    Request p;
    p.type = RequestType::kPasswd;
    p.service = "imap";
    p.user = "jo\te";
    CHECK_FALSE(encode_request(p).ok());
    Reply r;
    r.kind = Reply::Kind::kUser;
    r.user.home = "/a\nUID=0";
    CHECK_FALSE(encode_reply(RequestType::kPre, r).ok());
    CHECK_FALSE(encode_reply(RequestType::kPasswd, r).ok());
}

TEST_CASE("requests decode as courier's authdaemond reads them", "[unit]") {
    auto pre = decode_request("PRE  authmysql   smtp  joe doe\n");
    REQUIRE(pre.ok());
    CHECK(pre->type == RequestType::kPre);
    CHECK(pre->module == "authmysql");
    CHECK(pre->service == "smtp");
    CHECK(pre->user == "joe doe");

    auto auth = decode_request("TCPREMOTEIP=192.0.2.7\nAUTH 23\nsmtp\nlogin\njoe\nsec ret\n");
    REQUIRE(auth.ok());
    CHECK(auth->type == RequestType::kAuth);
    CHECK(auth->meta == std::vector<std::pair<std::string, std::string>>{{"TCPREMOTEIP", "192.0.2.7"}});
    CHECK(auth->authtype == "login");
    CHECK(parse_login_data(auth->authdata) == std::make_pair(std::string("joe"), std::string("sec ret")));

    auto pw = decode_request("PASSWD imap\tjoe\told\tnew\textra\n");
    REQUIRE(pw.ok());
    CHECK(pw->new_password == "new");
    CHECK(decode_request("ENUMERATE\n")->type == RequestType::kEnumerate);
}

TEST_CASE("the request decoder bounds lines and lengths", "[unit]") {
    RequestDecoder d;
    std::size_t used = 0;
    std::string big(kMaxLine, 'x');
    CHECK(d.feed(big, &used) == RequestDecoder::Step::kError);
    CHECK(d.error().message == "authd request line too long");
    CHECK_FALSE(decode_request("AUTH 16385\n").ok());
    CHECK_FALSE(decode_request("AUTH 99999999999\n").ok());
    CHECK_FALSE(decode_request("AUTH 12\nsmtp login x").ok());
    std::string many;
    for (int i = 0; i < 17; ++i) many += "A=1\n";
    CHECK_FALSE(decode_request(many + "ENUMERATE\n").ok());
    // A request ends where it ends: what follows is left unconsumed.
    RequestDecoder d2;
    CHECK(d2.feed("ENUMERATE\nmore", &used) == RequestDecoder::Step::kRequest);
    CHECK(used == 10);
}

TEST_CASE("user replies round-trip in courier's field order", "[unit]") {
    Reply r;
    r.kind = Reply::Kind::kUser;
    r.user.username = "vmail";
    r.user.uid = 2000;
    r.user.gid = 2001;
    r.user.home = "/var/mailbox/joe";
    r.user.address = "joe@example.com";
    r.user.name = "Joe";
    r.user.maildir = "/var/mailbox/joe/Maildir/";
    r.user.quota = "1000000S";
    r.user.passwd = "$1$x$y";
    r.user.clear_passwd = "secret";
    r.user.options = "disableimap=1";
    auto bytes = encode_reply(RequestType::kAuth, r);
    REQUIRE(bytes.ok());
    CHECK(*bytes ==
          "USERNAME=vmail\nUID=2000\nGID=2001\nHOME=/var/mailbox/joe\nADDRESS=joe@example.com\nNAME=Joe\n"
          "MAILDIR=/var/mailbox/joe/Maildir/\nQUOTA=1000000S\nPASSWD=$1$x$y\nPASSWD2=secret\n"
          "OPTIONS=disableimap=1\n.\n");
    auto back = decode_reply(RequestType::kAuth, *bytes);
    REQUIRE(back.ok());
    CHECK(*back == r);
}

TEST_CASE("reply kinds: FAIL, OK, temporary failure, enumeration", "[unit]") {
    CHECK(decode_reply(RequestType::kPre, "FAIL\n")->kind == Reply::Kind::kFail);
    CHECK(decode_reply(RequestType::kPre, "")->kind == Reply::Kind::kTempFail);
    CHECK(decode_reply(RequestType::kPre, "UID=5\nHOME=/x\n")->kind == Reply::Kind::kTempFail);
    CHECK(decode_reply(RequestType::kPasswd, "OK\n")->kind == Reply::Kind::kOk);
    CHECK(decode_reply(RequestType::kPasswd, "FAIL\n")->kind == Reply::Kind::kFail);
    CHECK_FALSE(decode_reply(RequestType::kPre, "UID=x\n.\n").ok());
    CHECK_FALSE(decode_reply(RequestType::kPre, "FAIL\nextra").ok());
    CHECK(*encode_reply(RequestType::kAuth, Reply{Reply::Kind::kTempFail, {}, {}}) == "");
    CHECK(*encode_reply(RequestType::kAuth, Reply{Reply::Kind::kFail, {}, {}}) == "FAIL\n");

    auto e = decode_reply(RequestType::kEnumerate,
                          "# authmysql\n\njoe\t2000\t2000\t/home/joe\t/home/joe/Maildir\topt=1\nroot\t0\t0\t/root\n"
                          "ann\t2001\t2001\t/home/ann # comment\n.\n");
    REQUIRE(e.ok());
    REQUIRE(e->entries.size() == 2);
    CHECK(e->entries[0] == EnumEntry{"joe", 2000, 2000, "/home/joe", "/home/joe/Maildir", "opt=1"});
    CHECK(e->entries[1].home == "/home/ann ");
    CHECK(*encode_reply(RequestType::kEnumerate, *e) ==
          "joe\t2000\t2000\t/home/joe\t/home/joe/Maildir\topt=1\nann\t2001\t2001\t/home/ann \t\t\n.\n");
}

TEST_CASE("replies are read in chunks of any size", "[unit]") {
    std::string bytes = "USERNAME=u\nUID=1\nGID=2\nHOME=/h\n.\n";
    for (std::size_t chunk = 1; chunk <= bytes.size(); ++chunk) {
        ReplyDecoder d(RequestType::kPre);
        ReplyDecoder::Step step = ReplyDecoder::Step::kNeedMore;
        std::size_t at = 0;
        while (step == ReplyDecoder::Step::kNeedMore && at < bytes.size()) {
            std::size_t used = 0;
            step = d.feed(std::string_view(bytes).substr(at, chunk), &used);
            at += used;
        }
        REQUIRE(step == ReplyDecoder::Step::kReply);
        Reply r = d.take();
        CHECK(r.user.username == "u");
        CHECK(r.user.gid == gid_t{2});
    }
}

namespace {
std::vector<std::filesystem::path> corpus() { return testing::corpus_files(MAILROOM_AUTHD_PROTO_CORPUS); }
}  // namespace

TEST_CASE("authd protocol corpus replay", "[corpus]") {
    auto files = corpus();
    REQUIRE(files.size() >= 30);
    for (const auto& path : files) {
        std::optional<bool> expect_ok = testing::corpus_expects_valid(path);
        REQUIRE(expect_ok);
        auto bytes = util::read_file(path.string());
        REQUIRE(bytes.ok());
        fuzz::FuzzVerdict v = fuzz::fuzz_authd_proto(*bytes);
        INFO("corpus file " << path.filename().string() << ": " << v.error << v.broken);
        CHECK(v.broken.empty());
        CHECK(v.valid == *expect_ok);
    }
}

TEST_CASE("random mutations of the authd corpus stay within the invariants", "[corpus]") {
    std::mt19937 rng(1414);
    for (const auto& path : corpus()) {
        std::string bytes = *util::read_file(path.string());
        if (bytes.size() < 2) continue;
        for (int round = 0; round < 300; ++round) {
            std::string m = testing::mutate(bytes, rng, "\n\t =.#0A", 1, '\n');
            fuzz::FuzzVerdict v = fuzz::fuzz_authd_proto(m);
            INFO("mutation of " << path.filename().string() << ": " << v.broken);
            REQUIRE(v.broken.empty());
        }
    }
}
