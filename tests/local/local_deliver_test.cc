// local_deliver_test.cc - local deliveries into temporary spools, homes, commands and files.
#include "local/local_deliver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <sstream>

#include "lib/mailbox/maildir.h"

using namespace mailroom;
using namespace mailroom::local;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A temp world: spool dir, a home for the test user (nobody when root, the
// caller otherwise), aliases in a map.
struct Fixture {
    std::string dir;
    agent::Identity user;
    std::map<std::string, std::string> aliases;
    LocalContext ctx;

    Fixture() {
        char tmpl[] = "/tmp/mr-local-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
        ::chmod(dir.c_str(), 0755);
        fs::create_directories(dir + "/spool");
        fs::create_directories(dir + "/home/openstack");
        ::chmod((dir + "/spool").c_str(), 01777);
        user = agent::Identity{::getuid(), ::getgid(), "openstack", dir + "/home/openstack", "/bin/sh"};
        if (agent::privileged()) {
            auto nobody = agent::resolve_user("nobody");
            REQUIRE(nobody.ok());
            user.uid = nobody->uid;
            user.gid = nobody->gid;
        }
        REQUIRE(::chown(user.home.c_str(), user.uid, user.gid) == 0);
        ctx.expand.resolver = [] {
            auto lists = std::make_shared<address::DomainLists>();
            lists->mydestination = {"pxe1.localdomain"};
            address::ResolveOptions o;
            o.myorigin = "pxe1.localdomain";
            return std::make_shared<address::Resolver>(o, address::DomainLists::classifier(lists));
        }();
        ctx.expand.myorigin = "PXE1.localdomain";
        ctx.expand.extension.delimiters = "+";
        ctx.expand.default_privs = Privs{user.uid, user.gid, "nobody"};
        ctx.deliver.mail_spool_directory = dir + "/spool";
        ctx.deliver.lock.tries = 2;
        ctx.deliver.lock.delay_ms = 10;
        ctx.deliver.base_env = {"PATH=/usr/bin:/bin"};
        ctx.env.alias = [this](const std::string& key) -> Result<std::optional<AliasAnswer>> {
            auto it = aliases.find(key);
            if (it == aliases.end()) return std::optional<AliasAnswer>();
            return std::optional<AliasAnswer>(AliasAnswer{it->second, ctx.expand.default_privs});
        };
        ctx.env.user = [this](const std::string& name) -> Result<std::optional<agent::Identity>> {
            if (name != "openstack") return std::optional<agent::Identity>();
            return std::optional<agent::Identity>(user);
        };
        ctx.env.forward = [](const std::string& path, const agent::Identity&) -> Result<std::optional<std::string>> {
            std::ifstream in(path);
            if (!in) return std::optional<std::string>();
            std::stringstream ss;
            ss << in.rdbuf();
            return std::optional<std::string>(ss.str());
        };
        ctx.env.include = [](const std::string& path, const Privs& p) -> Result<std::pair<std::string, Privs>> {
            return std::pair<std::string, Privs>(slurp(path), p);
        };
    }
    ~Fixture() { fs::remove_all(dir); }

    std::vector<agent::Outcome> deliver_all(const std::vector<agent::JobRecipient>& rcpts, std::string_view content) {
        queue::QueueEnvelope env;
        env.sender = "hadoop@PXE1.localdomain";
        auto m = agent::MessageCopy::from_text(env, content);
        REQUIRE(m.ok());
        agent::Job job;
        job.queue_id = "D786582E95";
        job.sender = "hadoop@PXE1.localdomain";
        job.service = "local";
        job.recipients = rcpts;
        return local_deliver(job, *m, ctx, 1462453145);
    }

    std::vector<agent::Outcome> deliver(const std::string& rcpt, const std::string& orig, std::string_view content) {
        queue::QueueEnvelope env;
        env.sender = "hadoop@PXE1.localdomain";
        env.attributes.push_back({"client_address", "127.0.0.1"});
        auto m = agent::MessageCopy::from_text(env, content);
        REQUIRE(m.ok());
        agent::Job job;
        job.queue_id = "D786582E95";
        job.sender = "hadoop@PXE1.localdomain";
        job.service = "local";
        job.recipients = {{rcpt, orig}};
        return local_deliver(job, *m, ctx, 1462453145);
    }

    std::string script(const std::string& name, const std::string& body) {
        std::string path = dir + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body;
        ::chmod(path.c_str(), 0755);
        return path;
    }
};

const char* kMessage = "Date: Thu,  5 May 2016 12:58:15 +0000 (GMT)\nFrom: hadoop@PXE1.localdomain\n\nhow are you?\nFrom here\n";

}  // namespace

