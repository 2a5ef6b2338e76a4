// store_test_util.h - temp Maildirs and deliveries for the mail store tests.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "lib/access/mail_store.h"
#include "lib/mailbox/maildir.h"
#include "lib/util/fs.h"

namespace store_test {

// A temp directory removed at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/mail_store_test.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) std::abort();
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// Delivers `text` into <maildir>/new as a delivery agent does; returns the file name.
inline std::string deliver(const std::string& maildir, const std::string& text) {
    auto w = mailroom::mailbox::MaildirWriter::open(maildir);
    if (!w || !w->append(text)) std::abort();
    auto path = w->commit();
    if (!path) std::abort();
    return path->substr(path->rfind('/') + 1);
}

inline std::unique_ptr<mailroom::access::MailStore> open_store(const std::string& maildir,
                                                                mailroom::access::StoreOptions opts = {}) {
    opts.maildir = maildir;
    auto s = mailroom::access::MailStore::open(opts);
    if (!s) std::abort();
    return std::move(*s);
}

// A fresh Maildir in a temp directory with a store on it.
struct Fixture {
    TempDir dir;
    std::string md = dir.path + "/Maildir";
    std::unique_ptr<mailroom::access::MailStore> store = open_store(md);
};

inline std::size_t count_files(const std::string& dir) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) n += e.path().filename().string()[0] != '.';
    return n;
}

}  // namespace store_test
