// mail_folder_concurrency_test.cc - two sessions on one folder and a
// delivery agent, all at the same time: every session's stream of change
// events, applied to its own copy of the folder, ends up exactly as the
// folder is, so each change was reported once, in a usable order.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lib/access/mail_folder.h"
#include "lib/access/mail_store.h"
#include "tests/lib/access/store_test_util.h"

using namespace mailroom;
using namespace mailroom::access;
using store_test::deliver;
using store_test::open_store;
using store_test::TempDir;

namespace {

// What a client would keep: UIDs by sequence number and their flags.
struct ClientModel {
    std::vector<std::uint32_t> uids;
    std::map<std::uint32_t, std::uint8_t> flags;
    std::vector<std::string> errors;

    void seed(const MailFolder& f) {
        for (const auto& m : f.messages()) {
            uids.push_back(m.uid);
            flags[m.uid] = m.flags;
        }
    }

    // Applies one sync's events; the folder's view is what a client can
    // fetch afterwards (UIDs of the new messages, flags of FETCH events).
    void apply(const std::vector<FolderChange>& changes, const MailFolder& f) {
        for (const auto& c : changes) {
            switch (c.kind) {
                case FolderChange::Kind::kExpunge:
                    if (c.seq == 0 || c.seq > uids.size() || uids[c.seq - 1] != c.uid) {
                        errors.push_back("EXPUNGE " + std::to_string(c.seq) + " does not match uid " + std::to_string(c.uid));
                        return;
                    }
                    flags.erase(c.uid);
                    uids.erase(uids.begin() + (c.seq - 1));
                    break;
                case FolderChange::Kind::kExists:
                    if (c.seq <= uids.size()) {
                        errors.push_back("EXISTS " + std::to_string(c.seq) + " does not grow " + std::to_string(uids.size()));
                        return;
                    }
                    for (std::size_t i = uids.size(); i < c.seq; ++i) {
                        uids.push_back(f.message(i).uid);
                        flags[f.message(i).uid] = f.message(i).flags;
                    }
                    break;
                case FolderChange::Kind::kFlags:
                    if (c.seq == 0 || c.seq > uids.size() || uids[c.seq - 1] != c.uid) {
                        errors.push_back("FETCH " + std::to_string(c.seq) + " does not match uid " + std::to_string(c.uid));
                        return;
                    }
                    flags[c.uid] = f.message(c.seq - 1).flags;
                    break;
                case FolderChange::Kind::kUidValidity:
                    errors.push_back("UIDVALIDITY changed");
                    return;
            }
        }
    }

    // After the events the model must be the view.
    void check(const MailFolder& f, const char* when) {
        if (uids.size() != f.count()) {
            errors.push_back(std::string(when) + ": " + std::to_string(uids.size()) + " messages known, view has " +
                             std::to_string(f.count()));
            return;
        }
        for (std::size_t i = 0; i < uids.size(); ++i) {
            if (uids[i] != f.message(i).uid || flags[uids[i]] != f.message(i).flags) {
                errors.push_back(std::string(when) + ": message " + std::to_string(i + 1) + " differs");
                return;
            }
        }
    }
};

// Both sessions and the delivery have finished their changes.
struct Quiet {
    std::atomic<int> waiting{0};
    void arrive_and_wait(int parties) {
        waiting.fetch_add(1);
        while (waiting.load() < parties) std::this_thread::yield();
    }
};

void session(const std::string& md, unsigned seed, int rounds, ClientModel* model, Quiet* quiet) {
    auto store = open_store(md);
    auto opened = store->open_folder("INBOX", false);
    if (!opened) {
        model->errors.push_back("open: " + opened.error().message);
        return;
    }
    auto& f = **opened;
    model->seed(f);
    std::mt19937 rng(seed);
    for (int round = 0; round < rounds; ++round) {
        if (f.count() > 0) {
            const std::size_t i = rng() % f.count();
            const std::uint32_t uid = f.message(i).uid;
            const std::uint8_t flag = (rng() % 4 == 0) ? kFlagDeleted : kFlagSeen;
            const StoreMode mode = (rng() % 2 == 0) ? StoreMode::kAdd : StoreMode::kRemove;
            auto r = f.store({uid}, mode, flag, {});
            if (!r) {
                model->errors.push_back("store: " + r.error().message);
                return;
            }
            // The client gets FETCH for what it changed itself.
            for (std::uint32_t u : r->changed)
                if (auto at = f.find_uid(u)) model->flags[u] = f.message(*at).flags;
        }
        if (rng() % 5 == 0) {
            auto gone = f.expunge();
            if (!gone) {
                model->errors.push_back("expunge: " + gone.error().message);
                return;
            }
            model->apply(*gone, f);
            model->check(f, "after expunge");
        }
        auto changes = f.sync();
        if (!changes) {
            model->errors.push_back("sync: " + changes.error().message);
            return;
        }
        model->apply(*changes, f);
        model->check(f, "after sync");
        if (!model->errors.empty()) break;
    }
    quiet->arrive_and_wait(3);
    auto last = f.sync();
    if (!last) {
        model->errors.push_back("sync: " + last.error().message);
        return;
    }
    model->apply(*last, f);
    model->check(f, "at the end");
}

}  // namespace

TEST_CASE("mail folder: two sessions and deliveries at the same time each see every change once", "[unit]") {
    TempDir t;
    const std::string md = t.path + "/Maildir";
    { open_store(md); }
    for (int i = 0; i < 20; ++i) deliver(md, "Subject: " + std::to_string(i) + "\n\nbefore\n");
    ClientModel a, b;
    Quiet quiet;
    std::thread delivery([&] {
        for (int i = 0; i < 150; ++i) deliver(md, "Subject: d" + std::to_string(i) + "\n\nduring\n");
        quiet.arrive_and_wait(3);
    });
    std::thread ta(session, md, 1u, 200, &a, &quiet);
    std::thread tb(session, md, 2u, 200, &b, &quiet);
    delivery.join();
    ta.join();
    tb.join();
    for (const auto& e : a.errors) FAIL_CHECK("session A: " << e);
    for (const auto& e : b.errors) FAIL_CHECK("session B: " << e);
    // What each client learnt from its events alone is the folder as it is.
    auto store = open_store(md);
    auto now = store->open_folder("INBOX", true);
    REQUIRE(now);
    const std::size_t files = store_test::count_files(md + "/cur") + store_test::count_files(md + "/new");
    CHECK((*now)->count() == files);
    CHECK(files > 0);
    for (ClientModel* m : {&a, &b}) {
        REQUIRE(m->uids.size() == (*now)->count());
        for (std::size_t i = 0; i < m->uids.size(); ++i) {
            CHECK(m->uids[i] == (*now)->message(i).uid);
            CHECK(m->flags[m->uids[i]] == (*now)->message(i).flags);
        }
    }
}
