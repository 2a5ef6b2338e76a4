// queue_file_test.cc - writer/reader round trips, done marks, corruption, crash safety.
#include "lib/queue/queue_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "lib/log/log.h"
#include "lib/queue/queue_id.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"
#include "queue_test_util.h"

using namespace mailroom;
using namespace mailroom::queue;
using mailroom::queue::testing::TempQueue;
using namespace std::string_literals;

namespace {

const std::vector<std::string> kSampleLines = {
    "Received: from client.example.com",
    "Subject: test",
    "",
    "body line",
    std::string(10000, 'L'),  // longer than the default chunk: split into L records
    "",
    "last",
};

struct Written {
    std::string id;
    std::string path;
};

Written write_sample(const QueueLayout& layout, WriterOptions options = {}) {
    auto w = QueueWriter::create(layout, options);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1700000000, 123456).ok());
    REQUIRE(w->set_sender("alice@example.com").ok());
    REQUIRE(w->add_attribute(kAttrClientName, "client.example.com").ok());
    REQUIRE(w->add_attribute(kAttrClientAddress, "192.0.2.7").ok());
    REQUIRE(w->add_attribute(kAttrHeloName, "client").ok());
    REQUIRE(w->add_attribute(kAttrProtocolName, "ESMTP").ok());
    REQUIRE(w->add_attribute(kAttrSaslUsername, "alice").ok());
    REQUIRE(w->add_attribute(kAttrLogIdent, "smtpd").ok());
    REQUIRE(w->set_dsn_ret("HDRS").ok());
    REQUIRE(w->set_dsn_envid("ENV123").ok());
    REQUIRE(w->add_recipient({"bob@example.org", "Bob@Example.ORG", "rfc822;Bob@Example.ORG", "SUCCESS,FAILURE"}).ok());
    REQUIRE(w->add_recipient({"carol@example.org"}).ok());
    REQUIRE(w->add_recipient({"dave@example.net", "dave", "", "NEVER"}).ok());
    REQUIRE(w->begin_content().ok());
    for (const std::string& line : kSampleLines) REQUIRE(w->add_line(line).ok());
    REQUIRE(w->begin_extracted().ok());
    REQUIRE(w->add_attribute(kAttrErrorsTo, "errors@example.com").ok());
    REQUIRE(w->add_recipient({"erin@example.com", "erin"}).ok());
    auto path = w->commit();
    REQUIRE(path.ok());
    return {w->queue_id(), *path};
}

Result<QueueEnvelope> read_path(const std::string& path, std::string* content = nullptr) {
    auto f = QueueFile::open(path, false);
    if (!f) return f.error();
    return f->read([content](std::string_view piece, bool line_end) {
        if (content) {
            content->append(piece);
            if (line_end) content->push_back('\n');
        }
        return ok_status();
    });
}

std::string sample_content() {
    std::string out;
    for (const std::string& l : kSampleLines) out += l + "\n";
    return out;
}

// Record start offsets of a well-formed buffer.
std::vector<std::size_t> record_offsets(std::string_view bytes) {
    std::vector<std::size_t> out;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        DecodedRecord d;
        std::string err;
        REQUIRE(decode_record(bytes.substr(pos), &d, &err) == DecodeStep::kRecord);
        out.push_back(pos);
        pos += d.length;
    }
    return out;
}

void put_file(const std::string& path, const std::string& bytes) {
    REQUIRE(util::write_file_atomic(path, bytes, 0600).ok());
}

}  // namespace