TEST_CASE("local delivery to the spool mbox as in the seed", "[unit]") {
    Fixture fx;
    auto out = fx.deliver("openstack@PXE1.localdomain", "openstack", kMessage);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == agent::sent("delivered to mailbox"));
    std::string mbox = slurp(fx.dir + "/spool/openstack");
    CHECK(mbox.rfind("From hadoop@PXE1.localdomain  ", 0) == 0);
    CHECK(mbox.find("\nReturn-Path: <hadoop@PXE1.localdomain>\nX-Original-To: openstack\n"
                    "Delivered-To: openstack@PXE1.localdomain\nDate: Thu,  5 May 2016") != std::string::npos);
    CHECK(mbox.find("\nhow are you?\n>From here\n\n") != std::string::npos);
    struct stat sb;
    REQUIRE(::stat((fx.dir + "/spool/openstack").c_str(), &sb) == 0);
    CHECK(sb.st_uid == fx.user.uid);
    CHECK((sb.st_mode & 0777) == 0600);
    // A second message appends.
    CHECK(fx.deliver("openstack@PXE1.localdomain", "", kMessage)[0].kind == agent::OutcomeKind::kSent);
    std::string two = slurp(fx.dir + "/spool/openstack");
    CHECK(two.size() > mbox.size());
}

TEST_CASE("local delivery to a Maildir under home_mailbox", "[unit]") {
    Fixture fx;
    fx.ctx.deliver.home_mailbox = "Maildir/";
    auto out = fx.deliver("openstack@PXE1.localdomain", "", kMessage);
    CHECK(out[0] == agent::sent("delivered to maildir"));
    auto entries = mailbox::scan_maildir(fx.user.home + "/Maildir");
    REQUIRE(entries.ok());
    REQUIRE(entries->size() == 1);
    std::string path = fx.user.home + "/Maildir/new/" + (*entries)[0].filename;
    std::string text = slurp(path);
    CHECK(text.rfind("Return-Path: <hadoop@PXE1.localdomain>\nX-Original-To: openstack@PXE1.localdomain\n"
                     "Delivered-To: openstack@PXE1.localdomain\n", 0) == 0);
    CHECK(text.find("\nFrom here\n") != std::string::npos);  // no quoting in Maildir
    struct stat sb;
    REQUIRE(::stat(path.c_str(), &sb) == 0);
    CHECK(sb.st_uid == fx.user.uid);
    CHECK(fs::is_empty(fx.user.home + "/Maildir/tmp"));
}

TEST_CASE("local delivery through mailbox_command", "[unit]") {
    Fixture fx;
    std::string out_file = fx.dir + "/cmd.out";
    std::string s = fx.script("mda.sh", "cat > " + out_file + "\necho \"$USER $RECIPIENT $SENDER $ORIGINAL_RECIPIENT $HOME\" >> " +
                                            out_file + "\nid -u >> " + out_file + "\n");
    ::chmod(fx.dir.c_str(), 0777);
    fx.ctx.deliver.mailbox_command = s + " -a \"$EXTENSION\"";
    auto out = fx.deliver("openstack+x@PXE1.localdomain", "", kMessage);
    CHECK(out[0] == agent::sent("delivered to command: " + fx.ctx.deliver.mailbox_command));
    std::string got = slurp(out_file);
    CHECK(got.rfind("From hadoop@PXE1.localdomain  ", 0) == 0);
    CHECK(got.find("Delivered-To: openstack+x@PXE1.localdomain\n") != std::string::npos);
    CHECK(got.find("openstack openstack+x@PXE1.localdomain hadoop@PXE1.localdomain openstack+x@PXE1.localdomain " +
                   fx.user.home + "\n" + std::to_string(fx.user.uid) + "\n") != std::string::npos);
    fx.script("mda.sh", "echo 'mailbox busy'; exit 75\n");
    auto again = fx.deliver("openstack@PXE1.localdomain", "", kMessage);
    CHECK(again[0] == agent::deferred("temporary failure. Command output: mailbox busy", "4.3.0"));
}

