// smtpd_sasl_test.cc - the smtpd_sasl_* parameters: Postfix's defaults,
// security options, the refusal of SASL types other than cyrus, and
// Cyrus's error words.
#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <sasl/sasl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>

#include "lib/util/strings.h"
#include "smtpd/smtpd_protocol.h"
#include "smtpd/smtpd_sasl.h"

using namespace mailroom;
using namespace mailroom::smtpd;

namespace {
Result<SaslConfig> sasl_config(const std::string& text) {
    auto cfg = config::Config::from_text(text, "/nonexistent");
    REQUIRE(cfg.ok());
    return SaslConfig::from_config(*cfg);
}
}  // namespace

TEST_CASE("SASL parameters have Postfix's defaults", "[sasl]") {
    auto c = sasl_config("");
    REQUIRE(c.ok());
    CHECK_FALSE(c->enabled);
    CHECK(c->path == "smtpd");
    CHECK(c->service == "smtp");
    CHECK(c->config_path.empty());
    CHECK(c->local_domain.empty());
    CHECK(c->security_flags == SASL_SEC_NOANONYMOUS);
    CHECK(c->tls_security_flags == SASL_SEC_NOANONYMOUS);
    CHECK_FALSE(c->broken_clients);
    CHECK_FALSE(c->authenticated_header);
    CHECK(c->response_limit == 12288);
}

TEST_CASE("The seed's SASL settings", "[sasl]") {
    auto c = sasl_config(
        "myhostname = mail.yuliang.com\nbroken_sasl_auth_clients = yes\nsmtpd_sasl_auth_enable = yes\n"
        "smtpd_sasl_local_domain = $myhostname\nsmtpd_sasl_security_options = noanonymous\n"
        "smtpd_sasl_path = smtpd\n");
    REQUIRE(c.ok());
    CHECK(c->enabled);
    CHECK(c->broken_clients);
    CHECK(c->local_domain == "mail.yuliang.com");
    CHECK(c->security_flags == SASL_SEC_NOANONYMOUS);
}

TEST_CASE("SASL security options map to Cyrus flags", "[sasl]") {
    auto f = parse_sasl_security_options("noanonymous, noplaintext noactive,nodictionary mutual_auth forward_secrecy");
    REQUIRE(f.ok());
    CHECK(*f == (SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT | SASL_SEC_NOACTIVE | SASL_SEC_NODICTIONARY |
                 SASL_SEC_MUTUAL_AUTH | SASL_SEC_FORWARD_SECRECY));
    CHECK(*parse_sasl_security_options("") == 0u);
    CHECK_FALSE(parse_sasl_security_options("noanonymous, strong").ok());
    auto c = sasl_config("smtpd_sasl_security_options = noanonymous, noplaintext\n");
    REQUIRE(c.ok());
    CHECK(c->tls_security_flags == (SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT));  // follows by default
    c = sasl_config("smtpd_sasl_security_options = noanonymous, noplaintext\nsmtpd_sasl_tls_security_options = noanonymous\n");
    REQUIRE(c.ok());
    CHECK(c->tls_security_flags == SASL_SEC_NOANONYMOUS);
    CHECK_FALSE(sasl_config("smtpd_sasl_tls_security_options = bogus\n").ok());
}

