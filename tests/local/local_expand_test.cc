// local_expand_test.cc - alias, :include: and .forward expansion over fake tables and users.
#include "local/local_expand.h"

#include <catch2/catch.hpp>
#include <map>

using namespace mailroom;
using namespace mailroom::local;

namespace {

// Fake tables, users and files.
struct World {
    std::map<std::string, std::string> aliases;
    std::map<std::string, agent::Identity> users;
    std::map<std::string, std::string> files;  // .forward and :include: files
    std::map<std::string, uid_t> file_owner;
    bool alias_down = false;
    Privs alias_owner{65534, 65534, "nobody"};

    LocalEnv env() {
        LocalEnv e;
        e.alias = [this](const std::string& key) -> Result<std::optional<AliasAnswer>> {
            if (alias_down) return make_temp_error("hash:/etc/aliases: table lookup problem");
            auto it = aliases.find(key);
            if (it == aliases.end()) return std::optional<AliasAnswer>();
            return std::optional<AliasAnswer>(AliasAnswer{it->second, alias_owner});
        };
        e.user = [this](const std::string& name) -> Result<std::optional<agent::Identity>> {
            auto it = users.find(name);
            if (it == users.end()) return std::optional<agent::Identity>();
            return std::optional<agent::Identity>(it->second);
        };
        e.forward = [this](const std::string& path, const agent::Identity&) -> Result<std::optional<std::string>> {
            auto it = files.find(path);
            if (it == files.end()) return std::optional<std::string>();
            return std::optional<std::string>(it->second);
        };
        e.include = [this](const std::string& path, const Privs&) -> Result<std::pair<std::string, Privs>> {
            auto it = files.find(path);
            if (it == files.end()) return make_error("cannot open include file " + path + ": No such file or directory");
            uid_t owner = file_owner.count(path) ? file_owner[path] : 0;
            return std::pair<std::string, Privs>(it->second, Privs{owner, owner, ""});
        };
        return e;
    }

    void user(const std::string& name, uid_t uid) { users[name] = agent::Identity{uid, uid, name, "/home/" + name, "/bin/sh"}; }
};

LocalSettings settings() {
    LocalSettings s;
    s.resolver = [] {
            auto lists = std::make_shared<address::DomainLists>();
            lists->mydestination = {"yuliang.com", "localhost"};
            address::ResolveOptions o;
            o.myorigin = "yuliang.com";
            return std::make_shared<address::Resolver>(o, address::DomainLists::classifier(lists));
        }();
    s.myorigin = "yuliang.com";
    s.extension.delimiters = "+";
    return s;
}

std::string describe(const Destination& d) {
    const char* k = d.kind == DestKind::kMailbox ? "mailbox" : d.kind == DestKind::kCommand ? "command"
                    : d.kind == DestKind::kFile  ? "file"
                                                 : "forward";
    return std::string(k) + ":" + d.target + " for " + d.recipient + " from " + d.sender;
}

std::vector<std::string> run(World& w, const std::string& rcpt, LocalSettings s = settings(),
                             std::vector<agent::Outcome>* failures = nullptr) {
    auto env = w.env();
    auto x = expand_local(rcpt, "root@yuliang.com", s, env);
    std::vector<std::string> out;
    for (const auto& d : x.destinations) out.push_back(describe(d));
    if (failures) *failures = x.failures;
    else CHECK(x.failures.empty());
    return out;
}

}  // namespace

TEST_CASE("alias list parsing", "[unit]") {
    CHECK(parse_alias_list("hadoop") == std::vector<std::string>{"hadoop"});
    CHECK(parse_alias_list(" a, b ,c@x.org ") == std::vector<std::string>{"a", "b", "c@x.org"});
    CHECK(parse_alias_list("\"|/usr/bin/vacation -a, x\", /var/log/mail.copy") ==
          std::vector<std::string>{"|/usr/bin/vacation -a, x", "/var/log/mail.copy"});
    CHECK(parse_alias_list("# comment\nuser1\n  # another\nuser2, user3\n\n") ==
          std::vector<std::string>{"user1", "user2", "user3"});
    CHECK(parse_alias_list(":include:/etc/mail/list, \\me") ==
          std::vector<std::string>{":include:/etc/mail/list", "\\me"});
    CHECK(parse_alias_list("").empty());
}

TEST_CASE("the seed's tomcat alias redirects to hadoop", "[unit]") {
    World w;
    w.user("hadoop", 1001);
    w.user("tomcat", 1002);
    w.aliases["tomcat"] = "hadoop";
    CHECK(run(w, "tomcat@yuliang.com") ==
          std::vector<std::string>{"mailbox:hadoop for hadoop@yuliang.com from root@yuliang.com"});
    CHECK(run(w, "hadoop@yuliang.com") ==
          std::vector<std::string>{"mailbox:hadoop for hadoop@yuliang.com from root@yuliang.com"});
}

