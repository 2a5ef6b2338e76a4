// maildir_folder_test.cc - Maildir++ folder naming, creation and listing.
#include "lib/mailbox/maildir_folder.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/lib/mailbox/mailbox_test_util.h"

using namespace mailroom::mailbox;
using mailbox_test::list;
using mailbox_test::TempDir;

TEST_CASE("folder names round trip between IMAP and Maildir++", "[unit]") {
    struct Case {
        const char* imap;
        const char* dir;
    };
    const Case cases[] = {
        {"INBOX", ""},
        {"Sent", ".Sent"},
        {"Work.Projects", ".Work.Projects"},
        {"Work.Projects.2026", ".Work.Projects.2026"},
        {"Drafts &ZeVnLIqe-", ".Drafts &ZeVnLIqe-"},  // modified UTF-7 is stored as is
        {"INBOX.child", ".INBOX.child"},
    };
    for (const Case& c : cases) {
        INFO(c.imap);
        auto dir = folder_to_maildir_name(c.imap);
        REQUIRE(dir.ok());
        CHECK(dir.value() == c.dir);
        auto back = maildir_name_to_folder(c.dir);
        REQUIRE(back.ok());
        CHECK(back.value() == c.imap);
    }
    CHECK(folder_to_maildir_name("inbox").value() == "");
}

TEST_CASE("invalid folder names are refused", "[unit]") {
    const char* bad[] = {"", ".", "..", ".Sent", "Sent.", "a..b", "a/b", "../x", "a\nb", "tab\there"};
    for (const char* name : bad) {
        INFO(name);
        auto r = folder_to_maildir_name(name);
        REQUIRE_FALSE(r.ok());
        CHECK_FALSE(r.error().temporary());
    }
    const char* bad_dirs[] = {"Sent", ".", "..", "..x", ".a..b", ".INBOX", ".a/b"};
    for (const char* d : bad_dirs) {
        INFO(d);
        CHECK_FALSE(maildir_name_to_folder(d).ok());
    }
}

TEST_CASE("create folder makes a Maildir with the maildirfolder marker", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    REQUIRE(create_folder(md, "Work.Projects").ok());
    std::string f = md + "/.Work.Projects";
    CHECK(list(f) == std::vector<std::string>{"cur", "maildirfolder", "new", "tmp"});
    CHECK(list(md) == std::vector<std::string>{".Work.Projects", "cur", "new", "tmp"});
    // Idempotent, and INBOX needs no marker.
    REQUIRE(create_folder(md, "Work.Projects").ok());
    REQUIRE(create_folder(md, "INBOX").ok());
    CHECK(list(md) == std::vector<std::string>{".Work.Projects", "cur", "new", "tmp"});
    CHECK(folder_path(md, "Work.Projects").value() == f);
    CHECK(folder_path(md, "INBOX").value() == md);
    CHECK_FALSE(create_folder(md, "a/../../etc").ok());
}

TEST_CASE("list folders finds Maildir++ folders only", "[unit]") {
    TempDir t;
    std::string md = t.sub("Maildir");
    for (const char* name : {"Sent", "Trash", "Work.Projects", "Drafts"}) REQUIRE(create_folder(md, name).ok());
    REQUIRE(::mkdir((md + "/.junk").c_str(), 0700) == 0);  // no cur/: not a folder
    mailbox_test::spew(md + "/.file", "x");                  // not a directory
    auto folders = list_folders(md);
    REQUIRE(folders.ok());
    std::vector<std::string> names;
    for (const FolderInfo& f : folders.value()) names.push_back(f.name);
    CHECK(names == std::vector<std::string>{"Drafts", "Sent", "Trash", "Work.Projects"});
    CHECK(folders.value()[3].dir_name == ".Work.Projects");
    CHECK_FALSE(list_folders(t.sub("missing")).ok());
}
