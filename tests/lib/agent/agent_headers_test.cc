// agent_headers_test.cc - the prepended delivery headers and the Delivered-To loop check.
#include "lib/agent/agent_headers.h"

#include <catch2/catch.hpp>

using namespace mailroom::agent;

TEST_CASE("delivery prefix in Postfix's order", "[unit]") {
    PrefixFlags all{false, true, true, true};
    CHECK(delivery_prefix("hadoop@PXE1.localdomain", "openstack", "openstack@PXE1.localdomain", all, 0) ==
          "Return-Path: <hadoop@PXE1.localdomain>\n"
          "X-Original-To: openstack\n"
          "Delivered-To: openstack@PXE1.localdomain\n");
    CHECK(delivery_prefix("", "", "u@x", all, 0) == "Return-Path: <>\nX-Original-To: u@x\nDelivered-To: u@x\n");
    PrefixFlags dr{false, true, false, true};
    CHECK(delivery_prefix("s@x", "o@x", "u@x", dr, 0) == "Return-Path: <s@x>\nDelivered-To: u@x\n");
    PrefixFlags none;
    CHECK(delivery_prefix("s@x", "o@x", "u@x", none, 0).empty());
    PrefixFlags from{true, false, false, false};
    std::string f = delivery_prefix("", "", "u@x", from, 0);
    CHECK(f.rfind("From MAILER-DAEMON  ", 0) == 0);  // two spaces before the date
    CHECK(f.back() == '\n');
}

TEST_CASE("Delivered-To loop detection", "[unit]") {
    std::string msg =
        "Received: from x\n"
        "Delivered-To: Other@example.com\n"
        "Delivered-To:\n  User@Example.COM \n"
        "Subject: hi\n"
        "\n"
        "Delivered-To: body@example.com\n";
    CHECK(delivered_to_loop(msg, "user@example.com"));
    CHECK(delivered_to_loop(msg, "other@example.com"));
    CHECK(!delivered_to_loop(msg, "body@example.com"));
    CHECK(!delivered_to_loop(msg, "nobody@example.com"));
    CHECK(!delivered_to_loop("X-Delivered-To: user@example.com\n\n", "user@example.com"));
    CHECK(delivered_to_loop("delivered-to: a@b\r\n\r\n", "a@b"));
    CHECK(delivered_to_loop("Subject: x\nDelivered-To: a@b", "a@b"));
    CHECK(!delivered_to_loop("", "a@b"));
}
