// smtpd_peer_cache_test.cc - recent client names are kept for a while,
// temporary failures never.
#include "smtpd/smtpd_peer_cache.h"

#include <catch2/catch.hpp>

using namespace mailroom;
using smtpd::PeerCache;

namespace {

dns::Answer answer(dns::Outcome outcome, std::vector<std::string> names = {}, std::vector<std::string> addrs = {}) {
    dns::Answer a;
    a.outcome = outcome;
    a.names = std::move(names);
    a.addresses = std::move(addrs);
    return a;
}

PeerCache::Answers found(const std::string& name, const std::string& addr) {
    return {answer(dns::Outcome::kFound, {name}), answer(dns::Outcome::kFound, {}, {addr})};
}

}  // namespace

TEST_CASE("PeerCache gives the answers back until they expire", "[unit]") {
    PeerCache cache;
    auto t0 = PeerCache::Clock::time_point{} + std::chrono::hours(1);
    CHECK(!cache.find("192.0.2.1", t0));
    cache.remember("192.0.2.1", found("mx.example.com", "192.0.2.1"), t0);
    auto hit = cache.find("192.0.2.1", t0 + PeerCache::kLifetime - std::chrono::milliseconds(1));
    REQUIRE(hit);
    CHECK(hit->first.names == std::vector<std::string>{"mx.example.com"});
    CHECK(hit->second.addresses == std::vector<std::string>{"192.0.2.1"});
    CHECK(!cache.find("192.0.2.2", t0));
    CHECK(!cache.find("192.0.2.1", t0 + PeerCache::kLifetime));
    CHECK(cache.size() == 0);
}

TEST_CASE("PeerCache keeps final answers and no temporary failure", "[unit]") {
    PeerCache cache;
    auto t0 = PeerCache::Clock::time_point{} + std::chrono::hours(1);
    // No PTR: final.
    cache.remember("192.0.2.1", {answer(dns::Outcome::kNotFound), dns::Answer{}}, t0);
    REQUIRE(cache.find("192.0.2.1", t0));
    CHECK(cache.find("192.0.2.1", t0)->first.outcome == dns::Outcome::kNotFound);
    // A name that does not resolve back: final too.
    cache.remember("192.0.2.2", {answer(dns::Outcome::kFound, {"x.example"}), answer(dns::Outcome::kNotFound)}, t0);
    CHECK(cache.find("192.0.2.2", t0));
    // Either question failing for now: asked again.
    cache.remember("192.0.2.3", {answer(dns::Outcome::kTempFail), dns::Answer{}}, t0);
    CHECK(!cache.find("192.0.2.3", t0));
    cache.remember("192.0.2.4", {answer(dns::Outcome::kFound, {"y.example"}), answer(dns::Outcome::kTempFail)}, t0);
    CHECK(!cache.find("192.0.2.4", t0));
}

TEST_CASE("PeerCache holds at most kMaxEntries, dropping the oldest", "[unit]") {
    PeerCache cache;
    auto t0 = PeerCache::Clock::time_point{} + std::chrono::hours(1);
    for (std::size_t i = 0; i < PeerCache::kMaxEntries + 10; ++i) {
        cache.remember("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), found("h.example", "10.0.0.1"),
                       t0 + std::chrono::milliseconds(i));
    }
    CHECK(cache.size() == PeerCache::kMaxEntries);
    CHECK(!cache.find("10.0.0.0", t0 + std::chrono::seconds(1)));  // the first ones made room
    CHECK(cache.find("10.0.1.9", t0 + std::chrono::seconds(1)));    // the last one stayed
}
