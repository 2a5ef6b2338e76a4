// mail_store_test.cc - the Maildir++ folder layout, LIST attributes,
// subscriptions, CREATE/DELETE/RENAME (INBOX too), APPEND/COPY/MOVE UIDs and
// the Maildir++ quota of the IMAP mail store.
#include "lib/access/mail_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "lib/access/uidlist.h"
#include "lib/mailbox/maildir_quota.h"
#include "tests/lib/access/store_test_util.h"

using namespace mailroom;
using namespace mailroom::access;
using store_test::count_files;
using store_test::deliver;
using store_test::open_store;
using store_test::TempDir;

namespace {

bool is_dir(const std::string& p) { return std::filesystem::is_directory(p); }

const MailboxInfo* find_box(const std::vector<MailboxInfo>& boxes, const std::string& name) {
    for (const auto& b : boxes)
        if (b.name == name) return &b;
    return nullptr;
}

std::string read(const std::string& path) {
    auto t = util::read_file(path);
    return t ? *t : std::string();
}

}  // namespace

TEST_CASE("mail store: folders are Maildir++ dot directories with the maildirfolder marker", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    CHECK(is_dir(md + "/cur"));
    REQUIRE(store->create("Work"));
    REQUIRE(store->create("Work.Projects"));
    REQUIRE(store->create("&AMk-t&AOk-"));  // modified UTF-7 "Été" kept as the directory name
    CHECK(is_dir(md + "/.Work/cur"));
    CHECK(is_dir(md + "/.Work.Projects/new"));
    CHECK(std::filesystem::exists(md + "/.Work.Projects/maildirfolder"));
    CHECK(is_dir(md + "/.&AMk-t&AOk-/tmp"));
    auto again = store->create("Work");
    REQUIRE_FALSE(again);
    CHECK(again.error().is(ErrorCode::kAlreadyExists));
    CHECK(store->create("inbox").error().is(ErrorCode::kAlreadyExists));
    CHECK_FALSE(store->create("a..b"));
    CHECK_FALSE(store->create("../x"));
    // A trailing separator names the folder itself (RFC 3501 CREATE).
    REQUIRE(store->create("Lists."));
    CHECK(is_dir(md + "/.Lists/cur"));
}

TEST_CASE("mail store: LIST gives children, Noselect parents and SPECIAL-USE", "[unit]") {
    store_test::Fixture fx;
    auto& store = fx.store;
    REQUIRE(store->create("a.b.c"));  // Maildir++ allows a child without its parents
    REQUIRE(store->create("Sent Messages"));
    REQUIRE(store->ensure_special_folders());
    auto boxes = store->list();
    REQUIRE(boxes);
    REQUIRE(boxes->front().name == "INBOX");
    CHECK(find_box(*boxes, "INBOX")->attrs & kAttrHasNoChildren);
    CHECK(find_box(*boxes, "a")->attrs == (kAttrNoselect | kAttrHasChildren));
    CHECK(find_box(*boxes, "a.b")->attrs == (kAttrNoselect | kAttrHasChildren));
    CHECK(find_box(*boxes, "a.b.c")->attrs == kAttrHasNoChildren);
    // "Sent Messages" already has \Sent, so no "Sent" is made; the others are.
    CHECK(find_box(*boxes, "Sent Messages")->attrs & kAttrSent);
    CHECK(find_box(*boxes, "Sent") == nullptr);
    CHECK(find_box(*boxes, "Drafts")->attrs & kAttrDrafts);
    CHECK(find_box(*boxes, "Trash")->attrs & kAttrTrash);
    CHECK(find_box(*boxes, "Junk")->attrs & kAttrJunk);
    CHECK(find_box(*boxes, "Junk")->attrs & kAttrSubscribed);
    CHECK(MailStore::special_use_of("INBOX.Trash") == kAttrTrash);
    CHECK(MailStore::special_use_of("Work.Trash") == 0u);
    // A second login creates nothing more.
    REQUIRE(store->ensure_special_folders());
    CHECK(store->list()->size() == boxes->size());
}

TEST_CASE("mail store: subscriptions in Dovecot's file, Courier's read too", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    std::ofstream(md + "/courierimapsubscribed") << "INBOX\nINBOX.Sent\nINBOX.Lists.dev\n";
    auto subs = store->subscriptions();
    REQUIRE(subs);
    CHECK(*subs == std::vector<std::string>{"INBOX", "Sent", "Lists.dev"});
    REQUIRE(store->subscribe("Archive"));
    REQUIRE(store->subscribe("Archive"));  // twice is once
    CHECK(read(md + "/subscriptions") == "INBOX\nSent\nLists.dev\nArchive\n");
    REQUIRE(store->unsubscribe("Sent"));
    CHECK(store->unsubscribe("Sent").error().is(ErrorCode::kNonExistent));
    CHECK(read(md + "/subscriptions") == "INBOX\nLists.dev\nArchive\n");
    // A subscribed name that does not exist is listed as \NonExistent on request.
    auto boxes = store->list(true);
    REQUIRE(boxes);
    REQUIRE(find_box(*boxes, "Archive") != nullptr);
    CHECK(find_box(*boxes, "Archive")->attrs == (kAttrNonExistent | kAttrSubscribed));
    CHECK(find_box(*store->list(false), "Archive") == nullptr);
    // Dovecot 2.3's versioned form with TAB separators.
    std::ofstream(md + "/subscriptions", std::ios::trunc) << "V\t2\n\nWork\tProjects\nINBOX\n";
    CHECK(*store->subscriptions() == std::vector<std::string>{"Work.Projects", "INBOX"});
}

