// cleanup_session_test.cc - the cleanup server's side of the hand-off, end
// to end: the real cleanup program runs under a fake master on
// public/cleanup of a temporary queue, and clients talk to it with
// CleanupClient or with raw records. Checked: a message is committed to
// incoming/ and qmgr is woken; rejections come back with Postfix's status,
// DSN and reason and leave no file; a malformed stream, a client that goes
// away and a client that stays silent for ipc_timeout leave no file either.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/ipc/protocol.h"
#include "lib/queue/queue_id.h"
#include "lib/queue/record.h"
#include "lib/submit/cleanup_proto.h"
#include "lib/util/fs.h"
#include "tests/support/cleanup_stream.h"
#include "tests/support/fake_master.h"
#include "tests/support/fake_service.h"

using namespace mailroom;
using queue::RecordType;
using submit::CleanupClient;
using submit::CleanupStatus;

namespace {

// A queue, a main.cf beside it, and cleanup running on public/cleanup.
struct CleanupServer {
    queue::testing::TempQueue q;
    std::string qdir = q.layout.queue_directory;
    std::string top = std::filesystem::path(qdir).parent_path().string();
    std::string maillog = top + "/maillog";
    std::optional<testing::FakeMaster> master;

    // `extra_main_cf` may name files beside main.cf as @TOP@/NAME; `files`
    // (name, content) are written there before cleanup starts.
    explicit CleanupServer(std::string extra_main_cf = "",
                           const std::vector<std::pair<std::string, std::string>>& files = {}) {
        for (auto pos = extra_main_cf.find("@TOP@"); pos != std::string::npos; pos = extra_main_cf.find("@TOP@"))
            extra_main_cf.replace(pos, 5, top);
        for (const auto& [name, content] : files) std::ofstream(top + "/" + name) << content;
        std::ofstream(top + "/main.cf") << "queue_directory = " << qdir << "\n"
                                        << "data_directory = " << top << "/data\n"
                                        << "maillog_file = " << maillog << "\n"
                                        << "myhostname = mx.example.test\n"
                                        << "mydomain = example.test\n"
                                        << extra_main_cf;
        master.emplace(MR_CLEANUP_PATH, top, "cleanup",
                       ipc::service_socket_path(qdir, ipc::ServiceClass::kPublic, "cleanup"));
    }

    Result<CleanupClient> open(std::int64_t flags = submit::kCleanupFlagNone) {
        return CleanupClient::open(qdir, ipc::ServiceClass::kPublic, "cleanup", flags, 10000);
    }

    // Every entry of incoming/ (queue files and temporary files alike).
    std::vector<std::string> incoming() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(q.layout.queue_path("incoming")))
            names.push_back(e.path().filename().string());
        return names;
    }

    // With max_use = 1 in main.cf: cleanup exits once its one session is
    // over (a multi server reports nothing when a session ends).
    bool session_ended() {
        int status = master->wait_exit();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }

    bool logged(const std::string& text) const {
        auto log = util::read_file(maillog);
        return log && log->find(text) != std::string::npos;
    }
};

}  // namespace

TEST_CASE("cleanup session commits a message to incoming and wakes qmgr", "[unit]") {
    CleanupServer s;
    testing::FakeService qmgr(s.qdir, ipc::ServiceClass::kPublic, "qmgr");
    std::string wakeup;
    qmgr.serve([&](ipc::IpcStream& st) {
        char buf[16];
        for (;;) {
            pollfd p{st.fd(), POLLIN, 0};
            if (::poll(&p, 1, 10000) <= 0) break;
            ssize_t n = ::read(st.fd(), buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) break;
            wakeup.append(buf, static_cast<std::size_t>(n));
        }
    });
    auto client = s.open();
    REQUIRE(client);
    const std::string id = client->queue_id();
    CHECK(queue::is_valid_queue_id(id));
    auto result = testing::submit_records(
        *client,
        testing::cleanup_stream("alice", {"bob@example.org", "carol@example.org"}, {"Subject: hand-off", "", "the body"}));
    REQUIRE(result);
    CHECK(result->ok());
    CHECK(result->queue_id == id);
    qmgr.join();
    CHECK(wakeup == "I");

    auto back = queue::testing::read_back(s.q.layout.file_path("incoming", id));
    CHECK(back.env.sender == "alice@mx.example.test");  // qualified with myorigin
    REQUIRE(back.env.recipients.size() == 2);
    CHECK(back.env.recipients[0].address == "bob@example.org");
    CHECK(back.env.recipients[1].address == "carol@example.org");
    CHECK(std::find(back.lines.begin(), back.lines.end(), "Subject: hand-off") != back.lines.end());
    CHECK(back.lines.back() == "the body");
    CHECK(s.incoming() == std::vector<std::string>{id});
}

