// pipe_deliver_test.cc - pipe deliveries to a recording script: input, argv, exit statuses, loops.
#include "pipe/pipe_deliver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace mailroom;
using namespace mailroom::pipe;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A temp dir with a recording script: every argument on its own line in
// args.N, standard input in input.N, `id -u` in uid.N (N counts runs);
// the exit status comes from the file "exit" (default 0) and "say" is
// printed on standard output.
struct Fixture {
    std::string dir;
    std::string script;

    Fixture() {
        char tmpl[] = "/tmp/mr-pipe-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
        ::chmod(dir.c_str(), 0777);
        script = dir + "/record.sh";
        std::ofstream(script) << "#!/bin/sh\n"
                                 "d=$(dirname \"$0\")\n"
                                 "n=$(ls \"$d\" | grep -c '^args\\.')\n"
                                 "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$d/args.$n\"\n"
                                 "cat > \"$d/input.$n\"\n"
                                 "id -u > \"$d/uid.$n\"\n"
                                 "[ -f \"$d/say\" ] && cat \"$d/say\"\n"
                                 "[ -f \"$d/exit\" ] && exit $(cat \"$d/exit\")\n"
                                 "exit 0\n";
        ::chmod(script.c_str(), 0755);
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    void set_exit(int code, const std::string& say = "") {
        std::ofstream(dir + "/exit") << code;
        if (!say.empty()) std::ofstream(dir + "/say") << say;
    }
    int runs() const {
        int n = 0;
        for (auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().filename().string().rfind("args.", 0) == 0) ++n;
        return n;
    }
    std::string args(int n) const { return slurp(dir + "/args." + std::to_string(n)); }
    std::string input(int n) const { return slurp(dir + "/input." + std::to_string(n)); }

    PipeService service(const std::string& flags, std::vector<std::string> argv_tail) {
        std::vector<std::string> words = {"flags=" + flags, "user=nobody", "argv=" + script};
        for (auto& a : argv_tail) words.push_back(a);
        auto args = parse_pipe_args(words);
        REQUIRE(args.ok());
        PipeService s;
        s.args = *args;
        auto id = resolve_pipe_identity(s.args);
        REQUIRE(id.ok());
        s.identity = *id;
        s.time_limit_seconds = 20;
        s.extension.delimiters = "+";
        s.env = {"PATH=/usr/bin:/bin"};
        return s;
    }
};

agent::MessageCopy message(std::string_view content, std::string sender = "jerry@example.org") {
    queue::QueueEnvelope env;
    env.sender = std::move(sender);
    env.attributes.push_back({"client_address", "192.0.2.7"});
    auto m = agent::MessageCopy::from_text(env, content);
    REQUIRE(m.ok());
    return std::move(*m);
}

agent::Job job(std::vector<agent::JobRecipient> rcpts, std::string sender = "jerry@example.org") {
    agent::Job j;
    j.queue_id = "04B92147CE9";
    j.sender = std::move(sender);
    j.nexthop = "magedu.com";
    j.service = "maildrop";
    j.recipients = std::move(rcpts);
    return j;
}

}  // namespace

TEST_CASE("pipe delivers like the seed's maildrop service", "[unit]") {
    Fixture fx;
    auto svc = fx.service("DRhu", {"-d", "${recipient}", "${client_address}", "${queue_id}", "${size}"});
    auto msg = message("Subject: hi\n\nFrom here\n.dot\n");
    auto out = pipe_deliver(job({{"Jerry@Magedu.COM", "jerry@magedu.com"}}), msg, svc, 0);
    REQUIRE(out.size() == 1);
    // Without the X flag maildrop is not the final destination: "relayed".
    agent::Outcome relayed = agent::sent("delivered via maildrop service");
    relayed.relayed = true;
    CHECK(out[0] == relayed);
    REQUIRE(fx.runs() == 1);
    CHECK(fx.args(0) == "-d\njerry@magedu.com\n192.0.2.7\n04B92147CE9\n28\n");
    CHECK(fx.input(0) ==
          "Return-Path: <jerry@example.org>\nDelivered-To: Jerry@Magedu.COM\n"
          "Subject: hi\n\nFrom here\n.dot\n");
    if (agent::privileged()) {
        auto nobody = agent::resolve_user("nobody");
        REQUIRE(nobody.ok());
        CHECK(slurp(fx.dir + "/uid.0") == std::to_string(nobody->uid) + "\n");
    }
}

TEST_CASE("the X flag makes the command the final destination", "[unit]") {
    Fixture fx;
    auto svc = fx.service("X", {"${recipient}"});
    auto out = pipe_deliver(job({{"a@b.test", "a@b.test"}}), message("Subject: x\n\nbody\n"), svc, 0);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == agent::sent("delivered via maildrop service"));
    CHECK_FALSE(out[0].relayed);
}

