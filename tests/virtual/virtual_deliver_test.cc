// virtual_deliver_test.cc - virtual Maildir and mbox delivery, uid maps and VDA quotas.
#include "lib/address/addr_find.h"
#include "virtual/virtual_deliver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "lib/agent/agent_identity.h"
#include "lib/mailbox/maildir.h"
#include "lib/table/maps.h"

using namespace mailroom;
using namespace mailroom::virt;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Lookup map_lookup(const std::map<std::string, std::string>* m) {
    return [m](std::string_view key, bool) -> table::LookupResult {
        auto it = m->find(std::string(key));
        if (it == m->end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    };
}

Lookup static_lookup(std::string value) {
    return [value](std::string_view, bool) -> table::LookupResult { return std::optional<std::string>(value); };
}

// The seed's layout: /var/mailbox/<domain>/<user>/Maildir/ owned by a
// static uid (nobody's when root, the caller's otherwise).
struct Fixture {
    std::string base;
    std::map<std::string, std::string> mailboxes;
    std::map<std::string, std::string> limits;
    VirtualSettings s;
    VirtualMaps maps;
    uid_t uid;
    gid_t gid;

    Fixture() {
        char tmpl[] = "/tmp/mr-virtual-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        base = tmpl;
        uid = ::getuid();
        gid = ::getgid();
        if (agent::privileged()) {
            auto nobody = agent::resolve_user("nobody");
            REQUIRE(nobody.ok());
            uid = nobody->uid;
            gid = nobody->gid;
        }
        REQUIRE(::chown(base.c_str(), uid, gid) == 0);
        s.virtual_mailbox_base = base;
        s.virtual_minimum_uid = 0;
        s.recipient_delimiter = "+";
        s.lock.tries = 2;
        s.lock.delay_ms = 10;
        mailboxes["postmaster@extmail.org"] = "extmail.org/postmaster/Maildir/";
        mailboxes["jerry@magedu.com"] = "magedu.com/jerry/Maildir/";
        mailboxes["mbox@magedu.com"] = "magedu.com/mbox";
        mailboxes["@catchall.org"] = "catchall.org/all/";
        maps.mailbox = map_lookup(&mailboxes);
        maps.uid = static_lookup(std::to_string(uid));
        maps.gid = static_lookup(std::to_string(gid));
    }
    ~Fixture() { fs::remove_all(base); }

    agent::Outcome deliver(const std::string& rcpt, std::string_view content = "Subject: hi\n\nbody\n") {
        queue::QueueEnvelope env;
        env.sender = "root@extmail.org";
        auto m = agent::MessageCopy::from_text(env, content);
        REQUIRE(m.ok());
        agent::Job job;
        job.queue_id = "04B92147CE9";
        job.sender = "root@extmail.org";
        job.service = "virtual";
        job.recipients = {{rcpt, ""}};
        auto out = virtual_deliver(job, *m, s, maps, 0);
        REQUIRE(out.size() == 1);
        return out[0];
    }

    std::vector<std::string> maildir_files(const std::string& rel) {
        std::vector<std::string> out;
        auto e = mailbox::scan_maildir(base + "/" + rel);
        if (!e) return out;
        for (auto& x : *e) out.push_back(base + "/" + rel + "/" + x.subdir + "/" + x.filename);
        return out;
    }
};

}  // namespace

TEST_CASE("virtual lookup keys follow Postfix's order", "[unit]") {
    // virtual(8) asks lib/address for kFindVirtualMailbox keys: no local-part keys.
    auto keys = [](const char* address, const char* delim) {
        address::FindOptions o;
        o.recipient_delimiter = delim;
        o.strategy = address::kFindVirtualMailbox;
        o.domain_is_local = true;
        std::vector<std::string> out;
        for (const auto& k : address::lookup_keys(address, o)) out.push_back(k.text);
        return out;
    };
    CHECK(keys("user+ext@magedu.com", "+") ==
          std::vector<std::string>{"user+ext@magedu.com", "user@magedu.com", "@magedu.com"});
    CHECK(keys("user@magedu.com", "+") == std::vector<std::string>{"user@magedu.com", "@magedu.com"});
    CHECK(keys("user+ext@magedu.com", "") == std::vector<std::string>{"user+ext@magedu.com", "@magedu.com"});
}

TEST_CASE("regexp virtual_mailbox_maps see the full address only", "[unit]") {
    // As Postfix: pattern tables get the whole address, never the key
    // without the extension or @domain.
    Fixture fx;
    std::string file = fx.base + "/mailboxes.regexp";
    {
        std::ofstream out(file);
        out << "/^user@pattern\\.test$/ pattern.test/user/\n/^@pattern\\.test$/ pattern.test/all/\n"
            << "/^whole\\+ext@pattern\\.test$/ pattern.test/whole/\n";
    }
    auto maps = table::Maps::open("regexp:" + file);
    REQUIRE(maps.ok());
    fx.maps.mailbox = address::maps_lookup(*maps);
    CHECK(fx.deliver("user@pattern.test").kind == agent::OutcomeKind::kSent);
    CHECK(fx.deliver("user+ext@pattern.test") == agent::bounced("unknown user: \"user+ext@pattern.test\"", "5.1.1"));
    CHECK(fx.deliver("other@pattern.test").dsn == "5.1.1");
    CHECK(fx.deliver("whole+ext@pattern.test").kind == agent::OutcomeKind::kSent);
    CHECK(fx.maildir_files("pattern.test/whole").size() == 1);
}

