// fake_master.h - plays master for one daemon process in a unit test.
//
// Summary
//   FakeMaster starts a real daemon (cleanup, or any program on the server
//   skeletons) the way master does: a listening UNIX socket on descriptor
//   6 (proto::kListenFdStart), the status pipe on descriptor 5, and the
//   generic command line (-c CONFIG_DIR -n SERVICE -t unix -s 1). The test
//   reads the child's busy/available reports with next_status() and
//   connects to the listener like a client. The child is killed when the
//   FakeMaster goes away.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lib/ipc/ipc_socket.h"
#include "lib/server/master_proto.h"
#include "lib/util/unique_fd.h"

namespace mailroom::testing {

class FakeMaster {
public:
    // Starts `program` with the given config directory and service name,
    // listening on `socket_path`; `extra_args` go before the program's own.
    // A `config_fd` >= 0 is handed on kConfigFd, as master hands the
    // configuration it accepted (lib/config/config_snapshot.h).
    FakeMaster(const std::string& program, const std::string& config_dir, const std::string& service,
               const std::string& socket_path, const std::vector<std::string>& extra_args = {},
               int config_fd = -1) {
        socket_path_ = socket_path;
        auto l = ipc::listen_unix(socket_path);
        if (!l) throw std::runtime_error("listen: " + l.error().message);
        listener_ = std::move(*l);
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        status_read_.reset(p[0]);
        status_write_.reset(p[1]);

        args_ = {program, "-c", config_dir, "-n", service, "-t", "unix", "-s", "1"};
        args_.insert(args_.end(), extra_args.begin(), extra_args.end());
        child_ = spawn(config_fd);
    }

    ~FakeMaster() {
        if (child_ > 0) {
            ::kill(child_, SIGKILL);
            ::waitpid(child_, nullptr, 0);
        }
        for (pid_t pid : others_) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }

    // One more process of the service on the same listener and status pipe,
    // as master starts when none is available; killed with the first.
    pid_t start_another() {
        pid_t pid = spawn(-1);
        others_.push_back(pid);
        return pid;
    }
    FakeMaster(const FakeMaster&) = delete;
    FakeMaster& operator=(const FakeMaster&) = delete;

    pid_t child() const { return child_; }

    // A blocking client connection to the listener.
    util::UniqueFd connect_client() {
        auto fd = ipc::connect_unix(socket_path_, 10000);
        if (!fd) throw std::runtime_error("connect: " + fd.error().message);
        ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) & ~O_NONBLOCK);
        return std::move(*fd);
    }

    // Waits for the child to exit and returns its wait status.
    int wait_exit() {
        int status = 0;
        if (::waitpid(child_, &status, 0) != child_) throw std::runtime_error("waitpid failed");
        child_ = -1;
        return status;
    }

    // The next status report, or nullopt after `ms` milliseconds.
    std::optional<server::proto::StatusMessage> next_status(int ms = 10000) {
        pollfd p{status_read_.get(), POLLIN, 0};
        if (::poll(&p, 1, ms) <= 0) return std::nullopt;
        std::uint8_t buf[server::proto::kStatusSize];
        if (::read(status_read_.get(), buf, sizeof(buf)) != static_cast<ssize_t>(sizeof(buf))) return std::nullopt;
        auto m = server::proto::decode_status(buf);
        if (!m) return std::nullopt;
        return *m;
    }

    // Waits until the child reports that it is idle again (its sessions are
    // over), skipping busy reports; false after `ms` milliseconds.
    bool wait_available(int ms = 10000) {
        for (;;) {
            auto m = next_status(ms);
            if (!m) return false;
            if (m->state == server::proto::ChildState::kAvailable) return true;
        }
    }

private:
    pid_t spawn(int config_fd) {
        std::vector<char*> argv;
        for (auto& a : args_) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            // Above the target numbers first, so that dup2 cannot clobber.
            int s = ::fcntl(status_write_.get(), F_DUPFD, 20);
            int l2 = ::fcntl(listener_.get(), F_DUPFD, 20);
            int c = config_fd >= 0 ? ::fcntl(config_fd, F_DUPFD_CLOEXEC, 20) : -1;
            ::dup2(s, server::proto::kStatusFd);
            ::dup2(l2, server::proto::kListenFdStart);
            if (c >= 0) ::dup2(c, server::proto::kConfigFd);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        return pid;
    }

    std::vector<std::string> args_;
    std::vector<pid_t> others_;
    util::UniqueFd status_write_;
    std::string socket_path_;
    util::UniqueFd listener_;
    util::UniqueFd status_read_;
    pid_t child_ = -1;
};

}  // namespace mailroom::testing
