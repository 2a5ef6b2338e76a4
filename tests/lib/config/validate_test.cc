// validate_test.cc - every configured value is judged by its parameter's type.
#include "lib/config/validate.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "lib/config/master_cf.h"

using namespace mailroom;
using config::Config;

namespace {

std::vector<std::string> problems_of(const std::string& main_cf, const config::TableChecker* tables = nullptr) {
    auto cfg = Config::from_text(main_cf, "/etc/mr").value();
    return config::validate_config(cfg, tables);
}

// A fake table layer: types "hash" and "regexp"; only /ok files exist.
config::TableChecker fake_tables() {
    config::TableChecker t;
    t.known_type = [](std::string_view type) { return type == "hash" || type == "regexp" || type == "static"; };
    t.check = [](std::string_view spec) -> Status {
        std::string s(spec);
        size_t colon = s.find(':');
        std::string type = s.substr(0, colon), name = s.substr(colon + 1);
        if (type != "hash" && type != "regexp" && type != "static")
            return make_error("unsupported dictionary type: " + type);
        if (type == "static" || name.rfind("/ok", 0) == 0) return ok_status();
        return make_error("open database " + name + ".db: No such file or directory");
    };
    return t;
}

}  // namespace

TEST_CASE("the issue's examples are refused with file and line", "[unit]") {
    auto p = problems_of("myhostname = mx.example\n\nmessage_size_limit = abc\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 3: bad numerical configuration: message_size_limit = abc");

    p = problems_of("smtpd_timeout = 5fortnights\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: parameter smtpd_timeout: bad time value or unit: 5fortnights");

    p = problems_of("# comment\nsmtpd_peername_lookup = perhaps\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 2: bad boolean configuration: smtpd_peername_lookup = perhaps");

    auto tables = fake_tables();
    p = problems_of("alias_maps = hash:/missing/aliases\n", &tables);
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: alias_maps: open database /missing/aliases.db: No such file or directory");

    p = problems_of("virtual_alias_maps = nosuchtype:/x\n", &tables);
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: virtual_alias_maps: unsupported dictionary type: nosuchtype");
}

TEST_CASE("integers are range-checked and times take Postfix units", "[unit]") {
    CHECK(problems_of("smtpd_timeout = 300s\nmax_idle = 2m\ndaemon_timeout = 5h\nmaximal_queue_lifetime = 1w\n")
              .empty());
    CHECK(problems_of("maximal_queue_lifetime = 5\n").empty());  // default unit d
    auto p = problems_of("smtpd_recipient_limit = 0\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: invalid smtpd_recipient_limit parameter value 0 < 1");
    p = problems_of("smtpd_tls_loglevel = 9\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: invalid smtpd_tls_loglevel parameter value 9 > 4");
    CHECK(problems_of("smtpd_timeout = 10x\n").size() == 1);
    CHECK(problems_of("smtpd_timeout = \n").size() == 1);
}

TEST_CASE("enumerations and lists of enumerated words", "[unit]") {
    CHECK(problems_of("mynetworks_style = subnet\nsmtpd_tls_security_level = may\ninet_protocols = ipv4, ipv6\n")
              .empty());
    CHECK(problems_of("smtpd_tls_security_level =\n").empty());  // empty default: allowed
    CHECK(problems_of("mynetworks_style = SUBNET\n").empty());  // case does not matter
    auto p = problems_of("mynetworks_style = galaxy\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: invalid mynetworks_style value: \"galaxy\"");
    p = problems_of("inet_protocols = ipv4 ipv5\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: invalid inet_protocols value: \"ipv5\"");
    CHECK(problems_of("smtpd_forbid_bare_newline = sometimes\n").size() == 1);
    CHECK(problems_of("mailbox_delivery_lock = fcntl, flock\n").empty());
}

TEST_CASE("the SMTP client's TLS levels: dane is refused as not implemented", "[unit]") {
    CHECK(problems_of("smtp_tls_security_level = verify\nlmtp_tls_security_level = secure\n").empty());
    auto p = problems_of("smtp_tls_security_level = dane\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: invalid smtp_tls_security_level value: \"dane\": DANE is not "
                  "implemented; use encrypt, verify or secure");
    CHECK(problems_of("lmtp_tls_security_level = dane-only\n").size() == 1);
}