TEST_CASE("quota limits with and without override", "[unit]") {
    VirtualSettings s;
    s.virtual_mailbox_limit = 20971520;
    CHECK(quota_limit(s, std::nullopt)->bytes == 20971520);
    s.virtual_mailbox_limit_override = true;
    CHECK(quota_limit(s, std::string("104857600S"))->bytes == 104857600);
    CHECK(quota_limit(s, std::string("1000"))->bytes == 1000);
    auto both = quota_limit(s, std::string("100S,10C"));
    CHECK(both->bytes == 100);
    CHECK(both->count == 10);
    s.virtual_mailbox_limit_override = false;
    CHECK(quota_limit(s, std::string("104857600S"))->bytes == 20971520);
    CHECK(quota_limit(s, std::string("1000S"))->bytes == 1000);
    CHECK(!quota_limit(s, std::string("lots")).ok());
    s.virtual_mailbox_limit = 0;
    CHECK(quota_limit(s, std::nullopt)->unlimited());
}

TEST_CASE("over quota bounces or defers with the configured text", "[unit]") {
    VirtualSettings s;
    s.virtual_maildir_limit_message = "Sorry, the user's maildir has overdrawn his diskspace quota";
    s.virtual_overquota_bounce = true;
    CHECK(over_quota(s) == agent::bounced("Sorry, the user's maildir has overdrawn his diskspace quota", "5.2.2"));
    s.virtual_overquota_bounce = false;
    CHECK(over_quota(s) == agent::deferred("Sorry, the user's maildir has overdrawn his diskspace quota", "4.2.2"));
}

TEST_CASE("virtual Maildir delivery as the mapped uid", "[unit]") {
    Fixture fx;
    CHECK(fx.deliver("postmaster@extmail.org") == agent::sent("delivered to maildir"));
    auto files = fx.maildir_files("extmail.org/postmaster/Maildir");
    REQUIRE(files.size() == 1);
    CHECK(slurp(files[0]) ==
          "Return-Path: <root@extmail.org>\nX-Original-To: postmaster@extmail.org\n"
          "Delivered-To: postmaster@extmail.org\nSubject: hi\n\nbody\n");
    struct stat sb;
    REQUIRE(::stat(files[0].c_str(), &sb) == 0);
    CHECK(sb.st_uid == fx.uid);
    CHECK(sb.st_gid == fx.gid);
    // Extension and catch-all lookups.
    CHECK(fx.deliver("Jerry+Lists@Magedu.COM").kind == agent::OutcomeKind::kSent);
    CHECK(fx.maildir_files("magedu.com/jerry/Maildir").size() == 1);
    CHECK(fx.deliver("anyone@catchall.org").kind == agent::OutcomeKind::kSent);
    CHECK(fx.maildir_files("catchall.org/all").size() == 1);
}

TEST_CASE("virtual mbox delivery", "[unit]") {
    Fixture fx;
    fs::create_directories(fx.base + "/magedu.com");
    REQUIRE(::chown((fx.base + "/magedu.com").c_str(), fx.uid, fx.gid) == 0);
    CHECK(fx.deliver("mbox@magedu.com", "Subject: x\n\nFrom me\n") == agent::sent("delivered to mailbox"));
    std::string text = slurp(fx.base + "/magedu.com/mbox");
    CHECK(text.rfind("From root@extmail.org ", 0) == 0);
    CHECK(text.find("Delivered-To: mbox@magedu.com\nSubject: x\n\n>From me\n\n") != std::string::npos);
}

TEST_CASE("virtual recipients that cannot be delivered", "[unit]") {
    Fixture fx;
    CHECK(fx.deliver("nobody@magedu.com") == agent::bounced("unknown user: \"nobody@magedu.com\"", "5.1.1"));
    fx.s.virtual_minimum_uid = 100000;
    auto low = fx.deliver("jerry@magedu.com");
    CHECK(low.kind == agent::OutcomeKind::kDeferred);
    CHECK(low.dsn == "4.3.5");
    fx.s.virtual_minimum_uid = 0;
    fx.maps.uid = map_lookup(&fx.limits);  // empty: no uid
    CHECK(fx.deliver("jerry@magedu.com").dsn == "4.3.5");
    fx.maps.uid = [](std::string_view, bool) -> table::LookupResult { return make_temp_error("mysql: server gone"); };
    CHECK(fx.deliver("jerry@magedu.com").kind == agent::OutcomeKind::kDeferred);
    auto looped = fx.deliver("jerry@magedu.com", "Delivered-To: Jerry@Magedu.com\n\nx\n");
    CHECK(looped == agent::bounced("mail forwarding loop for jerry@magedu.com", "5.4.6"));
    fx.mailboxes["evil@magedu.com"] = "../../etc/";
    CHECK(fx.deliver("evil@magedu.com").dsn == "4.3.5");
}