TEST_CASE("pipe flags shape the command's input", "[unit]") {
    Fixture fx;
    auto svc = fx.service("FORB.>", {});
    svc.args.eol = "\r\n";
    auto msg = message("Subject: hi\n\nFrom here\n.dot\n", "");
    auto out = pipe_deliver(job({{"u@x", "orig@x"}}, ""), msg, svc, 0);
    CHECK(out[0].kind == agent::OutcomeKind::kSent);
    std::string in = fx.input(0);
    CHECK(in.rfind("From MAILER-DAEMON ", 0) == 0);
    CHECK(in.find("\r\nReturn-Path: <>\r\nX-Original-To: orig@x\r\n"
                  "Subject: hi\r\n\r\n>From here\r\n..dot\r\n\r\n") != std::string::npos);
}

TEST_CASE("exit statuses become sent deferred or bounced", "[unit]") {
    Fixture fx;
    auto svc = fx.service("R", {"${recipient}"});
    auto msg = message("Subject: x\n\nbody\n");
    fx.set_exit(75, "mailbox locked");
    auto d = pipe_deliver(job({{"u@x", ""}}), msg, svc, 0);
    CHECK(d[0] == agent::deferred("temporary failure. Command output: mailbox locked", "4.3.0"));
    fx.set_exit(67, "Invalid user specified.");
    auto b = pipe_deliver(job({{"u@x", ""}}), msg, svc, 0);
    CHECK(b[0] == agent::bounced("user unknown. Command output: Invalid user specified.", "5.1.1"));
    fx.set_exit(1);
    auto one = pipe_deliver(job({{"u@x", ""}}), msg, svc, 0);
    CHECK(one[0].kind == agent::OutcomeKind::kBounced);
    CHECK(one[0].text.rfind("Command died with status 1: \"" + fx.script + "\"", 0) == 0);
}

TEST_CASE("recipients share a run unless D or O is set", "[unit]") {
    Fixture fx;
    auto shared = fx.service("R", {"-d", "${recipient}"});
    auto msg = message("Subject: x\n\nbody\n");
    auto out = pipe_deliver(job({{"a@x", ""}, {"b@x", ""}}), msg, shared, 0);
    CHECK(out.size() == 2);
    CHECK(fx.runs() == 1);
    CHECK(fx.args(0) == "-d\na@x\nb@x\n");
    auto separate = fx.service("DR", {"-d", "${recipient}"});
    out = pipe_deliver(job({{"a@x", ""}, {"b@x", ""}}), msg, separate, 0);
    CHECK(fx.runs() == 3);
    CHECK(fx.args(1) == "-d\na@x\n");
    CHECK(fx.args(2) == "-d\nb@x\n");
    CHECK(fx.input(2).find("Delivered-To: b@x\n") != std::string::npos);
}

TEST_CASE("loops and oversized messages never reach the command", "[unit]") {
    Fixture fx;
    auto svc = fx.service("DR", {"${recipient}"});
    auto looped = message("Delivered-To: u@x\nSubject: x\n\nbody\n");
    auto out = pipe_deliver(job({{"U@X", ""}, {"other@x", ""}}), looped, svc, 0);
    CHECK(out[0] == agent::bounced("mail forwarding loop for U@X", "5.4.6"));
    CHECK(out[1].kind == agent::OutcomeKind::kSent);
    CHECK(fx.runs() == 1);
    svc.args.size_limit = 5;
    auto big = pipe_deliver(job({{"a@x", ""}}), message("Subject: x\n\nbody\n"), svc, 0);
    CHECK(big[0] == agent::bounced("message too large", "5.2.3"));
    CHECK(fx.runs() == 1);
}

TEST_CASE("pipe never runs commands as root", "[unit]") {
    if (!agent::privileged()) return;
    auto args = parse_pipe_args({"user=root", "argv=/bin/true"});
    REQUIRE(args.ok());
    CHECK(!resolve_pipe_identity(*args).ok());
    auto zero = parse_pipe_args({"user=0", "argv=/bin/true"});
    REQUIRE(zero.ok());
    CHECK(!resolve_pipe_identity(*zero).ok());
}

TEST_CASE("recipient_limit splits the recipients into command runs", "[unit]") {
    Fixture fx;
    auto svc = fx.service("R", {"-d", "${recipient}"});
    auto msg = message("Subject: x\n\nbody\n");
    svc.recipient_limit = 1;
    auto out = pipe_deliver(job({{"a@x", ""}, {"b@x", ""}, {"c@x", ""}}), msg, svc, 0);
    CHECK(out.size() == 3);
    REQUIRE(fx.runs() == 3);
    CHECK(fx.args(0) == "-d\na@x\n");
    CHECK(fx.args(2) == "-d\nc@x\n");
    svc.recipient_limit = 2;
    out = pipe_deliver(job({{"a@x", ""}, {"b@x", ""}, {"c@x", ""}}), msg, svc, 0);
    REQUIRE(fx.runs() == 5);
    CHECK(fx.args(3) == "-d\na@x\nb@x\n");
    CHECK(fx.args(4) == "-d\nc@x\n");
    for (const auto& o : out) CHECK(o.kind == agent::OutcomeKind::kSent);
}
