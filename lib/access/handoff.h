// handoff.h - what a login process hands a mail process with a client
// (docs/mail-access.md), and sending it with the client's descriptor.
//
// Summary
//   Handoff is one authenticated session: the protocol, the login name
//   and method, the client's addresses, whether TLS runs in front of it
//   (the descriptor then is the clear-text end of the login process's TLS
//   proxy), authd's user record (never a password), the login process's
//   id for the session, and an opaque protocol state blob (client input
//   read past the login command, capabilities...). encode_handoff() and
//   decode_handoff() are its wire form; send_message() and
//   recv_message() move one message, with at most one descriptor
//   (SCM_RIGHTS), over a SOCK_SEQPACKET socket.
//
// Description
//   Wire form: fields "<length>:<name>=<value>," in any order (a
//   netstring per field), so values may hold any byte. Unknown names are
//   ignored; a malformed length, a missing protocol or user, or a number
//   out of range is an error. A message is at most kMaxHandoffMessage
//   bytes (the state blob is bounded by the sender).
//
// Thread safety
//   All functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/auth/authd_proto.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::access {

constexpr std::size_t kMaxHandoffMessage = 128 * 1024;

struct Handoff {
    std::uint64_t id = 0;     // the login process's session id (reported back when it ends)
    std::string protocol;     // "pop3", "imap"
    std::string login_name;   // canonical_login_name()
    std::string method;       // PLAIN, LOGIN, APOP
    std::string rip, lip;
    bool tls = false;
    auth::AuthUser user;      // passwd and clear_passwd are never sent
    std::string state;        // the protocol's own

    bool operator==(const Handoff&) const = default;
};

std::string encode_handoff(const Handoff& handoff);
Result<Handoff> decode_handoff(std::string_view wire);

// One message (and `fd` when >= 0) on a SOCK_SEQPACKET socket; blocking
// unless the socket is non-blocking (then an EAGAIN is an error).
Status send_message(int sock, std::string_view data, int fd = -1);
// One message into *data and a received descriptor into *fd (invalid
// when none came). Returns false at EOF. Extra descriptors are closed.
Result<bool> recv_message(int sock, std::string* data, util::UniqueFd* fd);

}  // namespace mailroom::access
