// config_snapshot_test.cc - the configuration master hands to its children.
#include "lib/config/config_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "lib/config/config.h"

using namespace mailroom;
using config::Config;

TEST_CASE("a snapshot round-trips main.cf and master.cf byte for byte", "[unit]") {
    config::SnapshotText in{"a = 1\nb = x\n  continued\n", std::string("smtp inet n - n - - smtpd\n")};
    auto out = config::decode_snapshot(config::encode_snapshot(in));
    REQUIRE(out.ok());
    CHECK(out->main_cf == in.main_cf);
    CHECK(out->master_cf == in.master_cf);
    config::SnapshotText no_master{"", std::nullopt};
    auto out2 = config::decode_snapshot(config::encode_snapshot(no_master));
    REQUIRE(out2.ok());
    CHECK(out2->main_cf.empty());
    CHECK_FALSE(out2->master_cf.has_value());
}

TEST_CASE("a damaged snapshot is an error, never a partial configuration", "[unit]") {
    std::string good = config::encode_snapshot({"a = 1\n", std::nullopt});
    CHECK_FALSE(config::decode_snapshot("").ok());
    CHECK_FALSE(config::decode_snapshot("something else\n").ok());
    CHECK_FALSE(config::decode_snapshot(good.substr(0, good.size() - 1)).ok());
    CHECK_FALSE(config::decode_snapshot("mailroom-config 1\nmain.cf 99999999999999999999\n").ok());
    CHECK_FALSE(config::decode_snapshot("mailroom-config 1\nother 0\n").ok());
    CHECK_FALSE(config::decode_snapshot("mailroom-config 1\nmaster.cf 0\n").ok());  // no main.cf
}

TEST_CASE("the sealed memory file cannot be changed and reads back from any offset", "[unit]") {
    std::string bytes = config::encode_snapshot({"message_size_limit = 1000\n", std::string("")});
    auto fd = config::make_snapshot_fd(bytes);
    REQUIRE(fd.ok());
    CHECK(::write(fd->get(), "x", 1) < 0);
    CHECK(::ftruncate(fd->get(), 0) < 0);
    ::lseek(fd->get(), 5, SEEK_SET);  // another holder moved the shared offset
    auto back = config::read_snapshot_fd(fd->get());
    REQUIRE(back.ok());
    CHECK(*back == bytes);
    CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("a Config from a snapshot reads the handed files, not the directory", "[unit]") {
    auto cfg = Config::from_text("message_size_limit = 1000\n", "/nonexistent/dir").value();
    // What master accepted, master.cf included.
    std::string snap = config::encode_snapshot({"message_size_limit = 1000\n", std::string("x unix - - n - - error\n")});
    auto handed = Config::from_snapshot(snap, "/nonexistent/dir");
    REQUIRE(handed.ok());
    CHECK(handed->get_int("message_size_limit").value() == 1000);
    CHECK(handed->main_cf_path() == "/nonexistent/dir/main.cf");
    REQUIRE(handed->load_master_cf().ok());  // no file there: the snapshot's text
    REQUIRE(handed->services().size() == 1);
    CHECK(handed->services()[0].name == "x");
    // snapshot() gives back what the Config was made of.
    CHECK(handed->snapshot() == snap);
    CHECK(cfg.snapshot() == config::encode_snapshot({"message_size_limit = 1000\n", std::nullopt}));
}
