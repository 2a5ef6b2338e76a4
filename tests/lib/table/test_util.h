// test_util.h - temp directories and files for the lib/table tests.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lib/util/fs.h"

namespace mailroom::table::testing {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/mr-table-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string write(const std::string& name, const std::string& text) const {
        std::string p = path_ + "/" + name;
        REQUIRE(util::write_file_atomic(p, text).ok());
        return p;
    }

private:
    std::string path_;
};

}  // namespace mailroom::table::testing
