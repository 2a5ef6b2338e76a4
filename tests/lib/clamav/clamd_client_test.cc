// clamd_client_test.cc - the INSTREAM codec (endpoints, chunk framing,
// replies) and InstreamScan on the loop against a fake clamd on a UNIX
// socket: clean, infected, the size-limit error, clamd closing early,
// clamd refusing connections, and timeouts.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/clamav/clamd_client.h"
#include "tests/support/loop_util.h"

using namespace mailroom;
using mailroom::testing::run_until;
using namespace std::chrono_literals;

namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

// What the fake clamd does with one connection.
enum class Script {
    kReply,        // read the whole stream, then send `reply`
    kLimit,        // after `limit` bytes of data: send `reply` and close
    kCloseEarly,   // after the command: close without a word
    kSilent,       // read the whole stream, never answer
};

struct FakeClamd {
    std::string dir;
    std::string path;
    int listen_fd = -1;
    std::thread thread;
    // What arrived.
    std::string command;
    std::vector<std::uint32_t> chunks;
    std::string data;
    bool ended = false;
    std::atomic<bool> done{false};

    FakeClamd() {
        char tmpl[] = "/tmp/mr-clamd-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        path = dir + "/clamd.ctl";
        listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listen_fd >= 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strcpy(sun.sun_path, path.c_str());
        REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
        REQUIRE(::listen(listen_fd, 4) == 0);
    }
    ~FakeClamd() {
        if (thread.joinable()) thread.join();
        if (listen_fd >= 0) ::close(listen_fd);
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }

    void serve(Script script, std::string reply, std::size_t limit = 0) {
        thread = std::thread([this, script, reply, limit] {
            int fd = ::accept(listen_fd, nullptr, nullptr);
            if (fd < 0) return;
            std::string buf;
            char tmp[65536];
            auto fill = [&](std::size_t want) {
                while (buf.size() < want) {
                    ssize_t n = ::read(fd, tmp, sizeof tmp);
                    if (n <= 0) return false;
                    buf.append(tmp, static_cast<std::size_t>(n));
                }
                return true;
            };
            if (fill(10)) {
                command = buf.substr(0, 10);
                buf.erase(0, 10);
            }
            if (script == Script::kCloseEarly) {
                ::close(fd);
                done = true;
                return;
            }
            for (;;) {
                if (!fill(4)) break;
                std::uint32_t n = be32(buf, 0);
                if (n == 0) {
                    ended = true;
                    break;
                }
                if (!fill(4 + n)) break;
                chunks.push_back(n);
                data.append(buf, 4, n);
                buf.erase(0, 4 + n);
                if (script == Script::kLimit && data.size() > limit) break;
            }
            if (script != Script::kSilent) {
                std::string r = reply + std::string(1, '\0');
                (void)!::write(fd, r.data(), r.size());
            } else {
                // Holds the connection until the client gives up.
                while (::read(fd, tmp, sizeof tmp) > 0) {
                }
            }
            ::close(fd);
            done = true;
        });
    }
};

struct Outcome {
    bool called = false;
    std::optional<clamav::Verdict> verdict;
    std::string error;
};

clamav::InstreamScan::Done record(Outcome* out) {
    return [out](Result<clamav::Verdict> r) {
        out->called = true;
        if (r) out->verdict = *r;
        else out->error = r.error().message;
    };
}

clamav::Endpoint unix_endpoint(const std::string& path) { return clamav::parse_endpoint("unix:" + path).value(); }

}  // namespace

