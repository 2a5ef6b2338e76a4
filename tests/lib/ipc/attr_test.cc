// attr_test.cc - attribute-record encoder, strict decoder and incremental decoder.
#include "lib/ipc/attr.h"

#include <catch2/catch.hpp>
#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

using namespace mailroom;
using namespace mailroom::ipc;
using namespace std::string_literals;

namespace {

AttrList sample_request() {
    AttrList rcpt0;
    rcpt0.add("address", "alice@example.com").add("notify", "SUCCESS,FAILURE").add_int("offset", 1234);
    AttrList rcpt1;
    rcpt1.add("address", "bob@example.org").add("orcpt", "rfc822;bob@example.org");
    AttrList rcpts;
    rcpts.add_list("r0", rcpt0).add_list("r1", rcpt1);
    AttrList req;
    req.add("request", "deliver")
        .add("queue_id", "D786582E95")
        .add("sender", "")
        .add_int("flags", 0)
        .add_int("big", std::numeric_limits<std::int64_t>::max())
        .add_int("small", std::numeric_limits<std::int64_t>::min())
        .add_int("neg", -42)
        .add_list("recipients", rcpts)
        .add_list("empty_list", AttrList());
    return req;
}

}  // namespace

TEST_CASE("attribute records round-trip", "[unit]") {
    struct Case {
        const char* name;
        AttrList list;
    };
    AttrList deep;
    deep.add("leaf", "x");
    for (std::size_t i = 0; i < kMaxNestingDepth; ++i) {
        AttrList outer;
        outer.add_list("n", deep);
        deep = outer;
    }
    std::string long_value(kMaxStringLength, 'v');
    AttrList many;
    for (std::size_t i = 0; i < kMaxAttrsPerList; ++i) many.add_int("a" + std::to_string(i), static_cast<int>(i));
    std::array<Case, 7> cases = {{
        {"empty record", AttrList()},
        {"one string", AttrList().add("protocol", "cleanup_protocol")},
        {"empty string value", AttrList().add("sender", "")},
        {"sample request", sample_request()},
        {"maximum nesting", deep},
        {"longest string", AttrList().add(std::string(kMaxNameLength, 'n'), long_value)},
        {"most attributes", many},
    }};
    for (const Case& c : cases) {
        SECTION(c.name) {
            auto bytes = encode_record(c.list);
            REQUIRE(bytes.ok());
            auto back = decode_record(*bytes);
            INFO((back.ok() ? std::string() : back.error().message));
            REQUIRE(back.ok());
            CHECK(*back == c.list);
        }
    }
}

TEST_CASE("the wire format is exactly the documented one", "[unit]") {
    AttrList inner;
    inner.add_int("n", 7);
    AttrList list;
    list.add("protocol", "cleanup_protocol").add_int("version", -1).add_list("l", inner);
    auto bytes = encode_record(list);
    REQUIRE(bytes.ok());
    CHECK(*bytes == "protocol\0scleanup_protocol\0version\0i-1\0l\0ln\0i7\0\0\0"s);
    CHECK(*encode_record(AttrList()) == "\0"s);
}

TEST_CASE("the encoder refuses what the decoder would refuse", "[unit]") {
    struct Case {
        const char* name;
        AttrList list;
        const char* error;
    };
    AttrList too_deep;
    too_deep.add("leaf", "x");
    for (std::size_t i = 0; i < kMaxNestingDepth + 1; ++i) {
        AttrList outer;
        outer.add_list("n", too_deep);
        too_deep = outer;
    }
    AttrList too_many;
    for (std::size_t i = 0; i <= kMaxAttrsPerList; ++i) too_many.add_int("a" + std::to_string(i), 1);
    AttrList too_big;
    for (int i = 0; i < 5; ++i) too_big.add("v" + std::to_string(i), std::string(kMaxStringLength, 'x'));
    std::array<Case, 9> cases = {{
        {"empty name", AttrList().add("", "x"), "bad attribute name"},
        {"upper-case name", AttrList().add("Name", "x"), "bad attribute name"},
        {"name with '='", AttrList().add("a=b", "x"), "bad attribute name"},
        {"name too long", AttrList().add(std::string(kMaxNameLength + 1, 'a'), "x"), "bad attribute name"},
        {"duplicate", AttrList().add("a", "x").add_int("a", 1), "duplicate attribute \"a\""},
        {"NUL in string", AttrList().add("a", "x\0y"s), "contains a NUL"},
        {"string too long", AttrList().add("a", std::string(kMaxStringLength + 1, 'x')), "is 262145 bytes"},
        {"too deep", too_deep, "nested deeper"},
        {"too many", too_many, "1025 attributes"},
    }};
    for (const Case& c : cases) {
        SECTION(c.name) {
            auto bytes = encode_record(c.list);
            REQUIRE_FALSE(bytes.ok());
            CHECK_THAT(bytes.error().message, Catch::Contains(c.error));
        }
    }
    SECTION("record too long") {
        auto bytes = encode_record(too_big);
        REQUIRE_FALSE(bytes.ok());
        CHECK_THAT(bytes.error().message, Catch::Contains("longer than"));
    }
}

