// mail_folder_test.cc - a session's view of a folder: flags in file names
// and keywords, sync events with two sessions and a delivery, UIDs that
// persist and match pop3d's UIDLs, MODSEQs and CONDSTORE, the index being
// rebuilt, and a 100,000-message folder.
#include "lib/access/mail_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "lib/access/folder_index.h"
#include "lib/access/mail_store.h"
#include "lib/access/uidlist.h"
#include "tests/lib/access/store_test_util.h"

using namespace mailroom;
using namespace mailroom::access;
using store_test::count_files;
using store_test::deliver;
using store_test::open_store;
using store_test::TempDir;

namespace {

std::unique_ptr<MailFolder> open_box(MailStore& store, const std::string& name, bool ro = false) {
    auto f = store.open_folder(name, ro);
    REQUIRE(f);
    return std::move(*f);
}

std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

using Kind = FolderChange::Kind;

int count_kind(const std::vector<FolderChange>& c, Kind k) {
    return static_cast<int>(std::count_if(c.begin(), c.end(), [k](const FolderChange& x) { return x.kind == k; }));
}

}  // namespace

TEST_CASE("mail folder: info letters <-> flags and keywords", "[unit]") {
    std::uint32_t kw = 0;
    std::string other;
    CHECK(flags_from_info("DFPRSTac", &kw, &other) == kAllSystemFlags);
    CHECK(kw == 5u);
    CHECK(other == "P");
    CHECK(info_from_flags(kFlagSeen | kFlagAnswered, 2, "P") == "PRSb");
    CHECK(info_from_flags(0, 0, "") == "");
}

TEST_CASE("mail folder: flags are stored in the file names, keywords through dovecot-keywords", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: a\n\n1\n");
    deliver(md, "Subject: b\n\n2\n");
    // A keyword Dovecot defined already keeps its letter.
    std::ofstream(md + "/dovecot-keywords") << "0 $Junk\n1 Work\n";
    auto box = open_box(*store, "INBOX");
    REQUIRE(box->count() == 2);
    CHECK(count_files(md + "/new") == 0);  // a read-write open moves new/ to cur/
    CHECK(box->message(0).recent);
    const std::uint64_t m0 = box->message(0).modseq;
    auto r = box->store({1}, StoreMode::kAdd, kFlagSeen | kFlagAnswered, {"Work", "$Label1"});
    REQUIRE(r);
    CHECK(r->changed == std::vector<std::uint32_t>{1});
    CHECK(box->message(0).flags == (kFlagSeen | kFlagAnswered));
    CHECK(box->message(0).modseq > m0);
    CHECK(box->highest_modseq() == box->message(0).modseq);
    CHECK(box->keywords_of(box->message(0)) == std::vector<std::string>{"Work", "$Label1"});
    CHECK(box->keywords() == std::vector<std::string>{"$Junk", "Work", "$Label1"});
    auto names = files_in(md + "/cur");
    REQUIRE(names.size() == 2);
    CHECK(names[0].substr(names[0].find(':')) == ":2,RSbc");
    std::ifstream kf(md + "/dovecot-keywords");
    std::string all((std::istreambuf_iterator<char>(kf)), std::istreambuf_iterator<char>());
    CHECK(all == "0 $Junk\n1 Work\n2 $Label1\n");
    // Remove and set.
    REQUIRE(box->store({1}, StoreMode::kRemove, kFlagAnswered, {"Work"}));
    CHECK(files_in(md + "/cur")[0].substr(names[0].find(':')) == ":2,Sc");
    REQUIRE(box->store({1, 2}, StoreMode::kSet, kFlagDraft, {}));
    for (const auto& n : files_in(md + "/cur")) CHECK(n.substr(n.find(':')) == ":2,D");
    // An unchanged STORE leaves the MODSEQ alone.
    const std::uint64_t before = box->highest_modseq();
    auto same = box->store({1}, StoreMode::kAdd, kFlagDraft, {});
    REQUIRE(same);
    CHECK(same->changed.empty());
    CHECK(box->highest_modseq() == before);
    // Read-only views do not store.
    auto ro = open_box(*store, "INBOX", true);
    CHECK(ro->store({1}, StoreMode::kAdd, kFlagSeen, {}).error().is(ErrorCode::kCannot));
}