TEST_CASE("clamd endpoints: unix, inet, a bare path, and bad ones refused", "[clamav]") {
    auto u = clamav::parse_endpoint("unix:/run/clamav/clamd.ctl");
    REQUIRE(u);
    CHECK(u->path == "/run/clamav/clamd.ctl");
    CHECK(u->text() == "unix:/run/clamav/clamd.ctl");
    CHECK(clamav::parse_endpoint("/var/run/clamd.sock")->path == "/var/run/clamd.sock");
    auto i = clamav::parse_endpoint("inet:127.0.0.1:3310");
    REQUIRE(i);
    CHECK(i->address == "127.0.0.1");
    CHECK(i->port == 3310);
    CHECK(clamav::parse_endpoint("inet:localhost:3310")->address == "127.0.0.1");
    auto v6 = clamav::parse_endpoint("inet:[::1]:3310");
    REQUIRE(v6);
    CHECK(v6->address == "::1");
    CHECK(v6->text() == "inet:[::1]:3310");
    CHECK_FALSE(clamav::parse_endpoint("inet:127.0.0.1"));
    CHECK_FALSE(clamav::parse_endpoint("inet:127.0.0.1:0"));
    CHECK_FALSE(clamav::parse_endpoint("inet:127.0.0.1:99999"));
    CHECK_FALSE(clamav::parse_endpoint("inet:clamd.example.com:3310"));
    CHECK_FALSE(clamav::parse_endpoint("relative/path"));
    CHECK_FALSE(clamav::parse_endpoint("unix:/" + std::string(200, 'x')));
}

TEST_CASE("INSTREAM framing: big-endian length before each chunk, zero length at the end", "[clamav]") {
    std::string f = clamav::frame_chunk("hello");
    REQUIRE(f.size() == 9);
    CHECK(f.substr(0, 4) == std::string("\0\0\0\5", 4));
    CHECK(f.substr(4) == "hello");
    std::string big(0x010203, 'x');
    std::string g = clamav::frame_chunk(big);
    CHECK(g.substr(0, 4) == std::string("\0\x01\x02\x03", 4));
    CHECK(clamav::end_of_stream() == std::string(4, '\0'));
    CHECK(clamav::kInstreamCommand == std::string_view("zINSTREAM\0", 10));
}

TEST_CASE("clamd replies: OK, FOUND with the name, ERROR, garbage", "[clamav]") {
    auto ok = clamav::parse_reply(std::string("stream: OK\0", 11));
    REQUIRE(ok);
    CHECK(ok->kind == clamav::Verdict::Kind::kClean);
    auto found = clamav::parse_reply("stream: Eicar-Test-Signature FOUND");
    REQUIRE(found);
    CHECK(found->kind == clamav::Verdict::Kind::kInfected);
    CHECK(found->virus == "Eicar-Test-Signature");
    auto session = clamav::parse_reply("1: stream: Win.Test.Made-Up FOUND\n");
    REQUIRE(session);
    CHECK(session->virus == "Win.Test.Made-Up");
    auto limit = clamav::parse_reply("INSTREAM size limit exceeded. ERROR");
    REQUIRE(limit);
    CHECK(limit->kind == clamav::Verdict::Kind::kError);
    CHECK(limit->text == "INSTREAM size limit exceeded. ERROR");
    CHECK_FALSE(clamav::parse_reply(""));
    CHECK_FALSE(clamav::parse_reply("stream: FOUND"));
    CHECK_FALSE(clamav::parse_reply("PONG"));
}

TEST_CASE("a clean stream: every byte arrives in chunks no larger than kChunkSize", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kReply, "stream: OK");
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {.timeout = 5000ms});
    std::string message;
    for (int i = 0; i < 5000; ++i) message += "line " + std::to_string(i) + " of a long message body\r\n";
    // Written in odd pieces, as lines arrive.
    for (std::size_t at = 0; at < message.size(); at += 777) scan->write(std::string_view(message).substr(at, 777));
    Outcome out;
    scan->finish(record(&out));
    CHECK_FALSE(out.called);  // never at once
    REQUIRE(run_until(loop, [&] { return out.called; }));
    REQUIRE(out.verdict);
    CHECK(out.verdict->kind == clamav::Verdict::Kind::kClean);
    CHECK(scan->length() == message.size());
    CHECK_FALSE(scan->truncated());
    clamd.thread.join();  // the fake ends on its own after its reply
    CHECK(clamd.command == std::string("zINSTREAM\0", 10));
    CHECK(clamd.ended);
    CHECK(clamd.data == message);
    REQUIRE(clamd.chunks.size() >= 2);
    for (auto n : clamd.chunks) CHECK(n <= clamav::kChunkSize);
}

TEST_CASE("an infected stream names the signature", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kReply, "stream: Eicar-Test-Signature FOUND");
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {});
    scan->write("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR\r\n");
    Outcome out;
    scan->finish(record(&out));
    REQUIRE(run_until(loop, [&] { return out.called; }));
    REQUIRE(out.verdict);
    CHECK(out.verdict->kind == clamav::Verdict::Kind::kInfected);
    CHECK(out.verdict->virus == "Eicar-Test-Signature");
}