TEST_CASE("writer to reader round trip keeps every field", "[unit]") {
    TempQueue q;
    Written w = write_sample(q.layout);
    CHECK(w.path == q.layout.queue_directory + "/incoming/" + w.id);
    struct stat st;
    REQUIRE(::stat(w.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    std::string content;
    auto env = read_path(w.path, &content);
    INFO((env.ok() ? std::string() : env.error().message));
    REQUIRE(env.ok());
    CHECK(env->arrival_seconds == 1700000000);
    CHECK(env->arrival_microseconds == 123456);
    CHECK(env->sender == "alice@example.com");
    CHECK(env->attribute(kAttrClientName) == "client.example.com");
    CHECK(env->attribute(kAttrClientAddress) == "192.0.2.7");
    CHECK(env->attribute(kAttrHeloName) == "client");
    CHECK(env->attribute(kAttrProtocolName) == "ESMTP");
    CHECK(env->attribute(kAttrSaslUsername) == "alice");
    CHECK(env->attribute(kAttrLogIdent) == "smtpd");
    CHECK(env->attribute(kAttrErrorsTo) == "errors@example.com");
    CHECK(env->attribute("nonexistent").empty());
    CHECK(env->dsn_ret == "HDRS");
    CHECK(env->dsn_envid == "ENV123");
    REQUIRE(env->recipients.size() == 4);
    CHECK(env->recipients[0].address == "bob@example.org");
    CHECK(env->recipients[0].orig_recipient == "Bob@Example.ORG");
    CHECK(env->recipients[0].dsn_orcpt == "rfc822;Bob@Example.ORG");
    CHECK(env->recipients[0].dsn_notify == "SUCCESS,FAILURE");
    CHECK(env->recipients[1].address == "carol@example.org");
    CHECK(env->recipients[1].orig_recipient.empty());
    CHECK(env->recipients[1].dsn_notify.empty());
    CHECK(env->recipients[2].dsn_notify == "NEVER");
    CHECK(env->recipients[2].dsn_orcpt.empty());
    CHECK(env->recipients[3].address == "erin@example.com");
    CHECK(env->recipients[3].extracted);
    CHECK_FALSE(env->recipients[0].extracted);
    for (const auto& r : env->recipients) CHECK_FALSE(r.done);
    CHECK(env->pending_recipients().size() == 4);
    CHECK(content == sample_content());
    CHECK(env->size.message_size == content.size());
    CHECK(env->size.recipient_count == 4);
    CHECK(env->size.format_version == kFormatVersion);
}

TEST_CASE("long lines are split at the chunk size and joined by the reader", "[unit]") {
    TempQueue q;
    WriterOptions opts;
    opts.content_chunk = 7;
    auto w = QueueWriter::create(q.layout, opts);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1, 0).ok());
    REQUIRE(w->set_sender("").ok());
    REQUIRE(w->add_recipient({"x@y"}).ok());
    REQUIRE(w->begin_content().ok());
    REQUIRE(w->add_line("0123456").ok());         // exactly one chunk: one N
    REQUIRE(w->add_line("01234567890123").ok());  // two chunks: L then N(empty)
    REQUIRE(w->add_piece("abc", false).ok());     // streamed pieces of one line
    REQUIRE(w->add_piece("defghij", false).ok());
    REQUIRE(w->add_piece("k", true).ok());
    REQUIRE(w->add_line("").ok());
    auto path = w->commit();
    REQUIRE(path.ok());

    std::vector<std::pair<std::string, bool>> pieces;
    auto f = QueueFile::open(*path, false);
    REQUIRE(f.ok());
    auto env = f->read([&](std::string_view p, bool end) {
        pieces.emplace_back(std::string(p), end);
        return ok_status();
    });
    REQUIRE(env.ok());
    for (const auto& [p, end] : pieces) CHECK(p.size() <= 7);
    std::vector<std::string> lines(1);
    for (const auto& [p, end] : pieces) {
        lines.back() += p;
        if (end) lines.emplace_back();
    }
    lines.pop_back();
    CHECK(lines == std::vector<std::string>{"0123456", "01234567890123", "abcdefghijk", ""});
    CHECK(env->size.message_size == 7 + 1 + 14 + 1 + 11 + 1 + 1);
}

