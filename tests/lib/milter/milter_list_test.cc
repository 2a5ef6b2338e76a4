// milter_list_test.cc - MilterList and MilterClient against a scripted
// milter on a UNIX socket (a thread with blocking I/O), on a real loop.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "lib/log/log.h"
#include "lib/milter/milter_list.h"
#include "lib/table/maps.h"

using namespace mailroom;
using namespace mailroom::milter;
using queue::RecordType;

namespace {

std::string u32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
    return s;
}

// Answers each packet with what `script` returns (nothing: no reply).
class FakeMilter {
public:
    using Script = std::function<std::string(const Packet&)>;
    FakeMilter(std::string path, Script script) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path_.c_str());
        ::unlink(path_.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
        thread_ = std::thread([this, script] {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            PacketReader r;
            char buf[65536];
            for (;;) {
                ssize_t n = ::read(c, buf, sizeof(buf));
                if (n <= 0) break;
                r.feed(std::string_view(buf, static_cast<std::size_t>(n)));
                for (;;) {
                    auto p = r.next();
                    if (!p || !*p) break;
                    seen += std::string(1, (*p)->command);
                    if ((*p)->command == 'D') macros += (*p)->data + "|";
                    if ((*p)->command == 'Q' || (*p)->command == 'A') continue;  // no replies
                    std::string out = script(**p);
                    if (!out.empty()) (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
                }
            }
            ::close(c);
        });
    }
    ~FakeMilter() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
        ::unlink(path_.c_str());
    }
    std::string seen;    // commands in order (read after the loop finished)
    std::string macros;

private:
    std::string path_;
    int fd_ = -1;
    std::thread thread_;
};

std::string optneg(std::uint32_t actions, std::uint32_t proto) {
    return encode_packet('O', u32(6) + u32(actions) + u32(proto));
}

std::string sock_path(const char* name) {
    return (std::filesystem::temp_directory_path() / (std::string("mr-milter-") + name + "-" +
                                                      std::to_string(::getpid()))).string();
}

std::shared_ptr<MilterConfig> config_for(const std::string& spec_text) {
    auto cfg = std::make_shared<MilterConfig>();
    auto list = parse_milter_list(spec_text, MilterSpec{});
    REQUIRE(list.ok());
    cfg->milters = *list;
    cfg->macros[static_cast<std::size_t>(Stage::kConnect)] = {"j", "{daemon_name}"};
    cfg->macros[static_cast<std::size_t>(Stage::kEom)] = {"i"};
    return cfg;
}

MacroLookup macros() {
    return [](std::string_view name) -> std::optional<std::string> {
        if (name == "j") return std::string("mx.example");
        if (name == "i") return std::string("QID1");
        return std::nullopt;
    };
}

// Runs one step on the loop and returns its verdict.
Verdict wait(event::Loop& loop, const std::function<void(MilterList::Done)>& step) {
    std::optional<Verdict> got;
    step([&](Verdict v) {
        got = v;
        loop.stop();
    });
    while (!got) loop.run_once();
    return *got;
}

// Connect and MAIL, both continued.
void open_transaction(event::Loop& loop, MilterList& list) {
    CHECK(wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); }).ok());
    CHECK(wait(loop, [&](auto d) { list.mail({"<s@example.com>"}, d); }).ok());
}

void start_content(MilterMessage& m) {
    REQUIRE(m.add(RecordType::kSender, "s@example.com").ok());
    REQUIRE(m.add(RecordType::kContentStart, "").ok());
}

void feed_message(MilterMessage& m) {
    for (auto [t, p] : std::vector<std::pair<RecordType, std::string>>{
             {RecordType::kSender, "s@example.com"},
             {RecordType::kRecipient, "Pr@example.com"},
             {RecordType::kContentStart, ""},
             {RecordType::kNormal, "Subject: hi"},
             {RecordType::kNormal, ""},
             {RecordType::kNormal, "body"},
             {RecordType::kExtractedStart, ""},
             {RecordType::kEnd, ""}})
        REQUIRE(m.add(t, p).ok());
}

}  // namespace

