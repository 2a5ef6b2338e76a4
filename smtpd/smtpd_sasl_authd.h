// smtpd_sasl_authd.h - SMTP AUTH PLAIN, LOGIN and CRAM-MD5 checked by authd.
//
// Summary
//   With smtpd_sasl_type = authd, SaslServer (smtpd_sasl.h) hands its
//   exchanges to AuthdSasl: the PLAIN (RFC 4616), LOGIN and CRAM-MD5
//   (RFC 2195) exchanges run here, on the loop, and the user name and
//   password go to authd (or courier's authdaemond) as an "AUTH login"
//   request, the CRAM-MD5 challenge and response as "AUTH cram-md5", on
//   the socket smtpd_sasl_path names ($queue_directory/private/authd by
//   default). auth_mechanisms says which are offered (PLAIN and LOGIN by
//   default: CRAM-MD5 works only for users whose password authd has in
//   clear text).
//
// Description
//   Results are worded as Cyrus SASL words them, so the session's replies
//   and log lines are those of the Cyrus path: a wrong password or an
//   unknown user is "authentication failure" (535 5.7.8), given after
//   smtpd_sasl_failure_delay (default 0: authd itself waits
//   auth_failure_delay before it answers FAIL); authd not running, not answering within
//   authd_client_timeout, or closing without an answer (its backend is
//   down) is "Connection lost to authentication server" (454 4.7.0, Postfix's
//   words for its dovecot type, which fail2ban's filter leaves alone), with
//   the cause logged as "warning: SASL authentication problem: ...". A
//   malformed PLAIN response is "bad protocol / cancel"; a PLAIN
//   authorization identity other than the user is "authorization failure"
//   (no proxy authorization).
//
//   Every `done` runs from the loop, never inside start() or step(); end()
//   drops an exchange and its pending request or delay without calling
//   back.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/auth/auth_client.h"
#include "lib/event/event_loop.h"
#include "smtpd/smtpd_sasl.h"

namespace mailroom::smtpd {

class AuthdSasl {
public:
    AuthdSasl(event::Loop& loop, const SaslConfig& config, std::string myhostname);
    ~AuthdSasl();
    AuthdSasl(const AuthdSasl&) = delete;
    AuthdSasl& operator=(const AuthdSasl&) = delete;

    void start(uint64_t id, const SaslServer::Peer& peer, const std::string& mechanism,
               std::optional<std::string> initial, SaslServer::Done done);
    void step(uint64_t id, std::string response, SaslServer::Done done);
    void end(uint64_t id);

private:
    struct Exchange;
    void respond(uint64_t id, std::string response, SaslServer::Done done);
    void check(uint64_t id, const std::string& user, const std::string& password, SaslServer::Done done);
    void ask(uint64_t id, const std::string& user, auth::Request request, SaslServer::Done done);
    void later(SaslServer::Done done, SaslStep step);

    event::Loop& loop_;
    SaslConfig config_;
    std::string myhostname_;
    auth::AuthClient client_;
    std::map<uint64_t, std::unique_ptr<Exchange>> exchanges_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mailroom::smtpd