TEST_CASE("a multi-megabyte message streams through writer and reader", "[unit]") {
    TempQueue q;
    auto make_line = [](std::size_t i) {
        if (i % 997 == 0) return std::string(150000 + i % 13, static_cast<char>('a' + i % 26));
        return util::format("%08zu ", i) + std::string(60 + i % 40, static_cast<char>('A' + i % 26));
    };
    const std::size_t kLines = 60000;
    auto w = QueueWriter::create(q.layout);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1700000000, 1).ok());
    REQUIRE(w->set_sender("big@example.com").ok());
    REQUIRE(w->add_recipient({"r@example.com"}).ok());
    REQUIRE(w->begin_content().ok());
    std::uint64_t expected_size = 0;
    for (std::size_t i = 0; i < kLines; ++i) {
        std::string line = make_line(i);
        expected_size += line.size() + 1;
        if (i % 3 == 0) {
            // Stream some lines in two pieces.
            std::size_t half = line.size() / 2;
            REQUIRE(w->add_piece(std::string_view(line).substr(0, half), false).ok());
            REQUIRE(w->add_piece(std::string_view(line).substr(half), true).ok());
        } else {
            REQUIRE(w->add_line(line).ok());
        }
        if (i == kLines / 2) {
            // Streaming: what was added is already on disk, not in memory.
            struct stat st;
            REQUIRE(::stat(w->temp_path().c_str(), &st) == 0);
            CHECK(static_cast<std::uint64_t>(st.st_size) + 64 * 1024 >= w->offset());
            CHECK(w->offset() > 2 * 1024 * 1024);
        }
    }
    REQUIRE(expected_size > 8 * 1024 * 1024);
    auto path = w->commit();
    REQUIRE(path.ok());

    auto f = QueueFile::open(*path, false);
    REQUIRE(f.ok());
    std::size_t line_no = 0;
    std::string current;
    std::size_t mismatches = 0;
    auto env = f->read([&](std::string_view piece, bool end) {
        current.append(piece);
        if (end) {
            if (current != make_line(line_no)) ++mismatches;
            ++line_no;
            current.clear();
        }
        return ok_status();
    });
    REQUIRE(env.ok());
    CHECK(mismatches == 0);
    CHECK(line_no == kLines);
    CHECK(env->size.message_size == expected_size);
}

TEST_CASE("done marks are written in place and survive a reopen", "[unit]") {
    TempQueue q;
    Written w = write_sample(q.layout);
    std::string before = *util::read_file(w.path);
    {
        auto f = QueueFile::open(w.path, true);
        REQUIRE(f.ok());
        auto env = f->read();
        REQUIRE(env.ok());
        REQUIRE(f->mark_done(env->recipients[1]).ok());
        REQUIRE(f->mark_done(env->recipients[3]).ok());
        REQUIRE(f->mark_done(env->recipients[3]).ok());  // idempotent
    }
    std::string after = *util::read_file(w.path);
    REQUIRE(after.size() == before.size());
    std::size_t changed = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
        if (before[i] != after[i]) {
            ++changed;
            CHECK(before[i] == kRcptPending);
            CHECK(after[i] == kRcptDone);
        }
    }
    CHECK(changed == 2);

    auto env = read_path(w.path);
    REQUIRE(env.ok());
    REQUIRE(env->recipients.size() == 4);
    CHECK_FALSE(env->recipients[0].done);
    CHECK(env->recipients[1].done);
    CHECK_FALSE(env->recipients[2].done);
    CHECK(env->recipients[3].done);
    auto pending = env->pending_recipients();
    REQUIRE(pending.size() == 2);
    CHECK(pending[0]->address == "bob@example.org");
    CHECK(pending[1]->address == "dave@example.net");

    auto f = QueueFile::open(w.path, true);
    REQUIRE(f.ok());
    CHECK_THAT(f->mark_done_at(0).error().message, Catch::Contains("no recipient status byte at offset 0"));
    CHECK_FALSE(f->mark_done_at(after.size() + 10).ok());
    auto ro = QueueFile::open(w.path, false);
    REQUIRE(ro.ok());
    CHECK_FALSE(ro->mark_done(env->recipients[0]).ok());  // read-only descriptor
}

TEST_CASE("a writer marks recipients done before the commit, buffered or already written", "[unit]") {
    TempQueue q;
    auto w = QueueWriter::create(q.layout);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1, 0).ok());
    REQUIRE(w->set_sender("a@b").ok());
    REQUIRE(w->add_recipient({"x@y"}).ok());
    std::uint64_t first = w->offset() - std::string("Px@y").size();
    REQUIRE(w->begin_content().ok());
    // A long body pushes the first recipient out of the buffer onto disk.
    std::string line(4000, 'z');
    for (int i = 0; i < 40; ++i) REQUIRE(w->add_line(line).ok());
    REQUIRE(w->begin_extracted().ok());
    REQUIRE(w->add_recipient({"u@v"}).ok());
    std::uint64_t second = w->offset() - std::string("Pu@v").size();
    CHECK_FALSE(w->mark_done(first + 1).ok());  // not a status byte
    REQUIRE(w->mark_done(first).ok());
    REQUIRE(w->mark_done(second).ok());
    auto path = w->commit();
    REQUIRE(path.ok());
    auto env = read_path(*path);
    REQUIRE(env.ok());
    REQUIRE(env->recipients.size() == 2);
    CHECK(env->recipients[0].done);
    CHECK(env->recipients[1].done);
    CHECK(env->pending_recipients().empty());
}