TEST_CASE("a whole session: negotiation, macros, every event, edits at end of message") {
    std::string path = sock_path("whole");
    FakeMilter fake(path, [](const Packet& p) -> std::string {
        switch (p.command) {
            case 'O': return optneg(kActAll, kProtoNrHelo);
            case 'D': case 'H': return "";  // macros and the no-reply HELO
            case 'E':
                return encode_packet('h', std::string("X-Milter\0yes\0", 13)) +
                       encode_packet('+', std::string("<added@example.com>\0", 20)) + encode_packet('c', "");
            default: return encode_packet('c', "");
        }
    });
    event::Loop loop;
    MilterList list(loop, config_for("unix:" + path), macros());
    CHECK(wait(loop, [&](auto d) { list.connect(ConnectInfo{"client.example", "192.0.2.1", 4000}, d); }).ok());
    CHECK(wait(loop, [&](auto d) { list.helo("client.example", d); }).ok());
    CHECK(wait(loop, [&](auto d) { list.mail({"<s@example.com>"}, d); }).ok());
    CHECK(wait(loop, [&](auto d) { list.rcpt({"<r@example.com>"}, d); }).ok());
    CHECK(wait(loop, [&](auto d) { list.data(d); }).ok());
    MilterMessage msg(std::filesystem::temp_directory_path().string());
    feed_message(msg);
    CHECK(wait(loop, [&](auto d) { list.message(msg, d); }).ok());
    CHECK(msg.headers().back().name == "X-Milter");
    CHECK(msg.recipients() == std::vector<std::string>{"r@example.com", "added@example.com"});
    list.quit();
    for (int i = 0; i < 5; ++i) loop.defer([] {}), loop.run_once();
    // Postfix's order: macros before each event; header, EOH, body, EOB.
    CHECK(fake.seen.rfind("ODC", 0) == 0);
    CHECK(fake.seen.find("LNB") != std::string::npos);
    CHECK(fake.seen.find("DE") != std::string::npos);
    CHECK(fake.macros.find(std::string("Cj\0mx.example\0", 14)) != std::string::npos);
    CHECK(fake.macros.find(std::string("Ei\0QID1\0", 8)) != std::string::npos);
}

TEST_CASE("a large body goes to the milter in chunks of at most 64 KB, in order") {
    std::string path = sock_path("large");
    std::string got;
    std::size_t chunks = 0, largest = 0;
    FakeMilter fake(path, [&](const Packet& p) -> std::string {
        if (p.command == 'O') return optneg(0, 0);
        if (p.command == 'D') return "";
        if (p.command == 'B') {
            got += p.data;
            ++chunks;
            largest = std::max(largest, p.data.size());
        }
        return encode_packet('c', "");
    });
    event::Loop loop;
    MilterList list(loop, config_for("unix:" + path), macros());
    open_transaction(loop, list);
    MilterMessage msg(std::filesystem::temp_directory_path().string());
    std::string want;
    start_content(msg);
    REQUIRE(msg.add(RecordType::kNormal, "Subject: big").ok());
    REQUIRE(msg.add(RecordType::kNormal, "").ok());
    for (int i = 0; i < 60000; ++i) {
        std::string line = "line " + std::to_string(i) + std::string(60, 'x');
        REQUIRE(msg.add(RecordType::kNormal, line).ok());
        want += line + "\r\n";
    }
    REQUIRE(msg.add(RecordType::kExtractedStart, "").ok());
    REQUIRE(msg.add(RecordType::kEnd, "").ok());
    auto start = std::chrono::steady_clock::now();
    CHECK(wait(loop, [&](auto d) { list.message(msg, d); }).ok());
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(got == want);
    CHECK(chunks > 60);
    CHECK(largest <= kBodyChunk);
    WARN("4 MB to the milter in " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
}

TEST_CASE("a version 6 milter's own macro list replaces the configured one") {
    std::string path = sock_path("symlist");
    FakeMilter fake(path, [](const Packet& p) -> std::string {
        // SETSYMLIST in the negotiation: at connect only {client_addr}.
        if (p.command == 'O')
            return encode_packet('O', u32(6) + u32(kActSetSymList) + u32(0) + u32(0) + std::string("{client_addr}\0", 14));
        if (p.command == 'D') return "";
        return encode_packet('c', "");
    });
    event::Loop loop;
    MilterList list(loop, config_for("unix:" + path), [](std::string_view name) -> std::optional<std::string> {
        if (name == "j") return std::string("mx.example");
        if (name == "{client_addr}") return std::string("192.0.2.1");
        return std::nullopt;
    });
    CHECK(wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); }).ok());
    CHECK(wait(loop, [&](auto d) { list.helo("x", d); }).ok());  // the connect event's macros have arrived
    CHECK(fake.macros.find(std::string("C{client_addr}\0" "192.0.2.1\0", 24)) != std::string::npos);
    CHECK(fake.macros.find("mx.example") == std::string::npos);
}

