// instance_lock_test.cc - one master per instance.
#include "lib/server/instance_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

using namespace mailroom::server;

TEST_CASE("instance lock excludes a second holder and is seen by probes", "[unit]") {
    char tmpl[] = "/tmp/mr-lock-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    std::string dir = tmpl;
    CHECK(probe_instance_lock(dir) == 0);
    {
        auto lock = acquire_instance_lock(dir);
        REQUIRE(lock.ok());
        // fcntl locks are per process: ask from a child.
        pid_t pid = ::fork();
        if (pid == 0) {
            bool seen = probe_instance_lock(dir) == ::getppid();
            auto second = acquire_instance_lock(dir);
            bool refused = !second.ok() && second.error().temporary();
            ::_exit(seen && refused ? 0 : 1);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(probe_instance_lock(dir) == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("the pid directory is process_id_directory under queue_directory", "[unit]") {
    using mailroom::config::Config;
    auto def = Config::from_text("queue_directory = /var/spool/mr\n", "/tmp/x").value();
    CHECK(pid_directory(def).value() == "/var/spool/mr/pid");
    CHECK(instance_pid_file(pid_directory(def).value()) == "/var/spool/mr/pid/master.pid");
    auto rel = Config::from_text("queue_directory = /q\nprocess_id_directory = run/mr\n", "/tmp/x").value();
    CHECK(pid_directory(rel).value() == "/q/run/mr");
    auto abs = Config::from_text("queue_directory = /q\nprocess_id_directory = /run/mailroom\n", "/tmp/x").value();
    CHECK(pid_directory(abs).value() == "/run/mailroom");
    auto empty = Config::from_text("queue_directory = /q\nprocess_id_directory =\n", "/tmp/x").value();
    CHECK_FALSE(pid_directory(empty).ok());
}
