#include "lib/util/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>

using namespace mailroom::util;

namespace {
std::string make_temp_dir() {
    char tmpl[] = "/tmp/mr-fs-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}
}  // namespace

TEST_CASE("write_file_atomic replaces content and keeps the mode", "[unit]") {
    std::string dir = make_temp_dir();
    std::string path = dir + "/main.cf";
    REQUIRE(write_file_atomic(path, "a = 1\n", 0600).ok());
    CHECK(read_file(path).value() == "a = 1\n");
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::chmod(path.c_str(), 0640) == 0);
    REQUIRE(write_file_atomic(path, "a = 2\n").ok());
    CHECK(read_file(path).value() == "a = 2\n");
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    // No temp file is left behind.
    CHECK_FALSE(path_exists(path + ".tmp." + std::to_string(::getpid())));
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("read_file names the path in its error", "[unit]") {
    auto r = read_file("/nonexistent/dir/file");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("/nonexistent/dir/file") != std::string::npos);
}

TEST_CASE("write_file_atomic fails cleanly in a missing directory", "[unit]") {
    auto s = write_file_atomic("/nonexistent/dir/file", "x");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("/nonexistent/dir/file") != std::string::npos);
}

TEST_CASE("dirname_of", "[unit]") {
    CHECK(dirname_of("/etc/mailroom/main.cf") == "/etc/mailroom");
    CHECK(dirname_of("main.cf") == ".");
    CHECK(dirname_of("/main.cf") == "/");
}

TEST_CASE("rename_noreplace moves a file and never replaces an existing name", "[unit]") {
    std::string dir = make_temp_dir();
    REQUIRE(write_file_atomic(dir + "/a", "first\n", 0600).ok());
    REQUIRE(write_file_atomic(dir + "/b", "second\n", 0600).ok());
    errno = 0;
    CHECK(rename_noreplace(dir + "/a", dir + "/b") == -1);
    CHECK(errno == EEXIST);
    CHECK(read_file(dir + "/a").value() == "first\n");
    CHECK(read_file(dir + "/b").value() == "second\n");
    REQUIRE(rename_noreplace(dir + "/a", dir + "/c") == 0);
    CHECK(!path_exists(dir + "/a"));
    CHECK(read_file(dir + "/c").value() == "first\n");
    ::unlink((dir + "/b").c_str());
    ::unlink((dir + "/c").c_str());
    ::rmdir(dir.c_str());
}