TEST_CASE("mail folder: more than 26 keywords is a LIMIT error", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "x\n");
    auto box = open_box(*store, "INBOX");
    std::vector<std::string> kws;
    for (int i = 0; i < 26; ++i) kws.push_back("k" + std::to_string(i));
    REQUIRE(box->store({1}, StoreMode::kAdd, 0, kws));
    CHECK_FALSE(box->can_add_keyword("one-more"));
    CHECK(box->can_add_keyword("k3"));
    auto r = box->store({1}, StoreMode::kAdd, 0, {"one-more"});
    REQUIRE_FALSE(r);
    CHECK(r.error().is(ErrorCode::kLimit));
}

TEST_CASE("mail folder: CONDSTORE UNCHANGEDSINCE reports the messages that changed since", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "1\n");
    deliver(md, "2\n");
    auto a = open_box(*store, "INBOX");
    auto b = open_box(*store, "INBOX");
    const std::uint64_t seen = a->highest_modseq();
    REQUIRE(b->store({2}, StoreMode::kAdd, kFlagFlagged, {}));
    auto r = a->store({1, 2}, StoreMode::kAdd, kFlagSeen, {}, seen);
    REQUIRE(r);
    CHECK(r->changed == std::vector<std::uint32_t>{1});
    CHECK(r->failed == std::vector<std::uint32_t>{2});
}

TEST_CASE("mail folder: two sessions and a delivery each see every change exactly once", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    for (int i = 0; i < 4; ++i) deliver(md, "Subject: " + std::to_string(i) + "\n\nbody\n");
    auto a = open_box(*store, "INBOX");
    auto b = open_box(*store, "INBOX");
    REQUIRE(a->count() == 4);
    REQUIRE(b->count() == 4);
    // \Recent went to the first session only.
    CHECK(a->recent_count() == 4);
    CHECK(b->recent_count() == 0);

    // At once: A flags 1 and expunges 2, B flags 3, a delivery adds one.
    REQUIRE(a->store({1}, StoreMode::kAdd, kFlagSeen, {}));
    REQUIRE(a->store({2}, StoreMode::kAdd, kFlagDeleted, {}));
    auto a_exp = a->expunge();
    REQUIRE(a_exp);
    REQUIRE(a_exp->size() == 1);
    CHECK((*a_exp)[0].seq == 2u);
    CHECK((*a_exp)[0].uid == 2u);
    REQUIRE(b->store({3}, StoreMode::kAdd, kFlagFlagged, {}));
    deliver(md, "Subject: new\n\nbody\n");

    auto ca = a->sync();
    REQUIRE(ca);
    auto cb = b->sync();
    REQUIRE(cb);
    // A: its own changes are not reported back; B's flag and the delivery are.
    CHECK(count_kind(*ca, Kind::kExpunge) == 0);
    CHECK(count_kind(*ca, Kind::kExists) == 1);
    REQUIRE(count_kind(*ca, Kind::kFlags) == 1);
    for (const auto& c : *ca)
        if (c.kind == Kind::kFlags) CHECK(c.uid == 3u);
    CHECK(a->count() == 4);
    CHECK(a->message(1).flags == kFlagFlagged);
    // B: A's flag and expunge, and the delivery.
    REQUIRE(count_kind(*cb, Kind::kExpunge) == 1);
    CHECK((*cb)[0].kind == Kind::kExpunge);
    CHECK((*cb)[0].seq == 2u);
    CHECK(count_kind(*cb, Kind::kExists) == 1);
    REQUIRE(count_kind(*cb, Kind::kFlags) == 1);
    for (const auto& c : *cb) {
        if (c.kind == Kind::kFlags) {
            CHECK(c.uid == 1u);
            CHECK(c.seq == 1u);
        }
        if (c.kind == Kind::kExists) CHECK(c.seq == 4u);
    }
    CHECK(b->count() == 4);
    CHECK(b->message(0).flags == kFlagSeen);
    // The new message is recent to exactly one of them.
    CHECK(a->message(3).recent + b->message(3).recent == 1);
    CHECK(a->message(3).uid == 5u);
    CHECK(b->message(3).uid == 5u);
    // Nothing is reported twice.
    CHECK(a->sync()->empty());
    CHECK(b->sync()->empty());
    CHECK(a->highest_modseq() == b->highest_modseq());
}

