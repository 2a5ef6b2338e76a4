// anvil_proto_test.cc - the anvil request and reply codec.
#include <catch2/catch.hpp>

#include "lib/anvil/anvil_proto.h"
#include "lib/ipc/attr.h"

using namespace mailroom;
using namespace mailroom::anvil;

TEST_CASE("anvil_proto requests round-trip through the wire format", "[unit]") {
    for (RequestType t : {RequestType::kConnect, RequestType::kDisconnect, RequestType::kMessage,
                          RequestType::kRecipient, RequestType::kLookup}) {
        Request r{t, make_ident("smtp", "192.0.2.1")};
        auto bytes = ipc::encode_record(encode_request(r));
        REQUIRE(bytes.ok());
        auto back = ipc::decode_record(*bytes);
        REQUIRE(back.ok());
        auto req = decode_request(*back);
        REQUIRE(req.ok());
        CHECK(req->type == t);
        CHECK(req->ident == "smtp:192.0.2.1");
    }
    CHECK(request_name(RequestType::kRecipient) == "recipient");
    CHECK(request_type("connect") == RequestType::kConnect);
    CHECK_FALSE(request_type("newtls").has_value());
}

TEST_CASE("anvil_proto idents are printable", "[unit]") {
    CHECK(make_ident("127.0.0.1:25", "2001:db8::1") == "127.0.0.1:25:2001:db8::1");
    CHECK(make_ident("smtp", std::string("a\nb\x7f", 4)) == "smtp:a?b?");
}

TEST_CASE("anvil_proto rejects malformed requests", "[unit]") {
    ipc::AttrList no_ident;
    no_ident.add("request", "connect");
    CHECK_FALSE(decode_request(no_ident).ok());

    ipc::AttrList extra;
    extra.add("request", "connect").add("ident", "smtp:1.2.3.4").add("other", "x");
    CHECK_FALSE(decode_request(extra).ok());

    ipc::AttrList long_ident;
    long_ident.add("request", "connect").add("ident", std::string(kMaxIdentLength + 1, 'a'));
    CHECK_FALSE(decode_request(long_ident).ok());

    ipc::AttrList wrong_type;
    wrong_type.add_int("request", 1).add("ident", "smtp:1.2.3.4");
    CHECK_FALSE(decode_request(wrong_type).ok());

    std::string unknown;
    ipc::AttrList newtls;
    newtls.add("request", "newtls").add("ident", "smtp:1.2.3.4");
    auto r = decode_request(newtls, &unknown);
    CHECK_FALSE(r.ok());
    CHECK(unknown == "newtls");
}

TEST_CASE("anvil_proto replies carry the attributes of their request", "[unit]") {
    Reply in;
    in.count = 3;
    in.rate = 7;
    in.mail = 2;
    in.rcpt = 9;
    auto connect = encode_reply(RequestType::kConnect, in);
    CHECK(ipc::attr_list_to_string(connect) == "status=0, count=3, rate=7");
    auto disc = encode_reply(RequestType::kDisconnect, in);
    CHECK(ipc::attr_list_to_string(disc) == "status=0");
    auto msg = encode_reply(RequestType::kMessage, in);
    CHECK(ipc::attr_list_to_string(msg) == "status=0, rate=7");
    auto look = encode_reply(RequestType::kLookup, in);
    auto back = decode_reply(RequestType::kLookup, look);
    REQUIRE(back.ok());
    CHECK(back->count == 3);
    CHECK(back->rate == 7);
    CHECK(back->mail == 2);
    CHECK(back->rcpt == 9);
    // A failed status may stand alone; a successful one may not.
    ipc::AttrList fail;
    fail.add_int("status", kStatusFail);
    auto f = decode_reply(RequestType::kConnect, fail);
    REQUIRE(f.ok());
    CHECK(f->status == kStatusFail);
    ipc::AttrList ok_short;
    ok_short.add_int("status", kStatusOk);
    CHECK_FALSE(decode_reply(RequestType::kConnect, ok_short).ok());
    CHECK_FALSE(decode_reply(RequestType::kMessage, connect).ok());  // count is not a message reply's
}
