// mailbox_test_util.h - temp directories and small file helpers for the
// mailbox tests.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/util/fs.h"

namespace mailbox_test {

// A temp directory removed (recursively) at scope exit.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/mr-mailbox-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() { remove_tree(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

    static void remove_tree(const std::string& path) {
        struct stat st;
        if (::lstat(path.c_str(), &st) < 0) return;
        if (S_ISDIR(st.st_mode)) {
            if (DIR* d = ::opendir(path.c_str())) {
                while (struct dirent* e = ::readdir(d)) {
                    std::string n = e->d_name;
                    if (n == "." || n == "..") continue;
                    remove_tree(path + "/" + n);
                }
                ::closedir(d);
            }
            ::rmdir(path.c_str());
        } else {
            ::unlink(path.c_str());
        }
    }

private:
    std::string path_;
};

// Names in a directory (no dot entries), sorted.
inline std::vector<std::string> list(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == "..") continue;
            out.push_back(n);
        }
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

inline std::string slurp(const std::string& path) {
    auto r = mailroom::util::read_file(path);
    REQUIRE(r.ok());
    return r.value();
}

inline void spew(const std::string& path, const std::string& data) {
    REQUIRE(mailroom::util::write_file_atomic(path, data, 0600).ok());
}

}  // namespace mailbox_test