TEST_CASE("mail folder: a message expunged by another session reads as EXPUNGEISSUED until sync", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: a\n\nbody\n");
    auto a = open_box(*store, "INBOX");
    auto b = open_box(*store, "INBOX");
    // Another session changes the name: reading still works.
    REQUIRE(b->store({1}, StoreMode::kAdd, kFlagSeen, {}));
    auto text = a->read_message(1);
    REQUIRE(text);
    CHECK(*text == "Subject: a\n\nbody\n");
    const std::uint64_t before_expunge = a->highest_modseq();
    REQUIRE(b->store({1}, StoreMode::kAdd, kFlagDeleted, {}));
    REQUIRE(b->expunge());
    CHECK(a->count() == 1);  // no EXPUNGE before sync
    CHECK(a->read_message(1).error().is(ErrorCode::kExpunged));
    auto c = a->sync();
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    CHECK((*c)[0].kind == Kind::kExpunge);
    CHECK(a->count() == 0);
    bool complete = false;
    CHECK(a->vanished_since(before_expunge, &complete) == std::vector<std::uint32_t>{1});
    CHECK(complete);
    CHECK(a->vanished_since(a->highest_modseq(), &complete).empty());
    CHECK(complete);
    // Older than the index remembers (it was built after that MODSEQ).
    a->vanished_since(1, &complete);
    CHECK_FALSE(complete);
}

TEST_CASE("mail folder: UID EXPUNGE removes only the given Deleted messages", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    for (int i = 0; i < 3; ++i) deliver(md, std::to_string(i) + "\n");
    auto a = open_box(*store, "INBOX");
    REQUIRE(a->store({1, 2, 3}, StoreMode::kAdd, kFlagDeleted, {}));
    const std::vector<std::uint32_t> only{2, 3};
    auto gone = a->expunge(&only);
    REQUIRE(gone);
    REQUIRE(gone->size() == 2);
    CHECK((*gone)[0].seq == 2u);
    CHECK((*gone)[1].seq == 2u);
    CHECK(a->count() == 1);
    CHECK(a->message(0).uid == 1u);
}

TEST_CASE("mail folder: UIDs persist across opens and equal pop3d's UIDLs", "[unit]") {
    TempDir t;
    const std::string md = t.path + "/Maildir";
    std::vector<std::string> names;
    for (int i = 0; i < 5; ++i) names.push_back(deliver(md, "Subject: " + std::to_string(i) + "\n\nx\n"));
    std::vector<std::uint32_t> uids;
    std::uint32_t validity = 0;
    {
        auto store = open_store(md);
        auto box = open_box(*store, "INBOX");
        for (const auto& m : box->messages()) uids.push_back(m.uid);
        validity = box->uid_validity();
    }
    CHECK(uids == std::vector<std::uint32_t>{1, 2, 3, 4, 5});
    // pop3d's path: sync_uidlist over the same bases gives the same UIDs.
    std::vector<std::string> bases;
    for (const auto& n : names) bases.emplace_back(maildir_base_name(n));
    auto pop = sync_uidlist(md, bases, 1);
    REQUIRE(pop);
    CHECK(pop->uid_validity == validity);
    for (std::size_t i = 0; i < bases.size(); ++i) CHECK(pop->uid_of.at(bases[i]) == uids[i]);
    // And the other way round: pop3d first, then the store.
    TempDir t2;
    const std::string md2 = t2.path + "/Maildir";
    std::vector<std::string> bases2;
    for (int i = 0; i < 3; ++i) bases2.emplace_back(maildir_base_name(deliver(md2, std::to_string(i) + "\n")));
    auto sorted = bases2;
    sort_by_delivery_time(&sorted);
    auto pop2 = sync_uidlist(md2, sorted, 1234);
    REQUIRE(pop2);
    auto store2 = open_store(md2);
    auto box2 = open_box(*store2, "INBOX");
    CHECK(box2->uid_validity() == 1234u);
    for (const auto& m : box2->messages())
        CHECK(pop2->uid_of.at(std::string(maildir_base_name(box2->file_name(m.uid)))) == m.uid);
    CHECK(format_uidl("%08Xu%08Xv", box2->message(0).uid, box2->uid_validity(),
                      maildir_base_name(box2->file_name(box2->message(0).uid))) ==
          "00000001000004d2");
    // Reopened: the same UIDs and MODSEQs from the index.
    const auto modseq = box2->message(2).modseq;
    box2.reset();
    auto again = open_box(*store2, "INBOX");
    CHECK(again->message(2).uid == 3u);
    CHECK(again->message(2).modseq == modseq);
}

