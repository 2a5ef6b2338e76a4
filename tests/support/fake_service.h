// fake_service.h - a fake server on a service socket of a temporary queue
// directory (queue::testing::TempQueue), for unit tests of protocol clients.
//
// Summary
//   FakeService listens on DIR/{public,private}/NAME
//   and serve() answers the next connection in a thread with `script`,
//   which talks through an IpcStream (records) or the raw descriptor.
//   Catch2 assertions are not thread-safe: the script records what it saw
//   in the caller's variables, and the test checks them after join().
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "lib/ipc/ipc_socket.h"
#include "tests/lib/queue/queue_test_util.h"

namespace mailroom::testing {

using queue::testing::TempQueue;

class FakeService {
public:
    using Script = std::function<void(ipc::IpcStream& stream)>;

    FakeService(const std::string& queue_directory, ipc::ServiceClass cls, std::string_view name) {
        auto fd = ipc::listen_unix(ipc::service_socket_path(queue_directory, cls, name));
        if (!fd) throw std::runtime_error("listen: " + fd.error().message);
        listener_ = std::move(*fd);
    }
    ~FakeService() { join(); }
    FakeService(const FakeService&) = delete;
    FakeService& operator=(const FakeService&) = delete;

    // Accepts one connection (within timeout_ms) and runs `script` on it in
    // a thread; the connection closes when the script returns.
    void serve(Script script, int timeout_ms = 5000) {
        join();
        accepted_ = false;
        thread_ = std::thread([this, script = std::move(script), timeout_ms] {
            auto conn = ipc::accept_unix(listener_.get(), timeout_ms);
            if (!conn) return;
            accepted_ = true;
            ipc::IpcStream stream(std::move(*conn), timeout_ms);
            script(stream);
        });
    }
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    // After join(): whether a client connected.
    bool accepted() const { return accepted_; }

private:
    util::UniqueFd listener_;
    std::thread thread_;
    bool accepted_ = false;
};

}  // namespace mailroom::testing