TEST_CASE("every kind of alias destination", "[unit]") {
    World w;
    w.user("hadoop", 1001);
    w.user("alice", 1003);
    w.aliases["staff"] = "alice, hadoop@localhost, bob@remote.example, |/usr/bin/procmail, /var/spool/archive, "
                         ":include:/etc/mail/staff.list";
    w.files["/etc/mail/staff.list"] = "# members\nhadoop\ncarol@remote.example\n";
    auto got = run(w, "staff@yuliang.com");
    CHECK(got == std::vector<std::string>{
                     "mailbox:alice for alice@yuliang.com from root@yuliang.com",
                     "mailbox:hadoop for hadoop@localhost from root@yuliang.com",
                     "forward:bob@remote.example for bob@remote.example from root@yuliang.com",
                     "command:/usr/bin/procmail for staff@yuliang.com from root@yuliang.com",
                     "file:/var/spool/archive for staff@yuliang.com from root@yuliang.com",
                     "forward:carol@remote.example for carol@remote.example from root@yuliang.com",
                 });
}

TEST_CASE("owner aliases become the sender of the expansion", "[unit]") {
    World w;
    w.user("alice", 1003);
    w.aliases["list"] = "alice, dave@remote.example";
    w.aliases["owner-list"] = "alice";
    auto got = run(w, "list@yuliang.com");
    CHECK(got == std::vector<std::string>{
                     "mailbox:alice for alice@yuliang.com from owner-list@yuliang.com",
                     "forward:dave@remote.example for dave@remote.example from owner-list@yuliang.com",
                 });
}

TEST_CASE("duplicates are delivered once and self references mean the mailbox", "[unit]") {
    World w;
    w.user("alice", 1003);
    w.user("bob", 1004);
    w.aliases["a"] = "alice, bob, alice@yuliang.com, ALICE";
    w.aliases["alice"] = "alice, bob";  // alias: self
    auto got = run(w, "a@yuliang.com");
    CHECK(got == std::vector<std::string>{
                     "mailbox:alice for alice@yuliang.com from root@yuliang.com",
                     "mailbox:bob for bob@yuliang.com from root@yuliang.com",
                 });
}

TEST_CASE("alias loops end at the mailbox or bounce", "[unit]") {
    World w;
    w.user("x", 2000);
    w.aliases["x"] = "y";
    w.aliases["y"] = "x";
    // y -> x: x is an ancestor, so x's own mailbox.
    CHECK(run(w, "x@yuliang.com") == std::vector<std::string>{"mailbox:x for x@yuliang.com from root@yuliang.com"});
    World z;
    z.aliases["p"] = "q";
    z.aliases["q"] = "p";
    std::vector<agent::Outcome> failures;
    auto got = run(z, "p@yuliang.com", settings(), &failures);
    CHECK(got.empty());
    REQUIRE(failures.size() == 1);
    CHECK(failures[0] == agent::bounced("unknown user: \"p\"", "5.1.1"));
}

TEST_CASE("extensions: alias with and without the extension", "[unit]") {
    World w;
    w.user("alice", 1003);
    w.aliases["sales+eu"] = "alice";
    w.aliases["sales"] = "bob@remote.example";
    CHECK(run(w, "sales+eu@yuliang.com") == std::vector<std::string>{"mailbox:alice for alice@yuliang.com from root@yuliang.com"});
    CHECK(run(w, "sales+us@yuliang.com") ==
          std::vector<std::string>{"forward:bob@remote.example for bob@remote.example from root@yuliang.com"});
    // A user with an extension still reaches the user's mailbox.
    CHECK(run(w, "Alice+Box@yuliang.com") ==
          std::vector<std::string>{"mailbox:alice for Alice+Box@yuliang.com from root@yuliang.com"});
}

TEST_CASE("forward files", "[unit]") {
    World w;
    w.user("alice", 1003);
    w.user("bob", 1004);
    w.files["/home/alice/.forward"] = "\\alice, bob, \"|/usr/bin/vacation alice\"\n";
    auto got = run(w, "alice@yuliang.com");
    CHECK(got == std::vector<std::string>{
                     "mailbox:alice for alice@yuliang.com from root@yuliang.com",
                     "mailbox:bob for bob@yuliang.com from root@yuliang.com",
                     "command:/usr/bin/vacation alice for alice@yuliang.com from root@yuliang.com",
                 });
    // .forward+ext wins for an extended address.
    w.files["/home/alice/.forward+lists"] = "bob\n";
    CHECK(run(w, "alice+lists@yuliang.com") ==
          std::vector<std::string>{"mailbox:bob for bob@yuliang.com from root@yuliang.com"});
    // A .forward naming only its owner delivers to the mailbox.
    w.files["/home/bob/.forward"] = "bob\n";
    CHECK(run(w, "bob@yuliang.com") == std::vector<std::string>{"mailbox:bob for bob@yuliang.com from root@yuliang.com"});
}

