// queue_test_util.h - a temporary queue directory for queue tests.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/queue/queue_dirs.h"
#include "lib/queue/queue_file.h"
#include "lib/util/fs.h"

namespace mailroom::queue::testing {

// Creates a fresh queue_directory with every queue; removes it at the end.
class TempQueue {
public:
    explicit TempQueue(int hash_depth = 0) {
        char tmpl[] = "/tmp/mr-queue-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        layout.queue_directory = std::string(tmpl) + "/spool";
        layout.hash_depth = hash_depth;
        root_ = tmpl;
        REQUIRE(create_queue_directories(layout).ok());
    }
    ~TempQueue() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    TempQueue(const TempQueue&) = delete;
    TempQueue& operator=(const TempQueue&) = delete;

    QueueLayout layout;

private:
    std::string root_;
};

inline std::size_t count_entries(const std::string& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        (void)e;
        ++n;
    }
    return n;
}

// A queue file read back: its envelope and its content as whole lines.
struct ReadBack {
    QueueEnvelope env;
    std::vector<std::string> lines;
};

inline ReadBack read_back(const std::string& path) {
    auto file = QueueFile::open(path, false);
    REQUIRE(file);
    ReadBack out;
    std::string line;
    auto env = file->read([&](std::string_view piece, bool end) {
        line.append(piece);
        if (end) {
            out.lines.push_back(line);
            line.clear();
        }
        return ok_status();
    });
    REQUIRE(env);
    out.env = *env;
    return out;
}

}  // namespace mailroom::queue::testing