TEST_CASE("the decoder fails loudly on every malformed record", "[unit]") {
    struct Case {
        const char* name;
        std::string bytes;
        const char* error;
    };
    std::string deep;
    for (std::size_t i = 0; i < kMaxNestingDepth + 1; ++i) deep += "n\0l"s;
    deep += "x\0s\0"s;
    std::string many;
    for (std::size_t i = 0; i <= kMaxAttrsPerList; ++i) many += "a" + std::to_string(i) + "\0i1\0"s;
    many += "\0"s;
    const std::array<Case, 24> cases = {{
        {"empty input", "", "truncated"},
        {"name without NUL", "protocol", "truncated"},
        {"no tag", "a\0"s, "truncated"},
        {"string without NUL", "a\0sxyz"s, "truncated"},
        {"no final NUL", "a\0sx\0"s, "truncated"},
        {"unterminated list", "a\0lb\0i1\0\0"s.substr(0, 8) + "\0"s, "truncated"},
        {"leftover bytes", "a\0sx\0\0junk"s, "4 bytes left over"},
        {"second record", "\0\0"s, "1 bytes left over"},
        {"bad name byte", "Ab\0sx\0\0"s, "bad character 0x41"},
        {"space in name", "a b\0sx\0\0"s, "bad character 0x20"},
        {"name too long", std::string(kMaxNameLength + 1, 'a') + "\0sx\0\0"s, "attribute name longer than 64"},
        {"unknown tag", "a\0x1\0\0"s, "unknown value tag 0x78"},
        {"duplicate string", "a\0sx\0a\0sy\0\0"s, "duplicate attribute \"a\""},
        {"duplicate list", "a\0sx\0a\0l\0\0"s, "duplicate attribute \"a\""},
        {"duplicate in nested list", "l\0la\0i1\0a\0i2\0\0\0"s, "duplicate attribute \"a\""},
        {"empty integer", "a\0i\0\0"s, "bad value \"\""},
        {"plus sign", "a\0i+1\0\0"s, "bad value \"+1\""},
        {"leading zero", "a\0i01\0\0"s, "bad value \"01\""},
        {"minus zero", "a\0i-0\0\0"s, "bad value \"-0\""},
        {"trailing garbage in integer", "a\0i12a\0\0"s, "bad value \"12a\""},
        {"integer overflow", "a\0i9223372036854775808\0\0"s, "bad value"},
        {"integer too long", "a\0i123456789012345678901\0\0"s, "longer than 20 characters"},
        {"nesting too deep", deep, "nested deeper"},
        {"too many attributes", many, "more than 1024 attributes"},
    }};
    for (const Case& c : cases) {
        SECTION(c.name) {
            auto r = decode_record(c.bytes);
            REQUIRE_FALSE(r.ok());
            CHECK_FALSE(r.error().temporary());
            CHECK_THAT(r.error().message, Catch::Contains(c.error));
        }
    }
    SECTION("string too long") {
        auto r = decode_record("a\0s"s + std::string(kMaxStringLength + 1, 'x') + "\0\0"s);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("longer than 262144 bytes"));
    }
    SECTION("record too long") {
        std::string big;
        for (int i = 0; i < 5; ++i) big += "v" + std::to_string(i) + "\0s"s + std::string(kMaxStringLength, 'x') + "\0"s;
        auto r = decode_record(big + "\0"s);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("record longer than"));
    }
    SECTION("errors name the byte offset") {
        auto r = decode_record("ab\0Q"s);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error().message, Catch::Contains("at byte 3"));
    }
}

TEST_CASE("extreme integers decode", "[unit]") {
    auto r = decode_record("a\0i-9223372036854775808\0b\0i9223372036854775807\0c\0i0\0\0"s);
    REQUIRE(r.ok());
    CHECK(*get_int(*r, "a") == std::numeric_limits<std::int64_t>::min());
    CHECK(*get_int(*r, "b") == std::numeric_limits<std::int64_t>::max());
    CHECK(*get_int(*r, "c") == 0);
}

