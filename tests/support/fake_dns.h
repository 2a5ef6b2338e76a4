// fake_dns.h - tests/support/fake_dns.py as a child process for unit tests.
//
// FakeDns starts the fake server with the zone records given (one
// "NAME TYPE VALUE" each, see fake_dns.py), waits until it has bound its
// port on 127.0.0.1, and kills it in the destructor. options() points
// lib/dns at it. The test binary defines MAILROOM_FAKE_DNS as the path of
// fake_dns.py.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/dns/dns.h"

namespace mailroom::testing {

class FakeDns {
public:
    explicit FakeDns(std::vector<std::string> records) {
        char tmpl[] = "/tmp/mr_fake_dns_XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir_ = tmpl;
        std::string port_file = dir_ + "/port";
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            std::vector<std::string> args = {"python3", MAILROOM_FAKE_DNS, "--port-file", port_file};
            for (auto& r : records) args.push_back(r);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execvp("python3", argv.data());
            ::_exit(127);
        }
        for (int i = 0; i < 200 && port_ == 0; ++i) {
            std::ifstream in(port_file);
            if (in >> port_) break;
            port_ = 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        REQUIRE(port_ != 0);
    }
    ~FakeDns() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        std::string cmd = "rm -rf '" + dir_ + "'";
        (void)std::system(cmd.c_str());
    }
    FakeDns(const FakeDns&) = delete;
    FakeDns& operator=(const FakeDns&) = delete;

    dns::Options options(std::chrono::milliseconds timeout = std::chrono::milliseconds(500), int tries = 2) const {
        dns::Options o;
        o.servers = "127.0.0.1:" + std::to_string(port_);
        o.timeout = timeout;
        o.tries = tries;
        return o;
    }

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string dir_;
};

}  // namespace mailroom::testing