TEST_CASE("Only the cyrus and authd SASL types are accepted", "[sasl]") {
    auto c = sasl_config("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().message.find("unsupported SASL server implementation: dovecot") != std::string::npos);
    CHECK(sasl_config("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\n").ok());
    CHECK(sasl_config("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = authd\n").ok());
}

TEST_CASE("With smtpd_sasl_type = authd, smtpd_sasl_path names authd's socket", "[sasl]") {
    auto c = sasl_config("queue_directory = /var/spool/mr\nsmtpd_sasl_type = authd\n");
    REQUIRE(c.ok());
    CHECK(c->type == "authd");
    CHECK(c->authd_socket == "/var/spool/mr/private/authd");  // the Cyrus default "smtpd" means authd's
    CHECK(c->authd_timeout == std::chrono::seconds(5));
    CHECK(c->failure_delay == std::chrono::seconds(0));
    c = sasl_config("queue_directory = /var/spool/mr\nsmtpd_sasl_type = authd\nsmtpd_sasl_path = private/auth2\n"
                    "authd_client_timeout = 3s\nsmtpd_sasl_failure_delay = 1\n");
    REQUIRE(c.ok());
    CHECK(c->authd_socket == "/var/spool/mr/private/auth2");
    CHECK(c->authd_timeout == std::chrono::seconds(3));
    CHECK(c->failure_delay == std::chrono::seconds(1));
    c = sasl_config("smtpd_sasl_type = authd\nsmtpd_sasl_path = /run/courier/authdaemon/socket\n");
    REQUIRE(c.ok());
    CHECK(c->authd_socket == "/run/courier/authdaemon/socket");
    auto sasl = CyrusSasl::init(*sasl_config("smtpd_sasl_type = authd\n"), "mx.example.com");
    REQUIRE(sasl.ok());
    CHECK((*sasl)->mechanisms(false) == std::vector<std::string>{"PLAIN", "LOGIN"});
    sasl = CyrusSasl::init(*sasl_config("smtpd_sasl_type = authd\nsmtpd_sasl_security_options = noplaintext\n"
                                        "smtpd_sasl_tls_security_options = noanonymous\n"),
                           "mx.example.com");
    REQUIRE(sasl.ok());
    CHECK((*sasl)->mechanisms(false).empty());
    CHECK((*sasl)->mechanisms(true) == std::vector<std::string>{"PLAIN", "LOGIN"});
    // auth_mechanisms (Dovecot's name) adds CRAM-MD5, which noplaintext keeps.
    sasl = CyrusSasl::init(*sasl_config("smtpd_sasl_type = authd\nauth_mechanisms = plain, cram-md5\n"
                                        "smtpd_sasl_security_options = noanonymous, noplaintext\n"
                                        "smtpd_sasl_tls_security_options = noanonymous\n"),
                           "mx.example.com");
    REQUIRE(sasl.ok());
    CHECK((*sasl)->mechanisms(false) == std::vector<std::string>{"CRAM-MD5"});
    CHECK((*sasl)->mechanisms(true) == std::vector<std::string>{"PLAIN", "CRAM-MD5"});
    CHECK_FALSE(sasl_config("smtpd_sasl_type = authd\nauth_mechanisms = plain digest-md5\n").ok());
    // APOP is pop3d's mechanism: smtpd leaves it out instead of refusing to start.
    c = sasl_config("smtpd_sasl_type = authd\nauth_mechanisms = plain login apop\n");
    REQUIRE(c.ok());
    CHECK(c->authd_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN"});
}

TEST_CASE("Cyrus's application file: pwcheck_method authdaemond bounds a step by authd_client_timeout", "[sasl]") {
    char tmpl[] = "/tmp/sasl-conf-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string first = std::string(tmpl) + "/a", second = std::string(tmpl) + "/b";
    REQUIRE(::mkdir(first.c_str(), 0700) == 0);
    REQUIRE(::mkdir(second.c_str(), 0700) == 0);
    auto write = [](const std::string& path, const std::string& text) {
        std::ofstream out(path);
        out << text;
    };
    write(second + "/smtpd.conf", "# the seed's file\npwcheck_method: authdaemond\nlog_level: 3\n"
                                  "mech_list:PLAIN LOGIN\nauthdaemond_path:/var/spool/authdaemon/socket\n");
    write(second + "/other.conf", "pwcheck_method: saslauthd\n");
    const std::string dirs = first + ":" + second;
    CHECK(cyrus_app_option(dirs, "smtpd", "pwcheck_method") == std::optional<std::string>("authdaemond"));
    CHECK(cyrus_app_option(dirs, "smtpd", "mech_list") == std::optional<std::string>("PLAIN LOGIN"));
    CHECK_FALSE(cyrus_app_option(dirs, "smtpd", "auxprop_plugin").has_value());
    CHECK_FALSE(cyrus_app_option(dirs, "missing", "pwcheck_method").has_value());
    // Only the first directory holding the file counts, as libsasl2 reads it.
    write(first + "/smtpd.conf", "mech_list: CRAM-MD5\n");
    CHECK_FALSE(cyrus_app_option(dirs, "smtpd", "pwcheck_method").has_value());
    CHECK(cyrus_config_dirs("/etc/postfix/sasl") == "/etc/postfix/sasl");
    // The built-in list follows the architecture's library directory.
    CHECK(cyrus_default_config_dirs("/usr/lib/aarch64-linux-gnu") ==
          "/etc/sasl2:/etc/sasl:/usr/lib/aarch64-linux-gnu/sasl2:/usr/lib/sasl2");
    CHECK(cyrus_default_config_dirs("/usr/lib") == "/etc/sasl2:/etc/sasl:/usr/lib/sasl2");

    ::unlink((first + "/smtpd.conf").c_str());
    auto c = sasl_config("smtpd_sasl_auth_enable = yes\nauthd_client_timeout = 4s\ncyrus_sasl_config_path = " +
                         dirs + "\n");
    REQUIRE(c.ok());
    CHECK(c->cyrus_step_timeout == std::chrono::seconds(4));
    c = sasl_config("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_path = other\ncyrus_sasl_config_path = " + dirs +
                    "\n");
    REQUIRE(c.ok());
    CHECK(c->cyrus_step_timeout == std::chrono::seconds(20));
    for (const char* f : {"/b/smtpd.conf", "/b/other.conf"}) ::unlink((std::string(tmpl) + f).c_str());
    ::rmdir(first.c_str());
    ::rmdir(second.c_str());
    ::rmdir(tmpl);
}

TEST_CASE("Cyrus statuses read as Postfix shows them", "[sasl]") {
    CHECK(sasl_status_text(SASL_BADAUTH) == "authentication failure");
    CHECK(sasl_status_text(SASL_NOMECH) == "no mechanism available");
    CHECK(sasl_status_text(SASL_NOUSER) == "user not found");
}

TEST_CASE("EHLO lists AUTH, and AUTH= for broken clients", "[sasl]") {
    EhloOptions o;
    o.myhostname = "mail.yuliang.com";
    o.auth_mechanisms = {"PLAIN", "LOGIN"};
    o.broken_sasl_auth_clients = true;
    auto k = ehlo_keywords(o);
    REQUIRE(k.size() >= 6);
    CHECK(k[4] == "AUTH PLAIN LOGIN");
    CHECK(k[5] == "AUTH=PLAIN LOGIN");
    o.discard = {"auth"};
    for (const auto& kw : ehlo_keywords(o)) CHECK(kw.rfind("AUTH", 0) != 0);
}

TEST_CASE("the default Cyrus directories hold the plugin directory of the libsasl2 in use", "[sasl]") {
    // Where the dynamic loader found libsasl2: its plugins live beside it
    // in sasl2/ (Debian's multiarch directory on every architecture).
    Dl_info info{};
    REQUIRE(::dladdr(reinterpret_cast<void*>(&sasl_server_init), &info) != 0);
    REQUIRE(info.dli_fname != nullptr);
    std::string lib = info.dli_fname;
    std::string plugins = lib.substr(0, lib.rfind('/')) + "/sasl2";
    char want[PATH_MAX];
    if (::realpath(plugins.c_str(), want) == nullptr) {
        WARN("no " << plugins << " (libsasl2-modules is not installed)");
        return;
    }
    const char* saved = std::getenv("SASL_CONF_PATH");
    std::string keep = saved ? saved : "";
    ::unsetenv("SASL_CONF_PATH");
    std::string dirs = cyrus_config_dirs("");
    if (saved) ::setenv("SASL_CONF_PATH", keep.c_str(), 1);
    bool found = false;
    for (const std::string& dir : mailroom::util::split(dirs, ":")) {
        char got[PATH_MAX];
        if (::realpath(dir.c_str(), got) != nullptr && std::string(got) == want) found = true;
    }
    INFO(dirs << " lacks " << want);
    CHECK(found);
}