TEST_CASE("incremental decoding byte by byte and in random chunks", "[unit]") {
    std::vector<AttrList> records = {sample_request(), AttrList(), AttrList().add("status", "0").add_int("n", 3)};
    std::string stream;
    for (const AttrList& r : records) stream += *encode_record(r);

    SECTION("one byte at a time") {
        AttrDecoder d;
        std::vector<AttrList> got;
        for (std::size_t i = 0; i < stream.size(); ++i) {
            std::size_t used = 0;
            AttrDecoder::Step step = d.feed(std::string_view(stream).substr(i, 1), &used);
            REQUIRE(used == 1);
            REQUIRE(step != AttrDecoder::Step::kError);
            if (step == AttrDecoder::Step::kRecord) got.push_back(d.take());
        }
        CHECK(d.pending_bytes() == 0);
        CHECK(got == records);
    }
    SECTION("random chunks, several records per chunk") {
        std::mt19937 rng(12345);
        for (int round = 0; round < 50; ++round) {
            AttrDecoder d;
            std::vector<AttrList> got;
            std::size_t pos = 0;
            while (pos < stream.size()) {
                std::size_t len = std::uniform_int_distribution<std::size_t>(1, 64)(rng);
                std::string_view chunk = std::string_view(stream).substr(pos, len);
                while (!chunk.empty()) {
                    std::size_t used = 0;
                    AttrDecoder::Step step = d.feed(chunk, &used);
                    REQUIRE(step != AttrDecoder::Step::kError);
                    chunk.remove_prefix(used);
                    pos += used;
                    if (step == AttrDecoder::Step::kRecord) got.push_back(d.take());
                }
            }
            CHECK(got == records);
        }
    }
    SECTION("a record stops exactly at its final NUL") {
        AttrDecoder d;
        std::size_t used = 0;
        REQUIRE(d.feed(stream, &used) == AttrDecoder::Step::kRecord);
        CHECK(used == encode_record(records[0])->size());
        CHECK(d.take() == records[0]);
    }
    SECTION("errors are sticky until reset") {
        AttrDecoder d;
        std::size_t used = 0;
        REQUIRE(d.feed("A", &used) == AttrDecoder::Step::kError);
        CHECK(d.feed("\0"s, &used) == AttrDecoder::Step::kError);
        CHECK(used == 0);
        d.reset();
        CHECK(d.feed("\0"s, &used) == AttrDecoder::Step::kRecord);
    }
    SECTION("the same error byte by byte as all at once") {
        std::string bad = "abc\0sxyz\0abc\0i1\0\0"s;
        AttrDecoder d;
        AttrDecoder::Step step = AttrDecoder::Step::kNeedMore;
        for (std::size_t i = 0; i < bad.size() && step == AttrDecoder::Step::kNeedMore; ++i) {
            std::size_t used = 0;
            step = d.feed(std::string_view(bad).substr(i, 1), &used);
        }
        REQUIRE(step == AttrDecoder::Step::kError);
        CHECK(d.error().message == decode_record(bad).error().message);
    }
}

TEST_CASE("require_attrs and the typed getters are strict", "[unit]") {
    static constexpr std::array<AttrSpec, 3> kSpecs = {{
        {"queue_id", AttrType::kString, true},
        {"nrcpt", AttrType::kInteger, true},
        {"reason", AttrType::kString, false},
    }};
    AttrList good;
    good.add("queue_id", "ABC").add_int("nrcpt", 2);
    CHECK(require_attrs(good, kSpecs, "test request").ok());

    struct Case {
        const char* name;
        AttrList list;
        const char* error;
    };
    std::array<Case, 4> cases = {{
        {"missing", AttrList().add("queue_id", "ABC"), "test request: missing required attribute \"nrcpt\""},
        {"wrong type", AttrList().add("queue_id", "ABC").add("nrcpt", "2"),
         "attribute \"nrcpt\" is a string, expected a integer"},
        {"optional wrong type", AttrList(good).add_int("reason", 1), "attribute \"reason\" is a integer"},
        {"unknown", AttrList(good).add("extra", "x"), "unexpected attribute \"extra\""},
    }};
    for (const Case& c : cases) {
        SECTION(c.name) {
            Status st = require_attrs(c.list, kSpecs, "test request");
            REQUIRE_FALSE(st.ok());
            CHECK_THAT(st.error().message, Catch::Contains(c.error));
        }
    }
    SECTION("unknown allowed when asked") {
        CHECK(require_attrs(AttrList(good).add("extra", "x"), kSpecs, "t", true).ok());
    }
    SECTION("getters") {
        CHECK(*get_string(good, "queue_id") == "ABC");
        CHECK(*get_int(good, "nrcpt") == 2);
        CHECK_THAT(get_int(good, "queue_id").error().message, Catch::Contains("is a string, expected a integer"));
        CHECK_THAT(get_string(good, "nope").error().message, Catch::Contains("missing required attribute \"nope\""));
        CHECK_FALSE(get_list(good, "nrcpt").ok());
        auto l = get_list(sample_request(), "recipients");
        REQUIRE(l.ok());
        CHECK(l->size() == 2);
    }
}

TEST_CASE("attr_list_to_string renders nested lists printably", "[unit]") {
    AttrList inner;
    inner.add_int("n", 1);
    AttrList list;
    list.add("a", "x\ty").add_list("l", inner);
    CHECK(attr_list_to_string(list) == "a=x?y, l={n=1}");
}