TEST_CASE("mail folder: the index is rebuilt when deleted or corrupt, UIDs kept", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    for (int i = 0; i < 3; ++i) deliver(md, std::to_string(i) + "\n");
    std::uint64_t highest = 0;
    {
        auto box = open_box(*store, "INBOX");
        REQUIRE(box->store({2}, StoreMode::kAdd, kFlagSeen, {}));
        highest = box->highest_modseq();
    }
    const std::string index = md + "/" + kIndexFile;
    REQUIRE(std::filesystem::exists(index));
    SECTION("deleted") { std::filesystem::remove(index); }
    SECTION("corrupt") {
        std::fstream f(index, std::ios::in | std::ios::out);
        f.seekp(20);
        f << "garbage";
    }
    SECTION("emptied") { std::filesystem::resize_file(index, 0); }
    auto box = open_box(*store, "INBOX");
    REQUIRE(box->count() == 3);
    CHECK(box->message(0).uid == 1u);
    CHECK(box->message(2).uid == 3u);
    CHECK(box->message(1).flags == kFlagSeen);
    // MODSEQs of a rebuilt index start above the old ones, and QRESYNC
    // from an old MODSEQ is told the expunges are not known.
    CHECK(box->highest_modseq() > highest);
    bool complete = true;
    box->vanished_since(highest, &complete);
    CHECK_FALSE(complete);
    auto text = mailroom::util::read_file(index);
    REQUIRE(text);
    CHECK(parse_folder_index(*text));
}

TEST_CASE("mail folder: an index cut at any byte is refused and rebuilt", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    for (int i = 0; i < 3; ++i) deliver(md, std::to_string(i) + "\n");
    { open_box(*store, "INBOX"); }
    const std::string index = md + "/" + kIndexFile;
    const std::string whole = *mailroom::util::read_file(index);
    for (std::size_t cut = 0; cut < whole.size(); ++cut) {
        INFO("cut at " << cut);
        CHECK_FALSE(parse_folder_index(whole.substr(0, cut)));
    }
    // A cut file on disk gives the same folder again.
    std::ofstream(index, std::ios::trunc) << whole.substr(0, whole.size() / 2);
    auto box = open_box(*store, "INBOX");
    REQUIRE(box->count() == 3);
    CHECK(box->message(2).uid == 3u);
}

TEST_CASE("mail folder: cached strings survive sessions and a torn cache tail", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: a\n\n1\n");
    deliver(md, "Subject: b\n\n2\n");
    {
        auto box = open_box(*store, "INBOX");
        box->set_cached(1, CacheField::kEnvelope, "(NIL \"a\")");
        box->set_cached(2, CacheField::kEnvelope, "(NIL \"b\")");
        box->set_cached(2, CacheField::kBodyStructure, "(\"text\" \"plain\")");
    }
    const std::string cache = md + "/" + kCacheFile;
    // A writer killed in the middle of its record.
    std::filesystem::resize_file(cache, std::filesystem::file_size(cache) - 3);
    auto box = open_box(*store, "INBOX");
    CHECK(box->cached(1, CacheField::kEnvelope) == std::optional<std::string>("(NIL \"a\")"));
    CHECK(box->cached(2, CacheField::kEnvelope) == std::optional<std::string>("(NIL \"b\")"));
    CHECK_FALSE(box->cached(2, CacheField::kBodyStructure));
    box->set_cached(2, CacheField::kBodyStructure, "again");
    auto other = open_box(*store, "INBOX");
    CHECK(other->cached(2, CacheField::kBodyStructure) == std::optional<std::string>("again"));
    CHECK(other->cached(1, CacheField::kEnvelope) == std::optional<std::string>("(NIL \"a\")"));
}