TEST_CASE("SKIP ends the body, no-reply headers are not waited for, PROGRESS is passed over") {
    std::string path = sock_path("skip");
    std::atomic<int> bodies{0};
    FakeMilter fake(path, [&](const Packet& p) -> std::string {
        if (p.command == 'O') return optneg(kActAddHeaders, kProtoNrHeader | kProtoSkip);
        if (p.command == 'D' || p.command == 'L') return "";  // headers: no reply negotiated
        if (p.command == 'B') {
            ++bodies;
            return encode_packet('s', "");
        }
        if (p.command == 'E')
            return encode_packet('p', "") + encode_packet('h', std::string("X-Skip\0ok\0", 10)) +
                   encode_packet('p', "") + encode_packet('c', "");
        return encode_packet('c', "");
    });
    event::Loop loop;
    MilterList list(loop, config_for("unix:" + path), macros());
    open_transaction(loop, list);
    MilterMessage msg(std::filesystem::temp_directory_path().string());
    start_content(msg);
    for (int i = 0; i < 5; ++i) REQUIRE(msg.add(RecordType::kNormal, "X-H" + std::to_string(i) + ": v").ok());
    REQUIRE(msg.add(RecordType::kNormal, "").ok());
    for (int i = 0; i < 5000; ++i) REQUIRE(msg.add(RecordType::kNormal, std::string(70, 'b')).ok());
    REQUIRE(msg.add(RecordType::kExtractedStart, "").ok());
    REQUIRE(msg.add(RecordType::kEnd, "").ok());
    CHECK(wait(loop, [&](auto d) { list.message(msg, d); }).ok());
    CHECK(bodies == 1);  // 350 KB would be six chunks
    CHECK(msg.headers().back().name == "X-Skip");
}

TEST_CASE("a reply code rejects the recipient with the milter's text") {
    std::string path = sock_path("reject");
    FakeMilter fake(path, [](const Packet& p) -> std::string {
        if (p.command == 'O') return optneg(0, 0);
        if (p.command == 'D') return "";
        if (p.command == 'R') return encode_packet('y', std::string("550 5.1.1 No such user here\0", 28));
        return encode_packet('c', "");
    });
    event::Loop loop;
    MilterList list(loop, config_for("unix:" + path), macros());
    open_transaction(loop, list);
    Verdict v = wait(loop, [&](auto d) { list.rcpt({"<r@example.com>"}, d); });
    CHECK(v.kind == Verdict::Kind::kReject);
    CHECK(v.reply == "550 5.1.1 No such user here");
}

TEST_CASE("a milter that is down gets its default action") {
    std::string path = sock_path("down");
    ::unlink(path.c_str());
    event::Loop loop;
    {
        MilterList list(loop, config_for("unix:" + path), macros());
        Verdict v = wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); });
        CHECK(v.kind == Verdict::Kind::kTempfail);
        CHECK(v.reply == "451 4.7.1 Service unavailable - try again later");
        // Every later event answers the same.
        CHECK(wait(loop, [&](auto d) { list.helo("x", d); }).kind == Verdict::Kind::kTempfail);
    }
    {
        MilterList list(loop, config_for("{ unix:" + path + ", default_action=accept }"), macros());
        CHECK(wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); }).ok());
        CHECK(wait(loop, [&](auto d) { list.helo("x", d); }).ok());
    }
    {
        MilterList list(loop, config_for("{ unix:" + path + ", default_action=reject }"), macros());
        CHECK(wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); }).reply ==
              "550 5.7.1 Command rejected");
    }
}

TEST_CASE("a milter that does not answer in command_timeout gets its default action") {
    std::string path = sock_path("slow");
    FakeMilter fake(path, [](const Packet& p) -> std::string {
        if (p.command == 'O') return optneg(0, 0);
        if (p.command == 'M' || p.command == 'D') return "";  // MAIL is never answered
        return encode_packet('c', "");
    });
    event::Loop loop;
    MilterList list(loop, config_for("{ unix:" + path + ", command_timeout=1s, default_action=quarantine }"), macros());
    CHECK(wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); }).ok());
    auto start = std::chrono::steady_clock::now();
    CHECK(wait(loop, [&](auto d) { list.mail({"<s@example.com>"}, d); }).ok());
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(900));
    MilterMessage msg(std::filesystem::temp_directory_path().string());
    feed_message(msg);
    CHECK(wait(loop, [&](auto d) { list.message(msg, d); }).ok());
    CHECK(msg.held());
}

TEST_CASE("a bad reply to the end of header names SMFIC_EOH in the warning") {
    std::string path = sock_path("eoh");
    FakeMilter fake(path, [](const Packet& p) -> std::string {
        if (p.command == 'O') return optneg(kActAddHeaders, 0);
        if (p.command == 'D') return "";
        // A header edit is only allowed at end of message.
        if (p.command == 'N') return encode_packet('h', std::string("X-Early\0v\0", 10)) + encode_packet('c', "");
        return encode_packet('c', "");
    });
    std::vector<std::string> lines;
    log::set_capture([&](log::Level, const std::string& line) { lines.push_back(line); });
    event::Loop loop;
    MilterList list(loop, config_for("{ unix:" + path + ", default_action=accept }"), macros());
    open_transaction(loop, list);
    MilterMessage msg(std::filesystem::temp_directory_path().string());
    feed_message(msg);
    CHECK(wait(loop, [&](auto d) { list.message(msg, d); }).ok());
    log::set_capture(nullptr);
    bool named = false;
    for (const auto& l : lines) named = named || l.find("unexpected modification reply 'h' to SMFIC_EOH") != std::string::npos;
    CHECK(named);
}