TEST_CASE("truncation at every offset is detected as corruption", "[unit]") {
    TempQueue q;
    WriterOptions opts;
    auto w = QueueWriter::create(q.layout, opts);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1700000000, 5).ok());
    REQUIRE(w->set_sender("a@example.com").ok());
    REQUIRE(w->add_recipient({"b@example.com", "B"}).ok());
    REQUIRE(w->begin_content().ok());
    REQUIRE(w->add_line("Subject: x").ok());
    REQUIRE(w->add_line(std::string(300, 'y')).ok());
    auto path = w->commit();
    REQUIRE(path.ok());
    std::string bytes = *util::read_file(*path);
    REQUIRE(read_path(*path).ok());

    std::string victim = q.layout.file_path(kQueueIncoming, "00000ABCDE");
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        put_file(victim, bytes.substr(0, cut));
        auto env = read_path(victim);
        INFO("truncated to " << cut << " of " << bytes.size() << " bytes");
        REQUIRE_FALSE(env.ok());
        CHECK(is_corruption(env.error()));
    }
    std::set<std::size_t> starts;
    for (std::size_t off : record_offsets(bytes)) starts.insert(off);
    // Cuts inside a record say so; cuts between records miss the end marker.
    put_file(victim, bytes.substr(0, 50));
    CHECK_THAT(read_path(victim).error().message, Catch::Contains("truncated record at offset 0"));
    put_file(victim, bytes.substr(0, bytes.size() - 2));
    CHECK_THAT(read_path(victim).error().message, Catch::Contains("missing end marker"));
    put_file(victim, "");
    CHECK_THAT(read_path(victim).error().message, Catch::Contains("empty input"));
}

TEST_CASE("a damaged type byte in any record is detected", "[unit]") {
    TempQueue q;
    Written w = write_sample(q.layout);
    std::string bytes = *util::read_file(w.path);
    std::string victim = q.layout.file_path(kQueueIncoming, "00000ABCDE");
    const std::string kLetters = "CTSAROonreMNLXE";
    for (std::size_t off : record_offsets(bytes)) {
        for (char replacement : "Q\x01\xff" + kLetters) {
            if (replacement == bytes[off] || replacement == '\0') continue;
            std::string bad = bytes;
            bad[off] = replacement;
            put_file(victim, bad);
            auto env = read_path(victim);
            INFO("record at " << off << " type " << bytes[off] << " -> " << record_type_name(replacement));
            REQUIRE_FALSE(env.ok());
            CHECK(is_corruption(env.error()));
        }
    }
    std::string bad = bytes;
    bad[0] = 'Q';
    put_file(victim, bad);
    CHECK_THAT(read_path(victim).error().message, Catch::Contains("bad record type Q at offset 0"));
}

