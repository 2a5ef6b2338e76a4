// record_test.cc - the typed-record codec, payload checks and segment rules.
#include "lib/queue/record.h"

#include <catch2/catch.hpp>
#include <array>
#include <string>
#include <vector>

using namespace mailroom;
using namespace mailroom::queue;
using namespace std::string_literals;

namespace {

std::string rec(RecordType type, std::string_view payload) {
    std::string out;
    REQUIRE(append_record(&out, type, payload).ok());
    return out;
}

struct Rec {
    RecordType type;
    std::string payload;
};

// Runs a record sequence through a checker; returns "" or the first error.
std::string check_sequence(StreamKind kind, const std::vector<Rec>& recs, bool finish = true) {
    SegmentChecker c(kind);
    std::uint64_t off = 0;
    for (const Rec& r : recs) {
        if (Status st = c.check(r.type, r.payload, off); !st) return st.error().message;
        off += encoded_record_length(r.payload.size());
    }
    if (finish) {
        if (Status st = c.finish(off); !st) return st.error().message;
    }
    return "";
}

std::vector<Rec> minimal_file() {
    return {{RecordType::kSize, format_size_payload({})},
            {RecordType::kArrivalTime, "1700000000.000123"},
            {RecordType::kSender, "alice@example.com"},
            {RecordType::kRecipient, "Pbob@example.org"},
            {RecordType::kContentStart, ""},
            {RecordType::kNormal, "Subject: hi"},
            {RecordType::kExtractedStart, ""},
            {RecordType::kEnd, ""}};
}

}  // namespace

TEST_CASE("the size field boundaries", "[unit]") {
    struct Case {
        std::size_t length;
        std::size_t size_bytes;
    };
    const std::array<Case, 8> cases = {{{0, 1}, {1, 1}, {127, 1}, {128, 2}, {16383, 2}, {16384, 3},
                                        {kMaxPayload - 1, 3}, {kMaxPayload, 3}}};
    for (const Case& c : cases) {
        SECTION("payload of " + std::to_string(c.length) + " bytes") {
            std::string payload(c.length, 'x');
            if (c.length > 0) payload.back() = 'y';
            std::string bytes = rec(RecordType::kNormal, payload);
            CHECK(size_field_length(c.length) == c.size_bytes);
            REQUIRE(bytes.size() == 1 + c.size_bytes + c.length);
            CHECK(encoded_record_length(c.length) == bytes.size());
            DecodedRecord d;
            std::string err;
            REQUIRE(decode_record(bytes, &d, &err) == DecodeStep::kRecord);
            CHECK(d.type == RecordType::kNormal);
            CHECK(d.payload == payload);
            CHECK(d.length == bytes.size());
            // Any proper prefix needs more bytes; never an error.
            for (std::size_t cut : {std::size_t{0}, std::size_t{1}, 1 + c.size_bytes - 1, bytes.size() - 1}) {
                if (cut >= bytes.size()) continue;
                CHECK(decode_record(std::string_view(bytes).substr(0, cut), &d, &err) == DecodeStep::kNeedMore);
            }
        }
    }
}

TEST_CASE("the exact bytes of a record", "[unit]") {
    CHECK(rec(RecordType::kSender, "a@b") == "S\x03" "a@b");
    CHECK(rec(RecordType::kEnd, "") == "E\0"s);
    CHECK(rec(RecordType::kNormal, std::string(300, 'z')).substr(0, 3) == "N\xac\x02");  // 300 = 0x2c + 2*128
}

TEST_CASE("the encoder refuses an over-long payload", "[unit]") {
    std::string out;
    Status st = append_record(&out, RecordType::kNormal, std::string(kMaxPayload + 1, 'x'));
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error().message, Catch::Contains("exceeds the limit"));
    CHECK(out.empty());
}

TEST_CASE("decode errors: bad type, bad size encodings", "[unit]") {
    struct Case {
        const char* name;
        std::string bytes;
        const char* error;
    };
    const std::array<Case, 7> cases = {{
        {"unknown type letter", "Q\x01x", "bad record type Q"},
        {"control byte type", "\x01\x01x"s, "bad record type 0x01"},
        {"NUL type", "\0\0"s, "bad record type 0x00"},
        {"non-minimal size", "N\x80\x00"s, "non-minimal size encoding"},
        {"non-minimal 3-byte size", "N\x81\x80\x00"s, "non-minimal size encoding"},
        {"size field too long", "N\x80\x80\x80\x01"s, "size field longer than 3 bytes"},
        {"size over the limit", "N\x81\x80\x40"s, "exceeds the limit"},
    }};
    for (const Case& c : cases) {
        SECTION(c.name) {
            DecodedRecord d;
            std::string err;
            REQUIRE(decode_record(c.bytes, &d, &err) == DecodeStep::kError);
            CHECK_THAT(err, Catch::Contains(c.error));
        }
    }
}