TEST_CASE("alias commands and files get the message", "[unit]") {
    Fixture fx;
    ::chmod(fx.dir.c_str(), 0777);
    std::string out_file = fx.dir + "/alias.out";
    std::string s = fx.script("pipe.sh", "cat > " + out_file + "; echo \"$RECIPIENT\" >> " + out_file + "\n");
    fx.aliases["tomcat"] = "openstack";
    fx.aliases["prog"] = "\"|" + s + "\", " + fx.dir + "/copy.mbox";
    CHECK(fx.deliver("tomcat@PXE1.localdomain", "", kMessage)[0] == agent::sent("delivered to mailbox"));
    // After the alias, Delivered-To still names the recipient local was
    // given (Postfix's local with frozen_delivered_to = yes).
    CHECK(slurp(fx.dir + "/spool/openstack").find("X-Original-To: tomcat@PXE1.localdomain\nDelivered-To: tomcat@PXE1.localdomain\n") !=
          std::string::npos);
    auto out = fx.deliver("prog@PXE1.localdomain", "", kMessage);
    CHECK(out[0] == agent::sent("delivered to command: " + s));
    CHECK(slurp(out_file).find("Delivered-To: prog@PXE1.localdomain\n") != std::string::npos);
    CHECK(slurp(out_file).find("\nprog@PXE1.localdomain\n") != std::string::npos);
    std::string copy = slurp(fx.dir + "/copy.mbox");
    CHECK(copy.rfind("From hadoop@PXE1.localdomain  ", 0) == 0);
    CHECK(copy.find("Delivered-To: prog@PXE1.localdomain\n") != std::string::npos);
}

TEST_CASE("local bounces and deferrals", "[unit]") {
    Fixture fx;
    std::string looped = std::string("Delivered-To: openstack@pxe1.localdomain\n") + kMessage;
    CHECK(fx.deliver("openstack@PXE1.localdomain", "", looped)[0] ==
          agent::bounced("mail forwarding loop for openstack@PXE1.localdomain", "5.4.6"));
    CHECK(!fs::exists(fx.dir + "/spool/openstack"));
    CHECK(fx.deliver("nosuch@PXE1.localdomain", "", kMessage)[0] == agent::bounced("unknown user: \"nosuch\"", "5.1.1"));
    fx.aliases["away"] = "someone@remote.example";
    CHECK(fx.deliver("away@PXE1.localdomain", "", kMessage)[0].kind == agent::OutcomeKind::kDeferred);
    fx.ctx.deliver.mailbox_size_limit = 50;
    auto big = fx.deliver("openstack@PXE1.localdomain", "", kMessage);
    CHECK(big[0].kind == agent::OutcomeKind::kBounced);
    CHECK(big[0].dsn == "5.2.2");
    CHECK(big[0].text.find("File too large") != std::string::npos);
}

TEST_CASE("forwarded addresses go to the forwarder grouped by sender", "[unit]") {
    Fixture fx;
    fx.aliases["team"] = "a@remote.example, b@remote.example, openstack";
    std::vector<std::string> seen;
    std::string seen_sender;
    fx.ctx.forward = [&](const agent::Job&, const agent::MessageCopy&, const std::string& sender,
                         const std::string& delivered_to, const std::vector<std::string>& addresses) {
        seen = addresses;
        seen_sender = sender;
        CHECK(delivered_to == "team@PXE1.localdomain");
        return agent::sent("forwarded as 1234ABCD");
    };
    auto out = fx.deliver("team@PXE1.localdomain", "", kMessage);
    CHECK(out[0].kind == agent::OutcomeKind::kSent);
    CHECK(seen == std::vector<std::string>{"a@remote.example", "b@remote.example"});
    CHECK(seen_sender == "hadoop@PXE1.localdomain");
    CHECK(fs::exists(fx.dir + "/spool/openstack"));
}