TEST_CASE("per-user quotas from virtual_mailbox_limit_maps with maildirsize", "[unit]") {
    Fixture fx;
    fx.s.virtual_mailbox_limit = 20971520;
    fx.s.virtual_mailbox_limit_override = true;
    fx.s.virtual_create_maildirsize = true;
    fx.s.virtual_overquota_bounce = true;
    fx.s.virtual_maildir_limit_message =
        "Sorry, the user's maildir has overdrawn his diskspace quota, please Tidy your mailbox and try again later.";
    fx.limits["jerry@magedu.com"] = "300S";
    fx.maps.limit = map_lookup(&fx.limits);
    std::string body(100, 'x');
    std::string msg = "Subject: q\n\n" + body + "\n";
    CHECK(fx.deliver("jerry@magedu.com", msg).kind == agent::OutcomeKind::kSent);
    std::string size_file = fx.base + "/magedu.com/jerry/Maildir/maildirsize";
    REQUIRE(fs::exists(size_file));
    std::string ms = slurp(size_file);
    CHECK(ms.rfind("300S\n", 0) == 0);
    // The first message was ~200 bytes: the second does not fit.
    auto over = fx.deliver("jerry@magedu.com", msg);
    CHECK(over == agent::bounced(fx.s.virtual_maildir_limit_message, "5.2.2"));
    CHECK(fx.maildir_files("magedu.com/jerry/Maildir").size() == 1);
    fx.s.virtual_overquota_bounce = false;
    CHECK(fx.deliver("jerry@magedu.com", msg).kind == agent::OutcomeKind::kDeferred);
    // Without maildirsize the Maildir is counted by scanning.
    fx.s.virtual_create_maildirsize = false;
    CHECK(fx.deliver("jerry@magedu.com", msg).kind == agent::OutcomeKind::kDeferred);
    // Another user stays under the global limit.
    CHECK(fx.deliver("postmaster@extmail.org", msg).kind == agent::OutcomeKind::kSent);
    CHECK(!fs::exists(fx.base + "/extmail.org/postmaster/Maildir/maildirsize"));
}

TEST_CASE("mbox quota is the file size", "[unit]") {
    Fixture fx;
    fs::create_directories(fx.base + "/magedu.com");
    REQUIRE(::chown((fx.base + "/magedu.com").c_str(), fx.uid, fx.gid) == 0);
    fx.s.virtual_mailbox_limit = 400;
    fx.s.virtual_overquota_bounce = true;
    std::string msg = "Subject: q\n\n" + std::string(100, 'y') + "\n";
    CHECK(fx.deliver("mbox@magedu.com", msg).kind == agent::OutcomeKind::kSent);
    CHECK(fx.deliver("mbox@magedu.com", msg).kind == agent::OutcomeKind::kBounced);
}

TEST_CASE("a broken Maildir defers and a broken mbox bounces", "[unit]") {
    Fixture fx;
    std::ofstream(fx.base + "/blocked") << "not a directory";
    REQUIRE(::chown((fx.base + "/blocked").c_str(), fx.uid, fx.gid) == 0);
    fx.mailboxes["md@blocked.test"] = "blocked/Maildir/";
    fx.mailboxes["mb@blocked.test"] = "blocked/mbox";
    auto md = fx.deliver("md@blocked.test");
    CHECK(md.kind == agent::OutcomeKind::kDeferred);
    CHECK(md.dsn == "4.2.0");
    CHECK(md.text.rfind("maildir delivery failed: ", 0) == 0);
    auto mb = fx.deliver("mb@blocked.test");
    CHECK(mb.kind == agent::OutcomeKind::kBounced);
    CHECK(mb.dsn == "5.2.0");
    CHECK(mb.text.rfind("cannot update mailbox " + fx.base + "/blocked/mbox. ", 0) == 0);
}

TEST_CASE("a Maildir removed after a delivery is made again by the next one", "[unit]") {
    Fixture fx;
    CHECK(fx.deliver("postmaster@extmail.org") == agent::sent("delivered to maildir"));
    REQUIRE(fx.maildir_files("extmail.org/postmaster/Maildir").size() == 1);
    // The process knows this Maildir now; it goes away behind its back.
    fs::remove_all(fx.base + "/extmail.org/postmaster/Maildir");
    CHECK(fx.deliver("postmaster@extmail.org") == agent::sent("delivered to maildir"));
    CHECK(fx.maildir_files("extmail.org/postmaster/Maildir").size() == 1);
    // Only tmp/ gone: made again too.
    fs::remove_all(fx.base + "/extmail.org/postmaster/Maildir/tmp");
    CHECK(fx.deliver("postmaster@extmail.org") == agent::sent("delivered to maildir"));
    CHECK(fx.maildir_files("extmail.org/postmaster/Maildir").size() == 2);
    struct stat sb;
    REQUIRE(::stat((fx.base + "/extmail.org/postmaster/Maildir/tmp").c_str(), &sb) == 0);
    CHECK(sb.st_uid == fx.uid);
}