TEST_CASE("the size record has a fixed width", "[unit]") {
    SizeFields f{123, 4567, 89, 2, kFormatVersion};
    std::string p = format_size_payload(f);
    CHECK(p.size() == kSizePayloadLength);
    CHECK(format_size_payload(SizeFields{}).size() == kSizePayloadLength);
    CHECK(format_size_payload(SizeFields{~0ULL, ~0ULL, ~0ULL, ~0ULL, 1}).size() == kSizePayloadLength);
    auto back = parse_size_payload(p);
    REQUIRE(back.ok());
    CHECK(back->content_offset == 123);
    CHECK(back->extracted_offset == 4567);
    CHECK(back->message_size == 89);
    CHECK(back->recipient_count == 2);
    CHECK_FALSE(parse_size_payload(p.substr(1)).ok());
    std::string bad = p;
    bad[14] = 'x';
    CHECK_FALSE(parse_size_payload(bad).ok());
    bad = p;
    bad[15] = '0';
    CHECK_FALSE(parse_size_payload(bad).ok());
    CHECK_THAT(parse_size_payload(format_size_payload(SizeFields{0, 0, 0, 0, 2})).error().message,
               Catch::Contains("unsupported queue file format version 2"));
}

TEST_CASE("payload checks per record type", "[unit]") {
    struct Case {
        RecordType type;
        std::string payload;
        bool ok;
    };
    const std::vector<Case> cases = {
        {RecordType::kArrivalTime, "1700000000.000001", true},
        {RecordType::kArrivalTime, "1700000000", false},
        {RecordType::kArrivalTime, "1700000000.1", false},
        {RecordType::kArrivalTime, ".000001", false},
        {RecordType::kArrivalTime, "17x0.000001", false},
        {RecordType::kSender, "", true},
        {RecordType::kSender, "a@b\r\n", false},
        {RecordType::kSender, std::string(kMaxAddressLength + 1, 'a'), false},
        {RecordType::kRecipient, "Pa@b", true},
        {RecordType::kRecipient, "Da@b", true},
        {RecordType::kRecipient, "P", false},
        {RecordType::kRecipient, "Xa@b", false},
        {RecordType::kAttribute, "client_name=mail.example.com", true},
        {RecordType::kAttribute, "log_ident=", true},
        {RecordType::kAttribute, "client_name", false},
        {RecordType::kAttribute, "color=blue", false},
        {RecordType::kDsnNotify, "NEVER", true},
        {RecordType::kDsnNotify, "SUCCESS,FAILURE,DELAY", true},
        {RecordType::kDsnNotify, "FAILURE", true},
        {RecordType::kDsnNotify, "NEVER,FAILURE", false},
        {RecordType::kDsnNotify, "FAILURE,FAILURE", false},
        {RecordType::kDsnNotify, "FAILURE,", false},
        {RecordType::kDsnNotify, "", false},
        {RecordType::kDsnRet, "FULL", true},
        {RecordType::kDsnRet, "HDRS", true},
        {RecordType::kDsnRet, "full", false},
        {RecordType::kDsnOrcpt, "rfc822;bob@example.org", true},
        {RecordType::kDsnOrcpt, "bob@example.org", false},
        {RecordType::kDsnEnvid, "QQ314159", true},
        {RecordType::kDsnEnvid, "has space", false},
        {RecordType::kDsnEnvid, std::string(kMaxEnvidLength + 1, 'a'), false},
        {RecordType::kContentStart, "", true},
        {RecordType::kContentStart, "x", false},
        {RecordType::kEnd, "x", false},
        {RecordType::kContinued, "", false},
        {RecordType::kNormal, "", true},
        {RecordType::kNormal, "binary \0\xff ok"s, true},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        INFO("case " << i << ": type " << record_type_name(static_cast<std::uint8_t>(c.type)) << " payload '"
                     << c.payload.substr(0, 40) << "'");
        CHECK(check_payload(c.type, c.payload).empty() == c.ok);
    }
}