TEST_CASE("damaged sizes, wrong segments and lying size records are detected", "[unit]") {
    TempQueue q;
    auto build = [](SizeFields size, const std::vector<std::pair<RecordType, std::string>>& recs) {
        std::string out;
        REQUIRE(append_record(&out, RecordType::kSize, format_size_payload(size)).ok());
        for (const auto& [t, p] : recs) REQUIRE(append_record(&out, t, p).ok());
        return out;
    };
    // A well-formed body: C(81) T(10) S(5) R(5) M(2) N(3) X(2) E(2).
    std::vector<std::pair<RecordType, std::string>> body = {
        {RecordType::kArrivalTime, "1.000000"}, {RecordType::kSender, "a@b"}, {RecordType::kRecipient, "Pc@d"},
        {RecordType::kContentStart, ""},        {RecordType::kNormal, "x"},   {RecordType::kExtractedStart, ""},
        {RecordType::kEnd, ""}};
    SizeFields good{81 + 10 + 5 + 6 + 2, 81 + 10 + 5 + 6 + 2 + 3, 2, 1, kFormatVersion};
    std::string victim = q.layout.file_path(kQueueIncoming, "00000ABCDE");
    put_file(victim, build(good, body));
    auto ok = read_path(victim);
    INFO((ok.ok() ? std::string() : ok.error().message));
    REQUIRE(ok.ok());

    struct Case {
        const char* name;
        std::string bytes;
        const char* error;
    };
    std::string valid = build(good, body);
    auto with_size = [&](auto edit) {
        SizeFields s = good;
        edit(s);
        return build(s, body);
    };
    auto with_body = [&](std::size_t at, RecordType t, std::string p) {
        auto b = body;
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), {t, std::move(p)});
        return b;
    };
    const std::vector<Case> cases = {
        {"size byte says more than the file holds", valid.substr(0, 83) + "\x7f" + valid.substr(84),
         "corrupt queue file"},
        {"non-minimal size", valid.substr(0, valid.size() - 1) + "\x80\x00"s, "non-minimal size encoding"},
        {"data after the end marker", valid + "E\0"s, "data after the end marker"},
        {"garbage after the end marker", valid + "zz", "data after the end marker"},
        {"no end marker", valid.substr(0, valid.size() - 2), "missing end marker"},
        {"recipient in the content", build(good, with_body(4, RecordType::kRecipient, "Pz@z")),
         "not allowed in the content segment"},
        {"content line in the envelope", build(good, with_body(1, RecordType::kNormal, "x")),
         "not allowed in the envelope segment"},
        {"content_offset lies", with_size([](SizeFields& s) { s.content_offset += 1; }), "content_offset="},
        {"extracted_offset lies", with_size([](SizeFields& s) { s.extracted_offset = 0; }), "extracted_offset="},
        {"message_size lies", with_size([](SizeFields& s) { s.message_size = 3; }), "message_size=3, file has 2"},
        {"recipient_count lies", with_size([](SizeFields& s) { s.recipient_count = 2; }), "recipient_count=2"},
        {"future format version", with_size([](SizeFields& s) { s.format_version = 9; }), "format version 9"},
        {"bad recipient status byte", [&] {
             auto b = body;
             b[2].second = "Xc@d";
             return build(good, b);
         }(),
         "bad recipient status byte"},
    };
    for (const Case& c : cases) {
        SECTION(c.name) {
            put_file(victim, c.bytes);
            auto env = read_path(victim);
            REQUIRE_FALSE(env.ok());
            CHECK(is_corruption(env.error()));
            CHECK_THAT(env.error().message, Catch::Contains(c.error));
            CHECK_THAT(env.error().message, Catch::Contains(victim));
        }
    }
}

TEST_CASE("a corrupt file is moved to corrupt/ with a warning naming its queue ID", "[unit]") {
    TempQueue q;
    Written w = write_sample(q.layout);
    std::string bytes = *util::read_file(w.path);
    put_file(w.path, bytes.substr(0, bytes.size() / 2));
    auto env = read_path(w.path);
    REQUIRE_FALSE(env.ok());
    REQUIRE(is_corruption(env.error()));

    std::vector<std::pair<log::Level, std::string>> lines;
    log::set_capture([&](log::Level level, const std::string& text) { lines.emplace_back(level, text); });
    Status st = save_corrupt_file(q.layout, kQueueIncoming, w.id, env.error().message);
    log::set_capture(nullptr);
    REQUIRE(st.ok());
    CHECK_FALSE(util::path_exists(w.path));
    CHECK(util::path_exists(q.layout.file_path(kQueueCorrupt, w.id)));
    CHECK(list_queue(q.layout, kQueueIncoming)->empty());
    CHECK(*list_queue(q.layout, kQueueCorrupt) == std::vector<std::string>{w.id});
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].first == log::Level::kWarning);
    CHECK_THAT(lines[0].second, Catch::StartsWith(w.id + ": corrupt queue file in incoming: "));
    CHECK_THAT(lines[0].second, Catch::Contains("truncated record"));
    CHECK_THAT(lines[0].second, Catch::EndsWith("; moved to corrupt/"));

    // A file that is already gone cannot be moved: the error says so.
    log::set_capture([](log::Level, const std::string&) {});
    CHECK_FALSE(save_corrupt_file(q.layout, kQueueIncoming, w.id, "x").ok());
    log::set_capture(nullptr);
}

