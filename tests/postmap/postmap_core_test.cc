// postmap_core_test.cc - postmap/postalias options, duplicate handling and
// atomic rebuilds.
#include "postmap/postmap_core.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "lib/log/log.h"
#include "lib/table/db_table.h"
#include "lib/util/fs.h"

using namespace mailroom;
using namespace mailroom::postmap;
using table::DupMode;
using table::NullMode;

namespace {

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/mr-postmap-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::string p = path + "/" + name;
        REQUIRE(util::write_file_atomic(p, text).ok());
        return p;
    }
    std::string path;
};

std::string lookup(const std::string& spec, const std::string& key, bool fold = true) {
    table::OpenOptions o;
    o.fold_case = fold;
    auto t = table::open_table(spec, o);
    REQUIRE(t.ok());
    auto r = (*t)->lookup(key);
    REQUIRE(r.ok());
    return r->has_value() ? **r : "<none>";
}

int run_args(Flavor f, std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return run(f, static_cast<int>(args.size()), argv.data());
}

}  // namespace

TEST_CASE("parse_args: options as Postfix spells them", "[unit]") {
    auto o = parse_args(Flavor::kPostmap, {"-Nfr", "-c", "/etc/x", "-q", "key", "-o", "a=b", "hash:/m", "/n"});
    REQUIRE(o.ok());
    CHECK(o->null_mode == NullMode::kWithNull);
    CHECK(!o->fold_case);
    CHECK(o->dup_mode == DupMode::kReplace);
    CHECK(o->config_dir == "/etc/x");
    CHECK(*o->query == "key");
    CHECK(o->overrides == std::vector<std::string>{"a=b"});
    CHECK(o->maps == std::vector<std::string>{"hash:/m", "/n"});

    o = parse_args(Flavor::kPostalias, {"-nwi", "-dkey", "/a"});
    CHECK(!o.ok());  // -d with -i
    o = parse_args(Flavor::kPostalias, {"-nw", "-dkey", "/a"});
    REQUIRE(o.ok());
    CHECK(o->null_mode == NullMode::kNoNull);
    CHECK(o->dup_mode == DupMode::kIgnore);
    CHECK(*o->remove == "key");
    CHECK(o->fold_case);

    CHECK(!parse_args(Flavor::kPostmap, {"-q"}).ok());
    CHECK(!parse_args(Flavor::kPostmap, {"-Z", "/a"}).ok());
    CHECK(!parse_args(Flavor::kPostmap, {"-s"}).ok());  // no table
    CHECK(!parse_args(Flavor::kPostmap, {"-s", "-q", "k", "/a"}).ok());
}

TEST_CASE("collect_entries: fold and duplicate modes", "[unit]") {
    table::TextParse p = table::parse_map_source("A 1\nb 2\na 3\n", "src");
    std::vector<std::string> w;
    auto e = collect_entries(p, true, DupMode::kWarn, "src", &w);
    CHECK(e == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}});
    CHECK(w == std::vector<std::string>{"src, line 3: duplicate entry: \"a\""});

    w.clear();
    e = collect_entries(p, true, DupMode::kIgnore, "src", &w);
    CHECK(e == std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}});
    CHECK(w.empty());

    e = collect_entries(p, true, DupMode::kReplace, "src", &w);
    CHECK(e == std::vector<std::pair<std::string, std::string>>{{"a", "3"}, {"b", "2"}});
    CHECK(w.empty());

    e = collect_entries(p, false, DupMode::kWarn, "src", &w);
    CHECK(e.size() == 3);
}

TEST_CASE("build_map: postmap and postalias sources", "[unit]") {
    TempDir d;
    std::string m = d.write("access", "User@Example.com OK\nbad-line\n");
    Options o;
    std::vector<std::string> w;
    REQUIRE(build_map({"hash", m}, o, &w).ok());
    CHECK(w == std::vector<std::string>{m + ", line 2: expected format: key whitespace value"});
    CHECK(lookup("hash:" + m, "user@example.com") == "OK");
    CHECK(lookup("hash:" + m, "@") == "<none>");

    std::string a = d.write("aliases", "Postmaster: root\ntomcat: hadoop\n");
    o.flavor = Flavor::kPostalias;
    w.clear();
    REQUIRE(build_map({"btree", a}, o, &w).ok());
    CHECK(w.empty());
    CHECK(lookup("btree:" + a, "postmaster") == "root");
    CHECK(lookup("btree:" + a, "tomcat") == "hadoop");
    CHECK(lookup("btree:" + a, "@") == "@");

    // -f keeps the case of keys.
    o.fold_case = false;
    REQUIRE(build_map({"hash", a}, o, &w).ok());
    CHECK(lookup("hash:" + a, "Postmaster", false) == "root");
    CHECK(lookup("hash:" + a, "postmaster", false) == "<none>");

    CHECK(!build_map({"regexp", a}, o, &w).ok());
}

TEST_CASE("build_map: a failed rebuild leaves the old db answering", "[unit]") {
    TempDir d;
    std::string m = d.write("map", "k old\n");
    Options o;
    std::vector<std::string> w;
    REQUIRE(build_map({"hash", m}, o, &w).ok());
    d.write("map", "k new\n");
    std::string tmp = m + ".db.tmp." + std::to_string(::getpid());
    REQUIRE(::mkdir(tmp.c_str(), 0700) == 0);
    REQUIRE(::mkdir((tmp + "/block").c_str(), 0700) == 0);
    CHECK(!build_map({"hash", m}, o, &w).ok());
    CHECK(lookup("hash:" + m, "k") == "old");
    std::filesystem::remove_all(tmp);
    REQUIRE(build_map({"hash", m}, o, &w).ok());
    CHECK(lookup("hash:" + m, "k") == "new");
}

TEST_CASE("build_map: the db keeps the source's group/other read bits", "[unit]") {
    TempDir d;
    std::string m = d.write("map", "k v\n");
    REQUIRE(::chmod(m.c_str(), 0640) == 0);
    Options o;
    std::vector<std::string> w;
    REQUIRE(build_map({"hash", m}, o, &w).ok());
    struct stat st;
    REQUIRE(::stat((m + ".db").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("run: query exit codes and -d", "[unit]") {
    TempDir d;
    d.write("main.cf", "default_database_type = btree\n");
    std::string m = d.write("map", "k v\nother w\n");
    log::set_capture([](log::Level, const std::string&) {});
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, m}) == 0);
    CHECK(util::path_exists(m + ".db"));
    CHECK(lookup("btree:" + m, "k") == "v");  // default_database_type from main.cf
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, "-q", "k", m}) == 0);
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, "-q", "nope", m}) == 1);
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, "-d", "k", m}) == 0);
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, "-d", "k", m}) == 1);
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, "-q", "k", m}) == 1);
    CHECK(run_args(Flavor::kPostmap, {"postmap", "-c", d.path, "-q", "other", m}) == 0);
    log::set_capture(nullptr);
}