TEST_CASE("segment rules accept valid sequences", "[unit]") {
    CHECK(check_sequence(StreamKind::kQueueFile, minimal_file()) == "");
    std::vector<Rec> full = {{RecordType::kSize, format_size_payload({})},
                             {RecordType::kSender, ""},
                             {RecordType::kArrivalTime, "1.000000"},
                             {RecordType::kAttribute, "client_address=192.0.2.1"},
                             {RecordType::kDsnRet, "HDRS"},
                             {RecordType::kDsnEnvid, "ID1"},
                             {RecordType::kOrigRecipient, "Bob@Example.org"},
                             {RecordType::kDsnOrcpt, "rfc822;Bob@Example.org"},
                             {RecordType::kDsnNotify, "NEVER"},
                             {RecordType::kRecipient, "Pbob@example.org"},
                             {RecordType::kRecipient, "Dcarol@example.org"},
                             {RecordType::kContentStart, ""},
                             {RecordType::kContinued, "long"},
                             {RecordType::kContinued, "er"},
                             {RecordType::kNormal, " line"},
                             {RecordType::kNormal, ""},
                             {RecordType::kExtractedStart, ""},
                             {RecordType::kAttribute, "errors_to=x@y"},
                             {RecordType::kOrigRecipient, "dave"},
                             {RecordType::kRecipient, "Pdave@example.org"},
                             {RecordType::kEnd, ""}};
    CHECK(check_sequence(StreamKind::kQueueFile, full) == "");
    std::vector<Rec> stream(full.begin() + 1, full.end());
    CHECK(check_sequence(StreamKind::kCleanupStream, stream) == "");
}

TEST_CASE("segment rules reject records out of place", "[unit]") {
    struct Case {
        const char* name;
        StreamKind kind;
        std::vector<Rec> recs;
        const char* error;
    };
    auto with = [](std::size_t at, Rec r) {
        std::vector<Rec> v = minimal_file();
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), std::move(r));
        return v;
    };
    auto without = [](std::size_t at) {
        std::vector<Rec> v = minimal_file();
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(at));
        return v;
    };
    std::vector<Rec> stream_with_size = minimal_file();
    const std::vector<Case> cases = {
        {"no size record", StreamKind::kQueueFile, without(0), "does not start with a size record"},
        {"second size record", StreamKind::kQueueFile, with(1, {RecordType::kSize, format_size_payload({})}),
         "size record not at the start"},
        {"size record in a stream", StreamKind::kCleanupStream, stream_with_size, "size record in a cleanup stream"},
        {"content line in the envelope", StreamKind::kQueueFile, with(3, {RecordType::kNormal, "x"}),
         "record N at offset 119: not allowed in the envelope segment"},
        {"recipient in the content", StreamKind::kQueueFile, with(6, {RecordType::kRecipient, "Px@y"}),
         "not allowed in the content segment"},
        {"sender in the extracted segment", StreamKind::kQueueFile, with(7, {RecordType::kSender, "x@y"}),
         "not allowed in the extracted segment"},
        {"record after the end", StreamKind::kQueueFile, with(8, {RecordType::kNormal, "x"}),
         "record after the end marker"},
        {"no arrival time", StreamKind::kQueueFile, without(1), "envelope has no arrival time"},
        {"no sender", StreamKind::kQueueFile, without(2), "envelope has no sender"},
        {"two senders", StreamKind::kQueueFile, with(2, {RecordType::kSender, "x@y"}), "second sender"},
        {"two arrival times", StreamKind::kQueueFile, with(2, {RecordType::kArrivalTime, "2.000000"}),
         "second arrival time"},
        {"two DSN RET", StreamKind::kQueueFile, [&] {
             auto v = with(2, {RecordType::kDsnRet, "FULL"});
             v.insert(v.begin() + 2, {RecordType::kDsnRet, "HDRS"});
             return v;
         }(),
         "second DSN RET"},
        {"two original recipients for one recipient", StreamKind::kQueueFile, [&] {
             auto v = with(3, {RecordType::kOrigRecipient, "a"});
             v.insert(v.begin() + 3, {RecordType::kOrigRecipient, "b"});
             return v;
         }(),
         "second original recipient"},
        {"dangling original recipient", StreamKind::kQueueFile, with(4, {RecordType::kOrigRecipient, "a"}),
         "recipient parameters not followed by a recipient"},
        {"dangling NOTIFY at the end", StreamKind::kQueueFile, with(7, {RecordType::kDsnNotify, "NEVER"}),
         "recipient parameters not followed by a recipient"},
        {"unfinished long line", StreamKind::kQueueFile, with(6, {RecordType::kContinued, "x"}),
         "content ends inside a continued line"},
        {"bad payload is reported with the record", StreamKind::kQueueFile, with(3, {RecordType::kDsnRet, "ALL"}),
         "record r at offset"},
    };
    for (const Case& c : cases) {
        SECTION(c.name) { CHECK_THAT(check_sequence(c.kind, c.recs), Catch::Contains(c.error)); }
    }
}