TEST_CASE("the writer refuses records out of order and keeps the file valid", "[unit]") {
    TempQueue q;
    auto w = QueueWriter::create(q.layout);
    REQUIRE(w.ok());
    REQUIRE(w->set_arrival_time(1, 0).ok());
    CHECK_THAT(w->set_arrival_time(2, 0).error().message, Catch::Contains("second arrival time"));
    CHECK_FALSE(w->add_attribute("colour", "blue").ok());
    CHECK_FALSE(w->set_arrival_time(-1, 0).ok());
    std::uint64_t before = w->offset();
    // All or nothing: a bad NOTIFY writes not even the O record.
    CHECK_THAT(w->add_recipient({"x@y", "X", "", "SOMETIMES"}).error().message, Catch::Contains("DSN NOTIFY"));
    CHECK(w->offset() == before);
    CHECK_THAT(w->begin_content().error().message, Catch::Contains("envelope has no sender"));
    REQUIRE(w->set_sender("s@example.com").ok());
    REQUIRE(w->add_recipient({"x@y"}).ok());
    REQUIRE(w->begin_content().ok());
    CHECK_FALSE(w->add_recipient({"late@y"}).ok());
    CHECK_FALSE(w->set_sender("s2@example.com").ok());
    REQUIRE(w->add_line("hello").ok());
    auto path = w->commit();
    REQUIRE(path.ok());
    CHECK_THAT(w->add_line("more").error().message, Catch::Contains("write after commit"));
    auto env = read_path(*path);
    REQUIRE(env.ok());
    CHECK(env->recipients.size() == 1);

    SECTION("commit without a sender fails and leaves nothing in the queue") {
        auto w2 = QueueWriter::create(q.layout);
        REQUIRE(w2.ok());
        REQUIRE(w2->set_arrival_time(1, 0).ok());
        CHECK_FALSE(w2->commit().ok());
    }
    SECTION("bad options") {
        WriterOptions o;
        o.queue = "private";
        CHECK_FALSE(QueueWriter::create(q.layout, o).ok());
        o.queue = "incoming";
        o.content_chunk = 0;
        CHECK_FALSE(QueueWriter::create(q.layout, o).ok());
    }
    CHECK(list_queue(q.layout, kQueueIncoming)->size() == 1);
}

TEST_CASE("a file that was never committed is never visible under a queue ID", "[unit]") {
    TempQueue q;
    std::string incoming = q.layout.queue_path(kQueueIncoming);

    SECTION("writer destroyed without commit removes its temporary file") {
        {
            auto w = QueueWriter::create(q.layout);
            REQUIRE(w.ok());
            REQUIRE(w->set_arrival_time(1, 0).ok());
            CHECK(testing::count_entries(incoming) == 1);
            CHECK(list_queue(q.layout, kQueueIncoming)->empty());
        }
        CHECK(testing::count_entries(incoming) == 0);
    }
    SECTION("process exits before commit") {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            auto w = QueueWriter::create(q.layout);
            if (!w.ok()) ::_exit(2);
            (void)w->set_arrival_time(1, 0);
            (void)w->set_sender("a@b");
            (void)w->add_recipient({"c@d"});
            (void)w->begin_content();
            for (int i = 0; i < 1000; ++i) (void)w->add_line(std::string(100, 'x'));
            ::_exit(0);  // no destructors, no commit: like a crash
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        CHECK(testing::count_entries(incoming) == 1);  // the temporary file
        CHECK(list_queue(q.layout, kQueueIncoming)->empty());
        CHECK(*remove_stale_temp_files(q.layout, kQueueIncoming, 3600) == 0);  // too young
        // postsuper -p: young, but its writer is gone.
        std::string maildrop = q.layout.queue_path(kQueueMaildrop);
        ::mkdir(maildrop.c_str(), 0700);
        auto live = QueueWriter::create(q.layout, WriterOptions{std::string(kQueueMaildrop)});
        REQUIRE(live.ok());
        CHECK(*purge_temp_files(q.layout, kQueueIncoming) == 1);
        CHECK(*purge_temp_files(q.layout, kQueueMaildrop) == 0);  // this process still writes it
        CHECK(testing::count_entries(maildrop) == 1);
        CHECK(testing::count_entries(incoming) == 0);
        live->abort();
    }
    SECTION("process killed with SIGKILL while writing") {
        int pipefd[2];
        REQUIRE(::pipe(pipefd) == 0);
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(pipefd[0]);
            auto w = QueueWriter::create(q.layout);
            if (!w.ok()) ::_exit(2);
            (void)w->set_arrival_time(1, 0);
            (void)w->set_sender("a@b");
            (void)w->add_recipient({"c@d"});
            (void)w->begin_content();
            bool told = false;
            for (int i = 0;; ++i) {
                (void)w->add_line(std::string(100, 'x'));
                if (i == 2000 && !told) {
                    told = ::write(pipefd[1], "x", 1) == 1;
                }
            }
        }
        ::close(pipefd[1]);
        char c;
        REQUIRE(::read(pipefd[0], &c, 1) == 1);
        ::close(pipefd[0]);
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status));
        CHECK(list_queue(q.layout, kQueueIncoming)->empty());
        CHECK(*remove_stale_temp_files(q.layout, kQueueIncoming, 0) == 1);
    }
    SECTION("a committed file is complete as soon as it is visible") {
        Written w = write_sample(q.layout);
        CHECK(*list_queue(q.layout, kQueueIncoming) == std::vector<std::string>{w.id});
        CHECK(testing::count_entries(incoming) == 1);
        CHECK(read_path(w.path).ok());
    }
}

