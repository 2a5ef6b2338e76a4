// smtpd_check_fixture.h - what the restriction evaluator's tests share: a
// temporary directory, a fake DNS resolver, a table that is always down, the
// seed's domain classes and users, and a log capture.
#ifndef MAILROOM_TESTS_SMTPD_CHECK_FIXTURE_H
#define MAILROOM_TESTS_SMTPD_CHECK_FIXTURE_H

#include "smtpd/smtpd_check.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace smtpd_check_test {

using namespace mailroom;
using namespace mailroom::smtpd;


class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/smtpd_check_test.XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() {
        for (const auto& f : files_) unlink(f.c_str());
        rmdir(path_.c_str());
    }
    // Writes a postmap-format source file and returns "texthash:PATH".
    std::string texthash(const std::string& name, const std::string& text) {
        std::string p = path_ + "/" + name;
        std::ofstream(p) << text;
        files_.push_back(p);
        return "texthash:" + p;
    }

private:
    std::string path_;
    std::vector<std::string> files_;
};

class FakeDns : public DnsResolver {
public:
    std::map<std::string, DnsStatus> hosts;
    std::map<std::string, DnsStatus> domains;
    std::map<std::string, DnsListAnswer> lists;
    std::vector<std::string> queries;

    DnsStatus lookup_host(std::string_view name) override {
        queries.emplace_back(name);
        auto it = hosts.find(std::string(name));
        return it == hosts.end() ? DnsStatus::kNotFound : it->second;
    }
    DnsStatus lookup_mail_domain(std::string_view domain) override {
        queries.emplace_back(domain);
        auto it = domains.find(std::string(domain));
        return it == domains.end() ? DnsStatus::kNotFound : it->second;
    }
    DnsListAnswer lookup_dnsxl(std::string_view query) override {
        queries.emplace_back(query);
        auto it = lists.find(std::string(query));
        return it == lists.end() ? DnsListAnswer{} : it->second;
    }
};

// A table whose every lookup fails temporarily (a database that is down).
class DownTable : public table::Table {
public:
    DownTable() : Table("mysql", "/etc/down.cf") {}
    table::LookupResult lookup(std::string_view) override { return make_temp_error("server went away"); }
};

// The seed's domains: mydestination = $myhostname, $mydomain, localhost.
inline AddressClass seed_classify(std::string_view domain) {
    std::string d = util::lowercase(domain);
    if (d == "mail.yuliang.com" || d == "yuliang.com" || d == "localhost") return AddressClass::kLocal;
    if (d == "virt.example") return AddressClass::kVirtualMailbox;
    if (d == "alias.example") return AddressClass::kVirtualAlias;
    if (d == "relayed.example") return AddressClass::kRelay;
    return AddressClass::kDefault;
}

struct Fixture {
    TempDir dir;
    FakeDns dns;
    std::map<std::string, bool> users = {{"openstack@yuliang.com", true}, {"hadoop@yuliang.com", true},
                                         {"root@yuliang.com", true},      {"u@virt.example", true},
                                         {"known@relayed.example", true}};

    CheckHooks hooks() {
        CheckHooks h;
        h.classify_domain = seed_classify;
        h.lookup_user = [this](std::string_view addr, AddressClass) {
            if (addr.find("tempfail") != std::string_view::npos) return UserLookup::kTempFail;
            return users.count(util::lowercase(addr)) ? UserLookup::kFound : UserLookup::kNotFound;
        };
        h.dns = &dns;
        return h;
    }
};

inline SessionState session(std::string name, std::string addr) {
    SessionState s;
    s.client_name = std::move(name);
    s.client_addr = std::move(addr);
    return s;
}

// Captures log lines for the duration of a test.
struct LogCapture {
    std::vector<std::string> lines;
    LogCapture() {
        log::set_capture([this](log::Level level, const std::string& text) {
            lines.push_back(log::level_prefix(level) + text);
        });
    }
    ~LogCapture() { log::set_capture(nullptr); }
    bool contains(std::string_view needle) const {
        for (const auto& l : lines) {
            if (l.find(needle) != std::string::npos) return true;
        }
        return false;
    }
};

inline std::string outcome(const CheckResult& r) {
    switch (r.verdict) {
    case Verdict::kPermit:
        return "permit";
    case Verdict::kDunno:
        return "dunno";
    case Verdict::kReject:
        return r.reply.text();
    }
    return "?";
}

}  // namespace smtpd_check_test

#endif