TEST_CASE("restriction lists: names, arguments, classes, tables", "[unit]") {
    auto tables = fake_tables();
    CHECK(problems_of("smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,\n"
                      "  check_recipient_access hash:/ok/access, reject_rbl_client zen.example=127.0.0.2\n",
                      &tables)
              .empty());
    auto p = problems_of("smtpd_client_restrictions = permit_mynetwork\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: smtpd_client_restrictions: unknown smtpd restriction: \"permit_mynetwork\"");
    p = problems_of("smtpd_sender_restrictions = check_sender_access\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] ==
          "/etc/mr/main.cf, line 1: smtpd_sender_restrictions: restriction check_sender_access requires a table argument");
    p = problems_of("smtpd_helo_restrictions = check_helo_access hash:/gone/helo\n", &tables);
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: smtpd_helo_restrictions: open database /gone/helo.db: No such file or directory");
    p = problems_of("smtpd_recipient_restrictions = check_policy_service unix:private/policy\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0].find("\"check_policy_service\" is not supported by this mail system") != std::string::npos);

    // A class is a restriction name, and its own value is a restriction list.
    CHECK(problems_of("smtpd_restriction_classes = strict\nstrict = reject_unknown_sender_domain, reject\n"
                      "smtpd_recipient_restrictions = strict, permit\n")
              .empty());
    p = problems_of("smtpd_restriction_classes = strict\nstrict = reject_bogus\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 2: strict: unknown smtpd restriction: \"reject_bogus\"");
    // An implicit access table (type:table alone) is checked as a table.
    p = problems_of("smtpd_client_restrictions = hash:/gone/clients\n", &tables);
    REQUIRE(p.size() == 1);
}

TEST_CASE("tables in lists: a reference to another parameter is that parameter's business", "[unit]") {
    auto tables = fake_tables();
    // alias_maps keeps its default (hash:/etc/aliases, missing here): the
    // line that only names it is not blamed.
    CHECK(problems_of("local_recipient_maps = $alias_maps\n", &tables).empty());
    // A table written on the line is checked, also after expansion.
    auto p = problems_of("dir = /gone\nvirtual_mailbox_maps = hash:$dir/vmailbox, static:x\n", &tables);
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 2: virtual_mailbox_maps: open database /gone/vmailbox.db: No such file or directory");
    // A plain list element with a known table type is a table; others are not.
    CHECK(problems_of("mydestination = hash:/gone/domains\n", &tables).size() == 1);
    CHECK(problems_of("mynetworks = 127.0.0.0/8 [::1]/128\n", &tables).empty());
    // A maps element without type: is an error.
    p = problems_of("transport_maps = /etc/transport\n", &tables);
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/main.cf, line 1: transport_maps: table \"/etc/transport\": need type:name");
}

TEST_CASE("only the last definition is judged, defaults never", "[unit]") {
    CHECK(problems_of("message_size_limit = abc\nmessage_size_limit = 100\n").empty());
    CHECK(problems_of("").empty());
    CHECK(problems_of("helper = abc\n").empty());  // unknown: the unused-parameter warning's business
    auto p = problems_of("a = $b\nb = $a\nmyhostname = $a\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0].find("line 3: ") != std::string::npos);
    CHECK(p[0].find("recursive") != std::string::npos);
}

TEST_CASE("master.cf -o overrides are judged with the service's file and line", "[unit]") {
    auto cfg = Config::from_text("smtpd_timeout = 60s\n", "/etc/mr").value();
    auto services = config::parse_master_cf("smtp inet n - n - - smtpd\n"
                                            "submission inet n - n - - smtpd\n"
                                            "  -o smtpd_timeout=5fortnights -o smtpd_tls_security_level=encrypt\n",
                                            "/etc/mr/master.cf");
    REQUIRE(services.ok());
    cfg.set_services(*services);
    auto p = config::validate_config(cfg);
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "/etc/mr/master.cf, line 2: service submission: parameter smtpd_timeout: bad time value or unit: "
                  "5fortnights");
}

TEST_CASE("validate_param judges one effective value", "[unit]") {
    auto cfg = Config::from_text("message_size_limit = 1k\n", "/etc/mr").value();
    CHECK_FALSE(config::validate_param(cfg, "message_size_limit").ok());
    CHECK(config::validate_param(cfg, "smtpd_timeout").ok());
    cfg.set_override("message_size_limit", "2048");
    CHECK(config::validate_param(cfg, "message_size_limit").ok());
    CHECK(config::restriction_kind("CHECK_CLIENT_ACCESS") == config::RestrictionKind::kTable);
    CHECK(config::restriction_kind("reject_rhsbl_sender") == config::RestrictionKind::kDomain);
    CHECK(config::restriction_kind("nonsense") == config::RestrictionKind::kUnknown);
}

TEST_CASE("validate_params names where a declared parameter was set", "[unit]") {
    auto cfg = Config::from_text("smtpd_timeout = 60s\n\nmessage_size_limit = abc\n", "/etc/mr").value();
    auto st = config::validate_params(cfg, {"smtpd_timeout", "max_idle", "message_size_limit"});
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message == "/etc/mr/main.cf, line 3: bad numerical configuration: message_size_limit = abc");
    CHECK(config::validate_params(cfg, {"smtpd_timeout", "max_idle"}).ok());
    cfg.set_override("smtpd_timeout", "soon");
    st = config::validate_params(cfg, {"smtpd_timeout"});
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message == "-o smtpd_timeout=soon: parameter smtpd_timeout: bad time value or unit: soon");
}