TEST_CASE("a sequence without its end marker is incomplete", "[unit]") {
    std::vector<Rec> v = minimal_file();
    for (std::size_t keep = 0; keep < v.size(); ++keep) {
        std::vector<Rec> part(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(keep));
        std::string err = check_sequence(StreamKind::kQueueFile, part);
        INFO("records kept: " << keep);
        CHECK_FALSE(err.empty());
        if (keep > 0) CHECK_THAT(err, Catch::Contains("missing end marker"));
    }
}

namespace {

std::vector<Rec> stream_records() {
    return {{RecordType::kArrivalTime, "1700000000.000001"},
            {RecordType::kSender, "alice@example.com"},
            {RecordType::kAttribute, "client_name=mx.example.com"},
            {RecordType::kDsnNotify, "FAILURE"},
            {RecordType::kRecipient, "Pbob@example.org"},
            {RecordType::kContentStart, ""},
            {RecordType::kNormal, "Subject: x"},
            {RecordType::kContinued, std::string(300, 'l')},
            {RecordType::kNormal, ""},
            {RecordType::kNormal, std::string(20000, 'b')},
            {RecordType::kExtractedStart, ""},
            {RecordType::kEnd, ""}};
}

std::string encode_all(const std::vector<Rec>& recs) {
    std::string out;
    for (const Rec& r : recs) REQUIRE(append_record(&out, r.type, r.payload).ok());
    return out;
}

// Feeds `bytes` in chunks of `chunk`; returns the records or the error text.
std::pair<std::vector<Rec>, std::string> feed_stream(std::string_view bytes, std::size_t chunk,
                                                     StreamKind kind = StreamKind::kCleanupStream) {
    RecordStreamDecoder d(kind);
    std::vector<Rec> got;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::string_view part = bytes.substr(pos, chunk);
        while (!part.empty()) {
            std::size_t used = 0;
            RecordStreamDecoder::Step step = d.feed(part, &used);
            REQUIRE(used <= part.size());
            part.remove_prefix(used);
            pos += used;
            if (step == RecordStreamDecoder::Step::kError) return {got, d.error().message};
            if (step == RecordStreamDecoder::Step::kRecord) got.push_back({d.type(), d.payload()});
        }
    }
    if (Status st = d.finish(); !st) return {got, st.error().message};
    return {got, ""};
}

bool same(const std::vector<Rec>& a, const std::vector<Rec>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].type != b[i].type || a[i].payload != b[i].payload) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("the cleanup stream decodes incrementally in any chunking", "[unit]") {
    std::vector<Rec> recs = stream_records();
    std::string bytes = encode_all(recs);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{4096},
                              bytes.size()}) {
        INFO("chunk " << chunk);
        auto [got, err] = feed_stream(bytes, chunk);
        CHECK(err == "");
        CHECK(same(got, recs));
    }
    // The queue-file kind takes the same records after a size record.
    std::string file = encode_all({{RecordType::kSize, format_size_payload({})}}) + bytes;
    auto [got, err] = feed_stream(file, 5, StreamKind::kQueueFile);
    CHECK(err == "");
    CHECK(got.size() == recs.size() + 1);
}

TEST_CASE("the cleanup stream decoder stops at the first bad record", "[unit]") {
    std::string good = encode_all(stream_records());
    struct Case {
        const char* name;
        std::string bytes;
        const char* error;
    };
    const std::vector<Case> cases = {
        {"size record in the stream", encode_all({{RecordType::kSize, format_size_payload({})}}) + good,
         "size record in a cleanup stream"},
        {"bad type", "Q\x01x" + good, "bad record type Q at offset 0"},
        {"non-minimal size", "T\x80\x00"s, "non-minimal size encoding at offset 0"},
        {"data after the end", good + "N\x01x", "data after the end marker"},
        {"truncated inside a record", good.substr(0, good.size() - 5), "truncated record"},
        {"truncated inside a header", good.substr(0, 1), "truncated record at offset 0"},
        {"stops between records", good.substr(0, 19 + 19), "missing end marker"},
        {"recipient in the content", [&] {
             auto r = stream_records();
             r.insert(r.begin() + 7, {RecordType::kRecipient, "Px@y"});
             return encode_all(r);
         }(),
         "not allowed in the content segment"},
        {"empty", "", "empty input"},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            for (std::size_t chunk : {std::size_t{1}, std::size_t{64}, c.bytes.size() + 1}) {
                auto [got, err] = feed_stream(c.bytes, chunk);
                INFO("chunk " << chunk);
                CHECK_THAT(err, Catch::Contains(c.error));
            }
        }
    }
}