TEST_CASE("moving a queue file between queues, flat and hashed", "[unit]") {
    for (int depth : {0, 2}) {
        TempQueue q(depth);
        Written w = write_sample(q.layout);
        REQUIRE(move_queue_file(q.layout, w.id, kQueueIncoming, kQueueActive).ok());
        CHECK_FALSE(util::path_exists(w.path));
        CHECK(read_path(q.layout.file_path(kQueueActive, w.id)).ok());
        REQUIRE(move_queue_file(q.layout, w.id, kQueueActive, kQueueDeferred).ok());
        std::string deferred = q.layout.file_path(kQueueDeferred, w.id);
        if (depth == 2) {
            CHECK(deferred == q.layout.queue_directory + "/deferred/" + w.id.substr(0, 1) + "/" + w.id.substr(1, 1) +
                                  "/" + w.id);
        }
        CHECK(read_path(deferred).ok());
        CHECK(*list_queue(q.layout, kQueueDeferred) == std::vector<std::string>{w.id});
        CHECK(list_queue(q.layout, kQueueActive)->empty());
        REQUIRE(move_queue_file(q.layout, w.id, kQueueDeferred, kQueueActive).ok());
        CHECK(read_path(q.layout.file_path(kQueueActive, w.id)).ok());

        Status missing = move_queue_file(q.layout, w.id, kQueueHold, kQueueActive);
        REQUIRE_FALSE(missing.ok());
        CHECK_FALSE(missing.error().temporary());
        CHECK_FALSE(move_queue_file(q.layout, "../x", kQueueActive, kQueueHold).ok());
    }
}

TEST_CASE("a locked queue file cannot be locked again, even by this process", "[unit]") {
    TempQueue q;
    Written w = write_sample(q.layout);
    auto a = QueueFile::open(w.path, true);
    auto b = QueueFile::open(w.path, true);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(a->lock().ok());
    Status st = b->lock();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().temporary());
    CHECK_THAT(st.error().message, Catch::Contains("locked by another process"));

    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = ::open(w.path.c_str(), O_RDWR);
        ::_exit(lock_queue_file(fd).ok() ? 1 : 0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WEXITSTATUS(status) == 0);

    REQUIRE(unlock_queue_file(a->fd()).ok());
    CHECK(b->lock().ok());
    CHECK_FALSE(a->lock().ok());
    {
        QueueFile gone = std::move(*b);
    }  // closing the last descriptor releases the lock
    CHECK(a->lock().ok());
}

TEST_CASE("cleanup copies stream records into a queue file", "[unit]") {
    TempQueue q;
    std::string stream;
    for (auto [t, p] : std::vector<std::pair<RecordType, std::string>>{{RecordType::kArrivalTime, "5.000001"},
                                                                        {RecordType::kSender, "s@x"},
                                                                        {RecordType::kOrigRecipient, "R"},
                                                                        {RecordType::kRecipient, "Pr@x"},
                                                                        {RecordType::kContentStart, ""},
                                                                        {RecordType::kContinued, "ab"},
                                                                        {RecordType::kNormal, "c"},
                                                                        {RecordType::kExtractedStart, ""},
                                                                        {RecordType::kEnd, ""}}) {
        REQUIRE(append_record(&stream, t, p).ok());
    }
    auto w = QueueWriter::create(q.layout);
    REQUIRE(w.ok());
    RecordStreamDecoder d;
    std::string_view rest = stream;
    while (!rest.empty()) {
        std::size_t used = 0;
        auto step = d.feed(rest, &used);
        REQUIRE(step != RecordStreamDecoder::Step::kError);
        rest.remove_prefix(used);
        if (step != RecordStreamDecoder::Step::kRecord) continue;
        if (d.type() == RecordType::kEnd) {
            CHECK_THAT(w->add_stream_record(d.type(), d.payload()).error().message,
                       Catch::Contains("written by the queue file writer only"));
            continue;
        }
        REQUIRE(w->add_stream_record(d.type(), d.payload()).ok());
    }
    REQUIRE(d.finish().ok());
    CHECK_FALSE(w->add_stream_record(RecordType::kSize, format_size_payload({})).ok());
    auto path = w->commit();
    REQUIRE(path.ok());
    std::string content;
    auto env = read_path(*path, &content);
    REQUIRE(env.ok());
    CHECK(env->sender == "s@x");
    REQUIRE(env->recipients.size() == 1);
    CHECK(env->recipients[0].orig_recipient == "R");
    CHECK(content == "abc\n");
}

