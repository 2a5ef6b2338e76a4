// trigger.cc - see trigger.h.
#include "lib/submit/trigger.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "lib/util/strings.h"

namespace mailroom::submit {

Status trigger_service(const std::string& queue_directory, ipc::ServiceClass cls, std::string_view name,
                       std::string_view request, int timeout_ms) {
    auto fd = ipc::connect_service(queue_directory, cls, name, timeout_ms);
    if (!fd) return make_temp_error(fd.error().message);
    std::size_t done = 0;
    while (done < request.size()) {
        ssize_t n = ::send(fd->get(), request.data() + done, request.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd->get(), POLLOUT, 0};
            if (::poll(&p, 1, timeout_ms) > 0) continue;
            return make_temp_error("trigger " + std::string(name) + ": timeout");
        }
        return make_temp_error(util::format("trigger %.*s: %s", static_cast<int>(name.size()), name.data(),
                                            std::strerror(errno)));
    }
    return ok_status();
}

}  // namespace mailroom::submit