TEST_CASE("command and file restrictions", "[unit]") {
    World w;
    w.user("alice", 1003);
    w.aliases["inc"] = ":include:/etc/mail/inc.list";
    w.files["/etc/mail/inc.list"] = "|/bin/cat, /tmp/file\n";
    std::vector<agent::Outcome> failures;
    // Postfix's defaults: alias and forward, never include.
    auto got = run(w, "inc@yuliang.com", settings(), &failures);
    CHECK(got.empty());
    REQUIRE(failures.size() == 2);
    CHECK(failures[0] == agent::bounced("mail to command is restricted", "5.7.1"));
    CHECK(failures[1] == agent::bounced("mail to file is restricted", "5.7.1"));
    auto s = settings();
    s.allow_commands = {"alias", "forward", "include"};
    s.allow_files = {"alias", "forward", "include"};
    CHECK(run(w, "inc@yuliang.com", s) == std::vector<std::string>{
                                              "command:/bin/cat for inc@yuliang.com from root@yuliang.com",
                                              "file:/tmp/file for inc@yuliang.com from root@yuliang.com"});
    w.aliases["cmd"] = "|/bin/cat";
    s.allow_commands = {};
    run(w, "cmd@yuliang.com", s, &failures);
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].dsn == "5.7.1");
}

TEST_CASE("privileges of commands come from the alias owner or the include file", "[unit]") {
    World w;
    w.aliases["c"] = "|/bin/a, :include:/etc/l";
    w.files["/etc/l"] = "|/bin/b";
    w.file_owner["/etc/l"] = 3000;
    auto s = settings();
    s.allow_commands = {"alias", "include"};
    auto env = w.env();
    auto x = expand_local("c@yuliang.com", "s@x", s, env);
    REQUIRE(x.destinations.size() == 2);
    CHECK(x.destinations[0].privs.uid == 65534);
    CHECK(x.destinations[1].privs.uid == 3000);
}

TEST_CASE("unknown users bounce or go to luser_relay", "[unit]") {
    World w;
    w.user("catchall", 1005);
    std::vector<agent::Outcome> failures;
    CHECK(run(w, "nosuch@yuliang.com", settings(), &failures).empty());
    REQUIRE(failures.size() == 1);
    CHECK(failures[0] == agent::bounced("unknown user: \"nosuch\"", "5.1.1"));
    auto s = settings();
    s.luser_relay = "catchall";
    CHECK(run(w, "nosuch@yuliang.com", s) ==
          std::vector<std::string>{"mailbox:catchall for catchall@yuliang.com from root@yuliang.com"});
    s.luser_relay = "$user@relay.example";
    CHECK(run(w, "nosuch+x@yuliang.com", s) ==
          std::vector<std::string>{"forward:nosuch@relay.example for nosuch@relay.example from root@yuliang.com"});
}

TEST_CASE("table trouble defers", "[unit]") {
    World w;
    w.user("alice", 1003);
    w.alias_down = true;
    std::vector<agent::Outcome> failures;
    CHECK(run(w, "alice@yuliang.com", settings(), &failures).empty());
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].kind == agent::OutcomeKind::kDeferred);
    World m;
    m.aliases["x"] = ":include:/missing";
    run(m, "x@yuliang.com", settings(), &failures);
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].kind == agent::OutcomeKind::kBounced);
}

TEST_CASE("an alias target whose domain cannot be classified defers instead of being forwarded", "[unit]") {
    World w;
    w.aliases["x"] = "bob@down.example";
    LocalSettings s = settings();
    s.resolver = std::make_shared<address::Resolver>(address::ResolveOptions{},
                                                     [](std::string_view d) -> Result<address::AddressClass> {
                                                         if (d == "down.example")
                                                             return make_temp_error("mysql:/etc/dest.cf: lookup failed");
                                                         return address::AddressClass::kLocal;
                                                     });
    std::vector<agent::Outcome> failures;
    CHECK(run(w, "x@yuliang.com", s, &failures).empty());
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].kind == agent::OutcomeKind::kDeferred);
}

TEST_CASE("forward_path expansion", "[unit]") {
    agent::Identity u{1000, 1000, "alice", "/home/alice", "/bin/sh"};
    CHECK(expand_forward_path("$home/.forward", u, "alice@x", "", "+") == "/home/alice/.forward");
    CHECK(!expand_forward_path("$home/.forward${recipient_delimiter}${extension}", u, "alice@x", "", "+"));
    CHECK(expand_forward_path("$home/.forward${recipient_delimiter}${extension}", u, "alice+l@x", "l", "+") ==
          "/home/alice/.forward+l");
    CHECK(expand_forward_path("/var/forward/$user", u, "alice@x", "", "+") == "/var/forward/alice");
    CHECK(!expand_forward_path("$nosuch/x", u, "alice@x", "", "+"));
}
