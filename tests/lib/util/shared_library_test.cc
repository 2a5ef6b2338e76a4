// shared_library_test.cc - loading a library at run time: the errors name
// the file and the symbol, and a LazyLibrary tries a failed load again.
#include "lib/util/shared_library.h"

#include <catch2/catch.hpp>
#include <cstring>

using namespace mailroom;
using mailroom::util::LazyLibrary;
using mailroom::util::SharedLibrary;

namespace {

struct StringApi {
    decltype(&::strlen) length = nullptr;
};

Status bind_strlen(const SharedLibrary& lib, StringApi* api) { return lib.bind("strlen", &api->length); }

}  // namespace

TEST_CASE("shared library: a file the dynamic linker cannot find", "[unit]") {
    auto lib = SharedLibrary::open("libmailroom-no-such-library.so.0");
    REQUIRE(!lib.ok());
    CHECK(lib.error().message.rfind("cannot load libmailroom-no-such-library.so.0: ", 0) == 0);
    // dlerror()'s reason follows.
    CHECK(lib.error().message.size() > std::strlen("cannot load libmailroom-no-such-library.so.0: "));
}

TEST_CASE("shared library: functions bound by name", "[unit]") {
    auto lib = SharedLibrary::open("libc.so.6");
    REQUIRE(lib.ok());
    StringApi api;
    REQUIRE(bind_strlen(*lib, &api).ok());
    CHECK(api.length("four") == 4);
    int (*missing)(void) = nullptr;
    Status s = lib->bind("mailroom_no_such_symbol", &missing);
    REQUIRE(!s.ok());
    CHECK(s.error().message.rfind("libc.so.6: cannot find symbol mailroom_no_such_symbol: ", 0) == 0);
    CHECK(missing == nullptr);
}

TEST_CASE("shared library: a lazy library loads once and tries a failed load again", "[unit]") {
    LazyLibrary<StringApi> lazy("libmailroom-no-such-library.so.0", bind_strlen);
    auto failed = lazy.get();
    REQUIRE(!failed.ok());
    CHECK(failed.error().message.find("libmailroom-no-such-library.so.0") != std::string::npos);
    lazy.set_file("libc.so.6");
    auto first = lazy.get();
    REQUIRE(first.ok());
    CHECK((*first)->length("abc") == 3);
    // Loaded: the same functions, whatever file is named afterwards.
    lazy.set_file("libmailroom-no-such-library.so.0");
    auto second = lazy.get();
    REQUIRE(second.ok());
    CHECK(*second == *first);
}

namespace {
int g_fake_loads = 0;
Status fake_load() {
    ++g_fake_loads;
    return ok_status();
}
}  // namespace

TEST_CASE("shared library: a registered library is loaded before a chroot when the configuration names it",
          "[unit]") {
    REQUIRE(util::register_jail_preload("fakemap:", fake_load));
    g_fake_loads = 0;
    util::preload_before_jail("alias_maps = hash:/etc/aliases\n");
    util::preload_before_jail("virtual_alias_maps = textfakemap:/etc/x, my_fakemap:/etc/y\n");
    CHECK(g_fake_loads == 0);
    util::preload_before_jail("virtual_alias_maps = texthash:/etc/x,fakemap:/etc/y\n");
    CHECK(g_fake_loads == 1);
    util::preload_before_jail("fakemap:/etc/y");
    CHECK(g_fake_loads == 2);
}