TEST_CASE("mail folder: a 100,000-message folder opens from its index", "[unit][big]") {
    TempDir t;
    const std::string md = t.path + "/Maildir";
    {
        auto store = open_store(md);
    }
    // Files named as deliveries name them, with sizes in the name.
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        char name[128];
        std::snprintf(name, sizeof name, "%s/cur/%d.M%dP1Q%d.host,S=10,W=11:2,%s", md.c_str(), 1700000000 + i / 100,
                      i % 100, i, i % 3 == 0 ? "S" : "");
        std::FILE* f = std::fopen(name, "w");
        REQUIRE(f != nullptr);
        std::fputs("Subject: \n", f);
        std::fclose(f);
    }
    // An old folder: its directories last changed an hour ago.
    for (const char* sub : {"/cur", "/new"}) {
        struct timespec times[2] = {{std::time(nullptr) - 3600, 0}, {std::time(nullptr) - 3600, 0}};
        REQUIRE(::utimensat(AT_FDCWD, (md + sub).c_str(), times, 0) == 0);
    }
    auto store = open_store(md);
    auto t0 = std::chrono::steady_clock::now();
    {
        auto box = open_box(*store, "INBOX");
        REQUIRE(box->count() == static_cast<std::size_t>(n));
    }
    auto t1 = std::chrono::steady_clock::now();
    auto box = open_box(*store, "INBOX");
    auto t2 = std::chrono::steady_clock::now();
    REQUIRE(box->count() == static_cast<std::size_t>(n));
    CHECK(box->message(n - 1).uid == static_cast<std::uint32_t>(n));
    CHECK(box->message(0).flags == kFlagSeen);
    CHECK(box->message(1).rfc822_size == 11u);
    auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    std::printf("100000 messages: first open (index built) %lld ms, second open %lld ms\n",
                static_cast<long long>(ms(t1 - t0)), static_cast<long long>(ms(t2 - t1)));
    // A flag change and a sync on the big folder.
    auto t3 = std::chrono::steady_clock::now();
    REQUIRE(box->store({5}, StoreMode::kAdd, kFlagFlagged, {}));
    auto c = box->sync();
    REQUIRE(c);
    auto t4 = std::chrono::steady_clock::now();
    std::printf("100000 messages: STORE + sync %lld ms\n", static_cast<long long>(ms(t4 - t3)));
}

TEST_CASE("mail folder: the cache keeps other sessions' values and is compacted when mostly dead", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: a\n\n1\n");
    deliver(md, "Subject: b\n\n2\n");
    auto a = open_box(*store, "INBOX");
    auto b = open_box(*store, "INBOX");
    CHECK_FALSE(a->cached(1, CacheField::kEnvelope));  // A has read the (missing) file
    b->set_cached(1, CacheField::kEnvelope, "from B");
    a->set_cached(2, CacheField::kEnvelope, "from A");
    auto c = open_box(*store, "INBOX");
    CHECK(c->cached(1, CacheField::kEnvelope) == std::optional<std::string>("from B"));
    CHECK(c->cached(2, CacheField::kEnvelope) == std::optional<std::string>("from A"));
    // 5 MB written, 1 MB of it live.
    const std::string big(1 << 20, 'x');
    for (int i = 0; i < 5; ++i) a->set_cached(2, CacheField::kBodyStructure, big + std::to_string(i));
    const std::string cache = md + "/" + kCacheFile;
    CHECK(std::filesystem::file_size(cache) > (5u << 20));
    auto d = open_box(*store, "INBOX");
    CHECK(d->cached(2, CacheField::kBodyStructure) == std::optional<std::string>(big + "4"));
    CHECK(std::filesystem::file_size(cache) < (2u << 20));
    CHECK(d->cached(1, CacheField::kEnvelope) == std::optional<std::string>("from B"));
    // A writer that knew the old file finds the new one and keeps it.
    a->set_cached(1, CacheField::kBodyStructure, "after");
    auto e = open_box(*store, "INBOX");
    CHECK(e->cached(2, CacheField::kBodyStructure) == std::optional<std::string>(big + "4"));
    CHECK(e->cached(1, CacheField::kBodyStructure) == std::optional<std::string>("after"));
}