TEST_CASE("mail for root runs mailbox_command as default_privs", "[unit]") {
    if (!agent::privileged()) return;
    Fixture fx;
    ::chmod(fx.dir.c_str(), 0777);
    auto nobody = agent::resolve_user("nobody");
    REQUIRE(nobody.ok());
    fx.user.uid = 0;
    fx.user.gid = 0;
    fx.ctx.deliver.default_privs = *nobody;
    std::string out_file = fx.dir + "/root.out";
    fx.ctx.deliver.mailbox_command = fx.script("root.sh", "id -u > " + out_file + "\n");
    CHECK(fx.deliver("openstack@PXE1.localdomain", "", kMessage)[0].kind == agent::OutcomeKind::kSent);
    CHECK(slurp(out_file) == std::to_string(nobody->uid) + "\n");
}

TEST_CASE("recipients of one request that reach the same mailbox get one copy", "[unit]") {
    Fixture fx;
    fx.aliases["tomcat"] = "openstack";
    fx.aliases["a"] = "openstack";
    auto out = fx.deliver_all({{"tomcat@PXE1.localdomain", ""}, {"a@PXE1.localdomain", ""},
                               {"openstack@PXE1.localdomain", ""}},
                              kMessage);
    REQUIRE(out.size() == 3);
    for (const auto& o : out) CHECK(o == agent::sent("delivered to mailbox"));
    std::string mbox = slurp(fx.dir + "/spool/openstack");
    size_t copies = 0;
    for (size_t pos = 0; (pos = mbox.find("\nhow are you?\n", pos)) != std::string::npos; ++pos) ++copies;
    CHECK(copies == 1);
}

TEST_CASE("expanded destinations are logged for their final address", "[unit]") {
    Fixture fx;
    ::chmod(fx.dir.c_str(), 0777);
    std::string s = fx.script("pipe.sh", "cat > /dev/null\n");
    fx.aliases["tomcat"] = "openstack";
    fx.aliases["outer"] = "tomcat, prog, a@remote.example, nosuch";
    fx.aliases["prog"] = "\"|" + s + "\"";
    fx.ctx.forward = [](const agent::Job&, const agent::MessageCopy&, const std::string&, const std::string&,
                        const std::vector<std::string>&) { return agent::sent("forwarded as 1234ABCD"); };
    // The seed's alias: the mailbox line names the user, not the alias.
    auto out = fx.deliver("tomcat@PXE1.localdomain", "", kMessage);
    REQUIRE(out[0].parts.size() == 1);
    CHECK(out[0].parts[0] ==
          agent::LoggedPart{"openstack@PXE1.localdomain", agent::OutcomeKind::kSent, "2.0.0", "delivered to mailbox"});
    // Nested aliases, a command, a forwarded address and an unknown user:
    // one part each, for the address each came from.
    auto nested = fx.deliver("outer@PXE1.localdomain", "", kMessage);
    CHECK(nested[0].kind == agent::OutcomeKind::kBounced);
    std::vector<std::string> to;
    for (const auto& p : nested[0].parts) to.push_back(p.to + " " + p.text);
    std::sort(to.begin(), to.end());
    CHECK(to == std::vector<std::string>{"nosuch@PXE1.localdomain unknown user: \"nosuch\"",
                                         "openstack@PXE1.localdomain delivered to mailbox",
                                         "outer@PXE1.localdomain forwarded as 1234ABCD",
                                         "prog@PXE1.localdomain delivered to command: " + s});
    // A plain user is one part for itself.
    auto plain = fx.deliver("openstack@PXE1.localdomain", "openstack", kMessage);
    REQUIRE(plain[0].parts.size() == 1);
    CHECK(plain[0].parts[0].to == "openstack@PXE1.localdomain");
}