TEST_CASE("max_length: only the first bytes are sent", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kReply, "stream: OK");
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {.max_length = 100});
    scan->write(std::string(60, 'a'));
    scan->write(std::string(60, 'b'));
    scan->write(std::string(60, 'c'));
    Outcome out;
    scan->finish(record(&out));
    REQUIRE(run_until(loop, [&] { return out.called; }));
    REQUIRE(out.verdict);
    CHECK(scan->truncated());
    CHECK(scan->length() == 100);
    clamd.thread.join();
    CHECK(clamd.data == std::string(60, 'a') + std::string(40, 'b'));
}

TEST_CASE("clamd's size limit: the early ERROR reply is the verdict, later writes are dropped", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kLimit, "INSTREAM size limit exceeded. ERROR", 100 * 1024);
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {.timeout = 5000ms});
    int stopped_drains = 0;  // drain calls after the scan stopped sending
    scan->on_drained([&] {
        if (scan->failed()) ++stopped_drains;
    });
    std::string piece(16 * 1024, 'z');
    // Keeps writing while clamd reads, until the reply has come back.
    for (int i = 0; i < 64 && !scan->failed(); ++i) {
        scan->write(piece);
        run_until(loop, [&] { return scan->unsent() == 0 || scan->failed(); }, 2000ms);
    }
    REQUIRE(run_until(loop, [&] { return scan->failed(); }));
    // A writer waiting for room is told that the scan stopped.
    REQUIRE(run_until(loop, [&] { return stopped_drains > 0; }));
    scan->write(piece);  // dropped
    CHECK(scan->unsent() == 0);
    Outcome out;
    scan->finish(record(&out));
    REQUIRE(run_until(loop, [&] { return out.called; }));
    REQUIRE(out.verdict);
    CHECK(out.verdict->kind == clamav::Verdict::Kind::kError);
    CHECK(out.verdict->text == "INSTREAM size limit exceeded. ERROR");
}

TEST_CASE("clamd closing without a reply is an error", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kCloseEarly, "");
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {.timeout = 5000ms});
    scan->write("Subject: x\r\n\r\nbody\r\n");
    REQUIRE(run_until(loop, [&] { return clamd.done.load(); }));
    Outcome out;
    scan->finish(record(&out));
    REQUIRE(run_until(loop, [&] { return out.called; }));
    CHECK_FALSE(out.verdict);
    CHECK_FALSE(out.error.empty());
}

TEST_CASE("no clamd listening: the connect error is the result", "[clamav]") {
    std::string path;
    {
        FakeClamd gone;
        path = gone.path;
    }
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(path), {.timeout = 5000ms});
    scan->write("data\r\n");
    Outcome out;
    scan->finish(record(&out));
    REQUIRE(run_until(loop, [&] { return out.called; }));
    CHECK_FALSE(out.verdict);
    CHECK(out.error.find("No such file") != std::string::npos);
}

TEST_CASE("clamd that never answers: timeout", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kSilent, "");
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {.timeout = 300ms});
    scan->write("data\r\n");
    Outcome out;
    auto t0 = std::chrono::steady_clock::now();
    scan->finish(record(&out));
    REQUIRE(run_until(loop, [&] { return out.called; }));
    CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
    CHECK_FALSE(out.verdict);
    CHECK(out.error == "timeout");
    scan.reset();  // closes the connection: the fake's read ends
    loop.run_once();
}

TEST_CASE("dropping a scan before its answer calls nothing", "[clamav]") {
    FakeClamd clamd;
    clamd.serve(Script::kReply, "stream: OK");
    event::Loop loop;
    auto scan = clamav::InstreamScan::start(loop, unix_endpoint(clamd.path), {});
    scan->write("data\r\n");
    Outcome out;
    scan->finish(record(&out));
    scan.reset();
    loop.run_once();      // closes the connection (deferred delete)
    clamd.thread.join();  // the fake saw the end of the stream or EOF
    CHECK(clamd.done);
    CHECK_FALSE(out.called);
}