TEST_CASE("milter_header_checks act on the headers a milter adds or changes") {
    std::string path = sock_path("hchecks");
    std::string table = path + ".regexp";
    {
        std::FILE* f = std::fopen(table.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs("/^X-Drop:/ IGNORE\n/^X-Swap: old/ REPLACE X-Swapped: new\n/^X-Bad:/ REJECT bad header from milter\n"
                   "/^X-Route:/ REDIRECT elsewhere@example.com\n/^Subject: spam/ HOLD held by header check\n"
                   "/^X-Keep:/ PREPEND X-Before: keep\n/^X-Ins:/ PREPEND X-Before-Ins: ins\n",
                   f);
        std::fclose(f);
    }
    std::atomic<bool> bad{false};
    FakeMilter fake(path, [&](const Packet& p) -> std::string {
        if (p.command == 'O') return optneg(kActAddHeaders | kActChangeHeaders, 0);
        if (p.command == 'D') return "";
        if (p.command == 'E') {
            std::string out = encode_packet('h', std::string("X-Drop\0gone\0", 12)) +
                              encode_packet('h', std::string("X-Keep\0kept\0", 12)) +
                              encode_packet('h', std::string("X-Swap\0old\0", 11)) +
                              encode_packet('h', std::string("X-Route\0r\0", 10)) +
                              encode_packet('i', u32(0) + std::string("X-Ins\0top\0", 10)) +
                              encode_packet('m', u32(1) + std::string("Subject\0spam now\0", 17));
            if (bad) out += encode_packet('h', std::string("X-Bad\0x\0", 8));
            return out + encode_packet('c', "");
        }
        return encode_packet('c', "");
    });
    auto cfg = config_for("unix:" + path);
    auto maps = table::Maps::open("regexp:" + table);
    REQUIRE(maps.ok());
    cfg->header_checks = std::make_shared<const table::Maps>(std::move(*maps));
    event::Loop loop;
    MilterList list(loop, cfg, macros());
    open_transaction(loop, list);
    MilterMessage msg(std::filesystem::temp_directory_path().string());
    feed_message(msg);
    CHECK(wait(loop, [&](auto d) { list.message(msg, d); }).ok());
    std::vector<std::string> names;
    for (const auto& h : msg.headers()) names.push_back(h.name + ":" + h.value);
    CHECK(names == std::vector<std::string>{"X-Before-Ins:ins", "X-Ins:top", "Subject:spam now", "X-Before:keep",
                                            "X-Keep:kept", "X-Swapped:new", "X-Route:r"});
    CHECK(msg.held());
    CHECK(msg.hold_reason() == "held by header check");
    bool redirected = false;
    REQUIRE(msg.replay([&](RecordType t, std::string_view p) {
                    redirected = redirected || (t == RecordType::kAttribute && p == "redirect=elsewhere@example.com");
                    return ok_status();
                }).ok());
    CHECK(redirected);

    // REJECT ends the message with the table's text.
    bad = true;
    CHECK(wait(loop, [&](auto d) { list.mail({"<s@example.com>"}, d); }).ok());
    MilterMessage msg2(std::filesystem::temp_directory_path().string());
    feed_message(msg2);
    Verdict v = wait(loop, [&](auto d) { list.message(msg2, d); });
    CHECK(v.kind == Verdict::Kind::kReject);
    CHECK(v.reply == "550 5.7.1 bad header from milter");
    ::unlink(table.c_str());
}

TEST_CASE("a milter whose name did not resolve gets its default action at connect") {
    auto cfg = config_for("inet:127.0.0.1:1");
    cfg->milters[0].socket.addresses.clear();
    cfg->milters[0].socket.host = "milter.invalid";
    cfg->milters[0].socket.resolve_error = "Name or service not known";
    std::vector<std::string> lines;
    log::set_capture([&](log::Level, const std::string& line) { lines.push_back(line); });
    event::Loop loop;
    MilterList list(loop, cfg, macros());
    Verdict v = wait(loop, [&](auto d) { list.connect(ConnectInfo{"c", "192.0.2.1", 1}, d); });
    log::set_capture(nullptr);
    CHECK(v.kind == Verdict::Kind::kTempfail);
    bool named = false;
    for (const auto& l : lines) named = named || l.find("cannot resolve milter.invalid: Name or service not known") != std::string::npos;
    CHECK(named);
}