TEST_CASE("mail store: DELETE keeps children, refuses INBOX and Noselect parents", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    REQUIRE(store->create("a"));
    REQUIRE(store->create("a.b"));
    deliver(md + "/.a", "Subject: x\n\nbody\n");
    REQUIRE(store->remove("a"));
    CHECK_FALSE(is_dir(md + "/.a"));
    CHECK(is_dir(md + "/.a.b/cur"));
    auto boxes = store->list();
    CHECK(find_box(*boxes, "a")->attrs == (kAttrNoselect | kAttrHasChildren));
    CHECK(store->remove("a").error().is(ErrorCode::kCannot));
    CHECK(store->remove("INBOX").error().is(ErrorCode::kCannot));
    CHECK(store->remove("nope").error().is(ErrorCode::kNonExistent));
    // No leftovers of the deletion.
    for (const auto& e : std::filesystem::directory_iterator(md))
        CHECK(e.path().filename().string().rfind("..", 0) != 0);
}

TEST_CASE("mail store: RENAME moves a folder with its children and subscriptions", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    REQUIRE(store->create("a"));
    REQUIRE(store->create("a.x"));
    REQUIRE(store->create("a.x.y"));
    REQUIRE(store->create("ab"));  // not a child of "a"
    deliver(md + "/.a.x", "Subject: x\n\nbody\n");
    REQUIRE(store->subscribe("a.x"));
    REQUIRE(store->rename("a", "b"));
    CHECK(is_dir(md + "/.b/cur"));
    CHECK(is_dir(md + "/.b.x/cur"));
    CHECK(is_dir(md + "/.b.x.y/cur"));
    CHECK(is_dir(md + "/.ab/cur"));
    CHECK_FALSE(is_dir(md + "/.a"));
    CHECK(count_files(md + "/.b.x/new") == 1);
    CHECK(*store->subscriptions() == std::vector<std::string>{"b.x"});
    CHECK(store->rename("b", "ab").error().is(ErrorCode::kAlreadyExists));
    CHECK(store->rename("b", "b.z").error().is(ErrorCode::kCannot));
    CHECK(store->rename("zz", "q").error().is(ErrorCode::kNonExistent));
    CHECK(store->rename("ab", "INBOX").error().is(ErrorCode::kAlreadyExists));
}

TEST_CASE("mail store: RENAME INBOX moves its messages and leaves INBOX empty", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: 1\n\none\n");
    deliver(md, "Subject: 2\n\ntwo\n");
    REQUIRE(store->create("INBOX.keep"));
    {
        auto inbox = store->open_folder("INBOX", false);  // moves one to cur/
        REQUIRE(inbox);
        CHECK((*inbox)->count() == 2);
    }
    deliver(md, "Subject: 3\n\nthree\n");
    REQUIRE(store->rename("INBOX", "Old"));
    auto old = store->open_folder("Old", true);
    REQUIRE(old);
    CHECK((*old)->count() == 3);
    auto inbox = store->open_folder("INBOX", false);
    REQUIRE(inbox);
    CHECK((*inbox)->count() == 0);
    CHECK(is_dir(md + "/.INBOX.keep/cur"));
    // UIDs INBOX handed out (1 and 2; the third message was never
    // numbered there) are not given again.
    deliver(md, "Subject: 4\n\nfour\n");
    auto changes = (*inbox)->sync();
    REQUIRE(changes);
    REQUIRE((*inbox)->count() == 1);
    CHECK((*inbox)->message(0).uid == 3u);
}

