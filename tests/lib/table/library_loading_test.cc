// library_loading_test.cc - the MySQL client and Berkeley DB are mapped
// only once a table of theirs opens, and a client library that cannot be
// loaded makes the table open fail with an error naming both.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "lib/table/db_table.h"
#include "lib/table/mysql_client.h"
#include "lib/table/table.h"
#include "lib/util/shared_library.h"
#include "tests/lib/table/test_util.h"

using namespace mailroom;
using namespace mailroom::table;
using mailroom::table::testing::TempDir;

namespace {

// Is a file whose name starts as `soname`'s does (up to ".so") mapped into
// this process?
bool mapped(const std::string& soname) {
    std::string stem = soname.substr(0, soname.find(".so")) + ".so";
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        size_t slash = line.rfind('/');
        if (slash != std::string::npos && line.compare(slash + 1, stem.size(), stem) == 0) return true;
    }
    return false;
}

const char* kMysqlCf = "hosts = 127.0.0.1:1\ndbname = mail\nquery = SELECT goto FROM alias WHERE address = '%s'\n";

}  // namespace

TEST_CASE("library loading: texthash: maps neither libmariadb nor libdb, mysql: and hash: map theirs", "[unit]") {
    std::string mysql = mysql_client_library();
    std::string db = db_library_file();
    REQUIRE(!mysql.empty());
    REQUIRE(!db.empty());
    if (mapped(mysql) || mapped(db)) {
        // Only when another test case in this process opened one: ctest runs
        // each case in a process of its own.
        WARN("a library is loaded already: this check needs a process of its own");
        return;
    }
    TempDir dir;
    std::string text = dir.write("aliases", "postmaster root\n");
    auto t = open_table("texthash:" + text);
    REQUIRE(t.ok());
    auto found = (*t)->lookup("postmaster");
    REQUIRE(found.ok());
    CHECK(**found == "root");
    CHECK(!mapped(mysql));
    CHECK(!mapped(db));
    // The control: the check sees them once they are loaded.
    auto m = open_table("mysql:" + dir.write("m.cf", kMysqlCf));
    REQUIRE(m.ok());
    CHECK(mapped(mysql));
    CHECK(!mapped(db));
    // A hash: table whose file is missing fails without loading libdb.
    auto missing = open_table("hash:" + dir.path() + "/missing");
    REQUIRE(!missing.ok());
    CHECK(missing.error().message.find("open database " + dir.path() + "/missing.db: ") == 0);
    CHECK(!mapped(db));
    REQUIRE(build_indexed_table(TableSpec{"hash", dir.path() + "/h"}, {{"a", "b"}}, NullMode::kDefault, 0644).ok());
    auto h = open_table("hash:" + dir.path() + "/h");
    REQUIRE(h.ok());
    CHECK(mapped(db));
}

TEST_CASE("library loading: a client library that cannot be loaded fails the table open", "[unit]") {
    TempDir dir;
    std::string cf = dir.write("m.cf", kMysqlCf);
    std::string saved = mysql_client_library();
    set_mysql_client_library("libmailroom-no-such-client.so.9");
    auto t = open_table("mysql:" + cf);
    set_mysql_client_library(saved);
    if (t.ok()) {
        // Only when another test case in this process loaded the client.
        WARN("the client library is loaded already: this check needs a process of its own");
        return;
    }
    std::string prefix = "mysql:" + cf + ": cannot load libmailroom-no-such-client.so.9: ";
    CHECK(t.error().message.rfind(prefix, 0) == 0);
    CHECK(t.error().message.size() > prefix.size());
    // Not remembered: the right library loads on the next open.
    CHECK(open_table("mysql:" + cf).ok());
}

TEST_CASE("library loading: before a chroot, the libraries the configuration names are loaded", "[unit]") {
    std::string mysql = mysql_client_library();
    std::string db = db_library_file();
    if (mapped(mysql) || mapped(db)) {
        WARN("a library is loaded already: this check needs a process of its own");
        return;
    }
    util::preload_before_jail("virtual_mailbox_maps = texthash:/etc/mailroom/vmailbox\n");
    CHECK(!mapped(mysql));
    CHECK(!mapped(db));
    util::preload_before_jail("alias_maps = hash:/etc/aliases\n");
    CHECK(mapped(db));
    CHECK(!mapped(mysql));
    util::preload_before_jail("smtp inet n - y - - smtpd\n  -o virtual_alias_maps=mysql:/etc/mailroom/va.cf\n");
    CHECK(mapped(mysql));
}