TEST_CASE("mail folder: a rename by another program is a flag change with a new MODSEQ, and EXAMINE claims no Recent", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: a\n\n1\n");
    auto ro = open_box(*store, "INBOX", true);
    REQUIRE(ro->count() == 1);
    CHECK(ro->message(0).recent);
    CHECK(ro->message(0).in_new);  // EXAMINE leaves new/ alone
    auto rw = open_box(*store, "INBOX");
    CHECK(rw->message(0).recent);  // still unclaimed when SELECT came
    auto later = open_box(*store, "INBOX");
    CHECK_FALSE(later->message(0).recent);
    // A mail client working on the Maildir directly marks it seen.
    const auto names = files_in(md + "/cur");
    REQUIRE(names.size() == 1);
    const std::uint64_t before = rw->message(0).modseq;
    std::filesystem::rename(md + "/cur/" + names[0], md + "/cur/" + names[0] + "S");
    auto c = rw->sync();
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    CHECK((*c)[0].kind == Kind::kFlags);
    CHECK(rw->message(0).flags == kFlagSeen);
    CHECK(rw->message(0).modseq > before);
    auto c2 = later->sync();
    REQUIRE(c2);
    REQUIRE(c2->size() == 1);
    CHECK(later->message(0).modseq == rw->message(0).modseq);
    CHECK(ro->sync()->size() == 1);
}

TEST_CASE("mail folder: STORE, EXPUNGE and APPEND add to the change log of the index, and a torn entry means a scan", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    for (int i = 0; i < 4; ++i) deliver(md, std::to_string(i) + "\n");
    auto a = open_box(*store, "INBOX");
    auto other = open_store(md);
    auto b = open_box(*other, "INBOX");
    const std::string index = md + "/" + kIndexFile;
    struct stat before{}, after{};
    REQUIRE(::stat(index.c_str(), &before) == 0);
    REQUIRE(a->store({2}, StoreMode::kAdd, kFlagFlagged, {}));
    auto appended = store->append("INBOX", "Subject: x\n\nbody\n", kFlagSeen, {}, 0);
    REQUIRE(appended);
    CHECK(appended->uid == 5u);
    REQUIRE(a->store({1}, StoreMode::kAdd, kFlagDeleted, {}));
    REQUIRE(a->expunge());
    REQUIRE(::stat(index.c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);  // written in place, not anew
    CHECK(after.st_size > before.st_size);
    auto changes = b->sync();
    REQUIRE(changes);
    CHECK(count_kind(*changes, Kind::kExpunge) == 1);
    CHECK(count_kind(*changes, Kind::kExists) == 1);
    REQUIRE(b->count() == 4);
    CHECK(b->message(0).flags == kFlagFlagged);
    CHECK(b->message(3).uid == 5u);
    CHECK(b->message(3).flags == kFlagSeen);
    {
        auto third = open_store(md);
        auto c = open_box(*third, "INBOX", true);
        REQUIRE(c->count() == 4);
        CHECK(c->message(0).uid == 2u);
        CHECK(c->message(3).uid == 5u);
    }
    // An entry cut short by a crash: the file names are the truth.
    REQUIRE(a->store({3}, StoreMode::kAdd, kFlagAnswered, {}));
    const std::string text = *mailroom::util::read_file(index);
    const auto last = text.rfind('\n', text.size() - 2);       // the header entry
    const auto record = text.rfind('\n', last - 1);            // the record of UID 3
    REQUIRE(text.compare(record + 1, 2, "L ") == 0);
    std::filesystem::resize_file(index, record + 10);
    auto fourth = open_store(md);
    auto d = open_box(*fourth, "INBOX", true);
    REQUIRE(d->count() == 4);
    CHECK(d->message(1).uid == 3u);
    CHECK(d->message(1).flags == kFlagAnswered);
}