TEST_CASE("read_envelope skips the content but checks everything else", "[unit]") {
    TempQueue q;
    Written w = write_sample(q.layout);
    auto full = read_path(w.path);
    REQUIRE(full.ok());
    auto f = QueueFile::open(w.path, false);
    REQUIRE(f.ok());
    auto env = f->read_envelope();
    INFO((env.ok() ? std::string() : env.error().message));
    REQUIRE(env.ok());
    CHECK(env->sender == full->sender);
    CHECK(env->attributes == full->attributes);
    CHECK(env->size.message_size == full->size.message_size);
    REQUIRE(env->recipients.size() == full->recipients.size());
    for (std::size_t i = 0; i < env->recipients.size(); ++i) {
        CHECK(env->recipients[i].address == full->recipients[i].address);
        CHECK(env->recipients[i].status_offset == full->recipients[i].status_offset);
        CHECK(env->recipients[i].extracted == full->recipients[i].extracted);
    }

    std::string bytes = *util::read_file(w.path);
    std::string victim = q.layout.file_path(kQueueIncoming, "00000ABCDE");
    auto envelope_of = [&](const std::string& data) {
        put_file(victim, data);
        auto vf = QueueFile::open(victim, false);
        REQUIRE(vf.ok());
        return vf->read_envelope();
    };
    SECTION("damage inside the content is left to read()") {
        std::string bad = bytes;
        bad[full->size.content_offset] = 'Q';
        CHECK(envelope_of(bad).ok());
        put_file(victim, bad);
        CHECK_FALSE(read_path(victim).ok());
    }
    SECTION("a size record pointing at the wrong place is corruption") {
        for (std::uint64_t lie : {full->size.extracted_offset - 1, full->size.extracted_offset + 1,
                                  full->size.content_offset, std::uint64_t{bytes.size() + 100}}) {
            SizeFields s = full->size;
            s.extracted_offset = lie;
            std::string size_record;
            REQUIRE(append_record(&size_record, RecordType::kSize, format_size_payload(s)).ok());
            std::string bad = size_record + bytes.substr(size_record.size());
            auto r = envelope_of(bad);
            INFO("extracted_offset " << lie);
            REQUIRE_FALSE(r.ok());
            CHECK(is_corruption(r.error()));
        }
    }
    SECTION("truncation at every offset is corruption") {
        for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
            auto r = envelope_of(bytes.substr(0, cut));
            INFO("cut " << cut);
            REQUIRE_FALSE(r.ok());
            CHECK(is_corruption(r.error()));
        }
    }
}

TEST_CASE("the writer's bytes match the golden queue file", "[unit]") {
    // Pins the on-disk format: a change here is a format change and needs
    // kFormatVersion and docs/queue-format.md to change with it. To
    // regenerate after such a change, run with MAILROOM_UPDATE_GOLDEN=1.
    TempQueue q;
    Written w = write_sample(q.layout);
    std::string bytes = *util::read_file(w.path);
    const std::string golden = std::string(MAILROOM_QUEUE_TEST_DATA) + "/sample.queue";
    if (std::getenv("MAILROOM_UPDATE_GOLDEN") != nullptr) REQUIRE(util::write_file_atomic(golden, bytes).ok());
    auto expected = util::read_file(golden);
    REQUIRE(expected.ok());
    CHECK(bytes.size() == expected->size());
    CHECK(bytes == *expected);
}