TEST_CASE("mail store: APPEND, COPY and MOVE return the UIDs for UIDPLUS", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    REQUIRE(store->create("Archive"));
    auto a1 = store->append("INBOX", "Subject: a\n\nfirst\n", kFlagSeen | kFlagFlagged, {"$Forwarded"}, 1600000000);
    REQUIRE(a1);
    auto a2 = store->append("INBOX", "Subject: b\n\nsecond\n", 0, {}, 0);
    REQUIRE(a2);
    CHECK(a1->uid == 1u);
    CHECK(a2->uid == 2u);
    CHECK(store->append("Nope", "x\n", 0, {}, 0).error().is(ErrorCode::kNonExistent));
    auto inbox = store->open_folder("INBOX", false);
    REQUIRE(inbox);
    REQUIRE((*inbox)->count() == 2);
    const Message& m = (*inbox)->message(0);
    CHECK(m.uid == a1->uid);
    CHECK(m.flags == (kFlagSeen | kFlagFlagged));
    CHECK(m.internal_date == 1600000000);
    CHECK((*inbox)->keywords_of(m) == std::vector<std::string>{"$Forwarded"});
    CHECK(m.rfc822_size == std::string("Subject: a\r\n\r\nfirst\r\n").size());
    CHECK((*inbox)->file_name(m.uid).find(":2,FSa") != std::string::npos);

    auto copied = (*inbox)->copy_to("Archive", {a1->uid, a2->uid}, false);
    REQUIRE(copied);
    CHECK(copied->source_uids == std::vector<std::uint32_t>{1, 2});
    CHECK(copied->dest_uids == std::vector<std::uint32_t>{1, 2});
    CHECK(copied->expunged.empty());
    CHECK((*inbox)->count() == 2);
    auto moved = (*inbox)->copy_to("Archive", {a2->uid}, true);
    REQUIRE(moved);
    CHECK(moved->dest_uids == std::vector<std::uint32_t>{3});
    REQUIRE(moved->expunged.size() == 1);
    CHECK(moved->expunged[0].seq == 2u);
    CHECK((*inbox)->count() == 1);
    auto archive = store->open_folder("Archive", true);
    REQUIRE(archive);
    REQUIRE((*archive)->count() == 3);
    CHECK(copied->dest_uid_validity == (*archive)->uid_validity());
    // Flags, keywords and the internal date travel with the copy; the
    // keyword is defined in the destination's own dovecot-keywords.
    const Message& c = (*archive)->message(0);
    CHECK(c.flags == (kFlagSeen | kFlagFlagged));
    CHECK((*archive)->keywords_of(c) == std::vector<std::string>{"$Forwarded"});
    CHECK(c.internal_date == 1600000000);
    auto body = (*archive)->read_message(3);
    REQUIRE(body);
    CHECK(*body == "Subject: b\n\nsecond\n");
    // The message moved out of INBOX is gone from its directory.
    CHECK(count_files(md + "/cur") + count_files(md + "/new") == 1);
    // COPY to a missing folder.
    CHECK((*inbox)->copy_to("Nope", {1}, false).error().is(ErrorCode::kNonExistent));
}

TEST_CASE("mail store: APPEND and COPY keep to the Maildir++ quota and account in maildirsize", "[unit]") {
    TempDir t;
    const std::string md = t.path + "/Maildir";
    StoreOptions opts;
    opts.quota = mailbox::QuotaLimits{1000, 3};
    auto store = open_store(md, opts);
    REQUIRE(store->create("Trash"));
    const std::string msg(300, 'x');
    REQUIRE(store->append("INBOX", msg, 0, {}, 0));
    REQUIRE(store->append("INBOX", msg, 0, {}, 0));
    auto q = store->quota();
    REQUIRE(q);
    CHECK(q->limited);
    CHECK(q->limits.bytes == 1000u);
    CHECK(q->usage.bytes == 600);
    CHECK(q->usage.count == 2);
    auto over = store->append("INBOX", std::string(500, 'y'), 0, {}, 0);
    REQUIRE_FALSE(over);
    CHECK(over.error().is(ErrorCode::kOverQuota));
    auto inbox = store->open_folder("INBOX", false);
    REQUIRE(inbox);
    // Copying both would make 1200 bytes: refused, nothing copied.
    CHECK((*inbox)->copy_to("Trash", {1, 2}, false).error().is(ErrorCode::kOverQuota));
    CHECK(count_files(md + "/.Trash/cur") == 0);
    REQUIRE((*inbox)->copy_to("Trash", {1}, false));
    CHECK(store->quota()->usage.count == 3);
    // EXPUNGE gives the space back.
    REQUIRE((*inbox)->store({1, 2}, StoreMode::kAdd, kFlagDeleted, {}));
    auto gone = (*inbox)->expunge();
    REQUIRE(gone);
    CHECK(gone->size() == 2);
    q = store->quota();
    CHECK(q->usage.bytes == 300);
    CHECK(q->usage.count == 1);
    // DELETE of a folder too.
    REQUIRE(store->remove("Trash"));
    CHECK(store->quota()->usage.count == 0);
}

TEST_CASE("mail store: STATUS counts without opening a view", "[unit]") {
    store_test::Fixture fx;
    const std::string& md = fx.md;
    auto& store = fx.store;
    deliver(md, "Subject: 1\n\none\n");
    REQUIRE(store->append("INBOX", "Subject: 2\n\ntwo\n", kFlagSeen, {}, 0));
    auto s = store->status("INBOX");
    REQUIRE(s);
    CHECK(s->messages == 2u);
    CHECK(s->unseen == 1u);
    CHECK(s->recent == 2u);
    CHECK(s->uid_next == 3u);
    CHECK(s->uid_validity != 0u);
    CHECK(s->size == std::string("Subject: 1\r\n\r\none\r\nSubject: 2\r\n\r\ntwo\r\n").size());
    CHECK(s->highest_modseq > 0u);
    CHECK(store->status("Nope").error().is(ErrorCode::kNonExistent));
}
