// dns_test.cc - lib/dns against tests/support/fake_dns.py on loopback.
//
// Every test starts its own fake server with the zone it needs; nothing
// here ever asks the host's resolver.
#include "lib/dns/dns.h"

#include "tests/support/fake_dns.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace mailroom;
using namespace mailroom::dns;
using namespace std::chrono_literals;
using mailroom::testing::FakeDns;

namespace {

const std::vector<std::string> kZone = {
    "mail.example.com A 127.0.0.1",
    "mail.example.com A 127.0.0.2",
    "mail.example.com AAAA ::1",
    "1.0.0.127.in-addr.arpa PTR mail.example.com.",
    "example.com MX 20 backup.example.com",
    "example.com MX 5 mx1.example.com",
    "example.com MX 10 mx2.example.com",
    "example.com TXT v=spf1 -all",
    "nomail.example.com MX 0 .",
    "broken.example.com SERVFAIL",
    "silent.example.com DROP",
};

}  // namespace

TEST_CASE("A and AAAA lookups return the addresses", "[unit]") {
    FakeDns fake(kZone);
    Answer a = lookup_blocking("mail.example.com", Type::kA, fake.options());
    REQUIRE(a.outcome == Outcome::kFound);
    CHECK(a.addresses == std::vector<std::string>{"127.0.0.1", "127.0.0.2"});
    Answer aaaa = lookup_blocking("mail.example.com.", Type::kAAAA, fake.options());
    REQUIRE(aaaa.outcome == Outcome::kFound);
    CHECK(aaaa.addresses == std::vector<std::string>{"::1"});
}

TEST_CASE("PTR lookup of a reverse name gives the host name", "[unit]") {
    FakeDns fake(kZone);
    CHECK(reverse_name("127.0.0.1") == "1.0.0.127.in-addr.arpa");
    CHECK(reverse_name("::1").rfind("1.0.0.0.", 0) == 0);
    CHECK(reverse_name("::1").size() == 64 + 8);
    CHECK(reverse_name("not an address").empty());
    Answer a = lookup_blocking(reverse_name("127.0.0.1"), Type::kPTR, fake.options());
    REQUIRE(a.outcome == Outcome::kFound);
    CHECK(a.names == std::vector<std::string>{"mail.example.com"});
}

TEST_CASE("MX records come sorted by preference and a null MX is recognised", "[unit]") {
    FakeDns fake(kZone);
    Answer a = lookup_blocking("example.com", Type::kMX, fake.options());
    REQUIRE(a.outcome == Outcome::kFound);
    REQUIRE(a.mx.size() == 3);
    CHECK(a.mx[0].preference == 5);
    CHECK(a.mx[0].exchange == "mx1.example.com");
    CHECK(a.mx[1].exchange == "mx2.example.com");
    CHECK(a.mx[2].exchange == "backup.example.com");
    CHECK_FALSE(a.null_mx);
    Answer n = lookup_blocking("nomail.example.com", Type::kMX, fake.options());
    REQUIRE(n.outcome == Outcome::kFound);
    CHECK(n.null_mx);
}

TEST_CASE("TXT lookup returns the record text", "[unit]") {
    FakeDns fake(kZone);
    Answer a = lookup_blocking("example.com", Type::kTXT, fake.options());
    REQUIRE(a.outcome == Outcome::kFound);
    CHECK(a.txt == std::vector<std::string>{"v=spf1 -all"});
}

TEST_CASE("NXDOMAIN and NODATA are not found, SERVFAIL and silence are temporary", "[unit]") {
    FakeDns fake(kZone);
    Answer nx = lookup_blocking("nowhere.test", Type::kA, fake.options());
    CHECK(nx.outcome == Outcome::kNotFound);
    CHECK(nx.nxdomain);
    Answer nodata = lookup_blocking("example.com", Type::kA, fake.options());
    CHECK(nodata.outcome == Outcome::kNotFound);
    CHECK_FALSE(nodata.nxdomain);
    Answer sf = lookup_blocking("broken.example.com", Type::kMX, fake.options());
    CHECK(sf.outcome == Outcome::kTempFail);
    auto t0 = std::chrono::steady_clock::now();
    Answer to = lookup_blocking("silent.example.com", Type::kA, fake.options(200ms, 2));
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(to.outcome == Outcome::kTempFail);
    CHECK_FALSE(to.error.empty());
    CHECK(took < 3s);
}

TEST_CASE("a server that is not there is a temporary failure", "[unit]") {
    Options o;
    o.servers = "127.0.0.1:9";  // discard port, nothing answers DNS
    o.timeout = 200ms;
    o.tries = 1;
    Answer a = lookup_blocking("example.com", Type::kA, o);
    CHECK(a.outcome == Outcome::kTempFail);
}

TEST_CASE("many lookups share one loop while a timer keeps firing", "[unit]") {
    FakeDns fake(kZone);
    event::Loop loop;
    auto r = Resolver::create(loop, fake.options(300ms, 2));
    REQUIRE(r);
    Resolver& resolver = **r;
    int ticks = 0;
    int found = 0, notfound = 0, temp = 0;
    event::Timer tick(loop, [&] {});
    tick = event::Timer(loop, [&] {
        if (resolver.pending() > 0) ++ticks;  // the loop turned while lookups waited
        tick.start(10ms);
    });
    tick.start(10ms);
    const int kEach = 40;
    int outstanding = 0;
    auto finish = [&] {
        if (--outstanding == 0) loop.stop();
    };
    for (int i = 0; i < kEach; ++i) {
        outstanding += 3;
        resolver.lookup("mail.example.com", Type::kA, [&](Answer a) {
            if (a.found() && a.addresses.size() == 2) ++found;
            finish();
        });
        resolver.lookup("nowhere.test", Type::kMX, [&](Answer a) {
            if (a.outcome == Outcome::kNotFound) ++notfound;
            finish();
        });
        resolver.lookup("silent.example.com", Type::kA, [&](Answer a) {
            if (a.outcome == Outcome::kTempFail) ++temp;
            finish();
        });
    }
    CHECK(resolver.pending() == 3 * kEach);
    event::Timer guard(loop, [&] { loop.stop(); });
    guard.start(10s);
    auto t0 = std::chrono::steady_clock::now();
    loop.run();
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(found == kEach);
    CHECK(notfound == kEach);
    CHECK(temp == kEach);
    CHECK(resolver.pending() == 0);
    // The silent lookups take about 2 x 300 ms; the ticker kept running all
    // along (some 60 ticks; a loaded machine runs fewer, a blocked loop none).
    CHECK(took < 5s);
    CHECK(ticks >= 5);
}

TEST_CASE("destroying the resolver drops pending callbacks", "[unit]") {
    FakeDns fake(kZone);
    event::Loop loop;
    bool called = false;
    {
        auto r = Resolver::create(loop, fake.options(300ms, 1));
        REQUIRE(r);
        (*r)->lookup("silent.example.com", Type::kA, [&](Answer) { called = true; });
    }
    event::Timer guard(loop, [&] { loop.stop(); });
    guard.start(500ms);
    loop.run();
    CHECK_FALSE(called);
}
