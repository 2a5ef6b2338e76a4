// Every main.cf fragment of the seed document parses with no error, and the
// values come back exactly as written.
#include <dirent.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "lib/config/config.h"
#include "lib/config/validate.h"
#include "lib/util/fs.h"
#include "lib/util/strings.h"

using namespace mailroom;

namespace {
std::vector<std::string> fragment_files() {
    std::vector<std::string> out;
    const std::string dir = MAILROOM_TEST_DATA "/seed";
    DIR* d = ::opendir(dir.c_str());
    REQUIRE(d != nullptr);
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 3 && n.substr(n.size() - 3) == ".cf") out.push_back(dir + "/" + n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}
}  // namespace

TEST_CASE("every seed main.cf fragment parses without error", "[unit]") {
    auto files = fragment_files();
    REQUIRE(files.size() >= 10);
    for (const auto& f : files) {
        INFO(f);
        std::string text = util::read_file(f).value();
        std::vector<std::string> warnings;
        auto cfg = config::Config::from_text(text, "/etc/mailroom", &warnings);
        REQUIRE(cfg.ok());
        CHECK(warnings.empty());
        // Each "name = value" line reads back as written.
        for (const std::string& line : util::split(text, "\n")) {
            if (line.empty() || line[0] == '#') continue;
            size_t eq = line.find('=');
            std::string name(util::trim(std::string_view(line).substr(0, eq)));
            std::string value(util::trim(std::string_view(line).substr(eq + 1)));
            CHECK(cfg->main_cf_value(name) == value);
        }
    }
}

TEST_CASE("every value the seed writes passes validation by type", "[unit]") {
    for (const auto& f : fragment_files()) {
        INFO(f);
        auto cfg = config::Config::from_text(util::read_file(f).value(), "/etc/mailroom").value();
        // The seed's table files live on its own host: types and syntax only.
        CHECK(config::validate_config(cfg) == std::vector<std::string>{});
    }
}

TEST_CASE("the seed's identity settings expand as Postfix expands them", "[unit]") {
    std::string text = util::read_file(MAILROOM_TEST_DATA "/seed/01-basic.cf").value();
    auto cfg = config::Config::from_text(text, "/etc/mailroom").value();
    CHECK(cfg.get("mydestination").value() == "mail.magedu.com, localhost.magedu.com, localhost, magedu.com");
    CHECK(cfg.get("myorigin").value() == "magedu.com");
    CHECK(cfg.get_list("mynetworks").value() == std::vector<std::string>{"192.168.1.0/24", "127.0.0.0/8"});

    std::string text2 = util::read_file(MAILROOM_TEST_DATA "/seed/02-yuliang.cf").value();
    auto cfg2 = config::Config::from_text(text2, "/etc/mailroom").value();
    CHECK(cfg2.get("myorigin").value() == "mail.yuliang.com");
    CHECK(cfg2.get("mydestination").value() == "mail.yuliang.com, yuliang.com, localhost, ns.yuliang.com");
}
