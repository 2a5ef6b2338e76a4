// trigger_test.cc - trigger_service() delivers its request bytes to the
// service socket, and a service that is not there is a temporary error.
#include <catch2/catch.hpp>

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <string>

#include "lib/submit/trigger.h"
#include "tests/support/fake_service.h"

using namespace mailroom;

TEST_CASE("trigger_service writes the request and closes", "[unit]") {
    testing::TempQueue tq;
    const std::string dir = tq.layout.queue_directory;
    testing::FakeService qmgr(dir, ipc::ServiceClass::kPublic, "qmgr");
    std::string got;
    qmgr.serve([&](ipc::IpcStream& s) {
        // Everything up to the client's close.
        for (;;) {
            pollfd p{s.fd(), POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) break;
            char buf[16];
            ssize_t n = ::read(s.fd(), buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
    });
    REQUIRE(submit::trigger_service(dir, ipc::ServiceClass::kPublic, "qmgr",
                                    std::string(1, submit::kQmgrScanIncoming) + submit::kQmgrFlush));
    qmgr.join();
    CHECK(got == "IF");
}

TEST_CASE("trigger_service to a missing service is a temporary error", "[unit]") {
    testing::TempQueue tq;
    auto st = submit::trigger_service(tq.layout.queue_directory, ipc::ServiceClass::kPublic, "pickup", "W", 200);
    REQUIRE_FALSE(st);
    CHECK(st.error().temporary());
}
