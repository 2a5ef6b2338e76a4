// sys_error.cc - see sys_error.h.
#include "lib/mailbox/sys_error.h"

#include <cerrno>
#include <cstring>

namespace mailroom::mailbox {

bool errno_is_temporary(int err) {
    switch (err) {
        case ENOSPC:
        case EDQUOT:
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
        case EINTR:
        case EBUSY:
        case ENOLCK:
        case EMFILE:
        case ENFILE:
        case ENOMEM:
        case EIO:
        case ESTALE:
        case ETIMEDOUT:
        case EDEADLK:
            return true;
        default:
            return false;
    }
}

Error sys_error(std::string_view op, std::string_view path, int err) {
    std::string msg;
    msg.reserve(op.size() + path.size() + 48);
    msg.append(op);
    msg.push_back(' ');
    msg.append(path);
    msg.append(": ");
    msg.append(std::strerror(err));
    return Error{std::move(msg), errno_is_temporary(err) ? ErrorKind::kTemporary : ErrorKind::kPermanent, err};
}

}  // namespace mailroom::mailbox