TEST_CASE("cleanup session rejections carry Postfix's status, DSN and reason and leave no file", "[unit]") {
    struct Case {
        const char* name;
        const char* main_cf;
        bool recipient;
        std::size_t body_lines;
        CleanupStatus status;
        const char* dsn;
        const char* reason;
    };
    const Case c = GENERATE(
        Case{"no recipients", "", false, 1, CleanupStatus::kRcpt, "5.1.0", "no recipients specified"},
        Case{"header_checks REJECT", "header_checks = regexp:@TOP@/header_checks\n", true, 1,
             CleanupStatus::kContent, "5.7.1", "no spam here"},
        Case{"message_size_limit", "message_size_limit = 2000\n", true, 100, CleanupStatus::kSize, "5.3.4",
             "message file too big"});
    INFO(c.name);
    CleanupServer s(std::string("max_use = 1\n") + c.main_cf,
                    {{"header_checks", "/^Subject: .*spam/ REJECT no spam here\n"}});
    std::vector<std::string> lines = {"Subject: buy spam now", ""};
    for (std::size_t i = 0; i < c.body_lines; ++i) lines.push_back(std::string(70, 'b'));
    std::vector<std::string> rcpts;
    if (c.recipient) rcpts.push_back("bob@example.org");

    auto client = s.open();
    REQUIRE(client);
    auto result = testing::submit_records(*client, testing::cleanup_stream("alice@example.com", rcpts, lines));
    REQUIRE(result);
    CHECK(result->status == c.status);
    CHECK(result->dsn == c.dsn);
    CHECK(result->reason == c.reason);
    CHECK_FALSE(result->temporary());
    REQUIRE(s.session_ended());
    CHECK(s.incoming().empty());
}

TEST_CASE("cleanup session answers a malformed stream with 5.3.0 and removes the file", "[unit]") {
    CleanupServer s("max_use = 1\n");
    auto fd = ipc::connect_service(s.qdir, ipc::ServiceClass::kPublic, "cleanup", 10000);
    REQUIRE(fd);
    ipc::IpcStream stream(std::move(*fd), 10000);
    REQUIRE(stream.expect_announcement(ipc::kCleanupProtocol, ipc::kProtocolVersion));
    ipc::AttrList req;
    req.add_int(std::string(submit::kAttrFlags), 0);
    REQUIRE(stream.send(req));
    auto id = stream.receive();
    REQUIRE(id);
    // A valid first record, then a type byte no record has.
    std::string bytes;
    REQUIRE(queue::append_record(&bytes, RecordType::kArrivalTime, "1795500000.000001"));
    bytes += "\x01\x05hello";
    REQUIRE(::send(stream.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    auto reply = stream.receive();
    REQUIRE(reply);
    CHECK(ipc::get_int(*reply, submit::kAttrStatus).value() == static_cast<std::int64_t>(CleanupStatus::kBad));
    CHECK(ipc::get_string(*reply, submit::kAttrDsn).value() == "5.3.0");
    REQUIRE(s.session_ended());
    CHECK(s.incoming().empty());
}

TEST_CASE("cleanup session removes the file of a client that goes away", "[unit]") {
    CleanupServer s("max_use = 1\n");
    {
        auto client = s.open();
        REQUIRE(client);
        testing::Records partial =
            testing::cleanup_stream("alice@example.com", {"bob@example.org"}, {"Subject: cut short", ""});
        partial.pop_back();  // no X, no E: the client hangs up in the content
        // Past the client's 64 KiB buffer, so that records reach cleanup.
        for (int i = 0; i < 2000; ++i) partial.emplace_back(RecordType::kNormal, std::string(70, 'c'));
        REQUIRE(testing::send_records(*client, partial));
    }  // the connection closes here
    REQUIRE(s.session_ended());
    CHECK(s.incoming().empty());
}

TEST_CASE("cleanup session drops a client silent for ipc_timeout", "[unit]") {
    CleanupServer s("max_use = 1\nipc_timeout = 1s\n");
    auto client = s.open();
    REQUIRE(client);
    const std::string id = client->queue_id();
    // Say nothing; cleanup gives up after one second.
    REQUIRE(s.session_ended());
    CHECK(s.logged("warning: " + id + ": timeout after 1 s reading from the client"));
    CHECK(s.incoming().empty());
    auto late = client->finish();
    REQUIRE_FALSE(late);
    CHECK(late.error().temporary());
}
