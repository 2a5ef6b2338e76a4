// smtpd_auth.cc - SMTP AUTH: the SASL exchange of a session; see smtpd_session.h.
#include "smtpd/smtpd_session_impl.h"


#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/submit/trigger.h"
#include "lib/table/maps.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_dns.h"

namespace mailroom::smtpd {

using queue::RecordType;

bool Session::offer_auth() const {
    return server_.sasl() != nullptr && (!cfg_.tls.auth_only || s_.tls_active);
}

void Session::cmd_auth(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kAuth, false);
        reply_error(r);
    };
    // Postfix's order of checks. With smtpd_tls_auth_only SASL is enabled
    // but AUTH is neither offered nor accepted before TLS (RFC 4954 4).
    if (cfg_.smtpd_helo_required && !s_.helo_name) return fail(replies::need_helo());
    if (server_.sasl() == nullptr || ehlo_discards(cfg_.ehlo, "AUTH")) return fail(replies::auth_not_enabled());
    if (in_transaction()) return fail(replies::auth_in_transaction());
    if (cfg_.tls.auth_only && !s_.tls_active) return fail(replies::auth_needs_encryption());
    if (!s_.sasl_username.empty()) return fail(replies::auth_already());
    std::optional<std::string> initial;
    if (cmd.auth_initial) {
        if (*cmd.auth_initial == "=") {
            initial = std::string();
        } else {
            initial = util::base64_decode(*cmd.auth_initial);
            if (!initial) return fail(make_reply(501, "5.5.2", "Invalid base64 data in initial response"));
        }
    }
    sasl_mech_ = cmd.auth_mechanism;
    SaslServer::Peer peer;
    peer.remote = s_.client_addr;
    peer.tls = s_.tls_active;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    SmtpdServer* server = &server_;
    auto id = std::make_shared<uint64_t>(0);
    *id = server_.sasl()->start(peer, sasl_mech_, std::move(initial), [this, alive, server, id](SaslStep step) {
        if (alive.expired() || finished_ || sasl_id_ != *id) {
            server->sasl()->end(*id);  // the session is gone or gave up waiting
            return;
        }
        sasl_result(std::move(step));
    });
    sasl_id_ = *id;
    sasl_wait();
}

void Session::sasl_wait() {
    if (sasl_timer_.empty()) {
        sasl_timer_ = event::Timer(server_.loop(), [this] {
            if (finished_ || sasl_id_ == 0 || !busy_) return;
            // The step's late answer finds another (or no) exchange and ends it.
            log::warn("%s: SASL %s authentication timed out", namaddr().c_str(),
                      log::log_printable(sasl_mech_).c_str());
            sasl_id_ = 0;
            busy_ = false;
            state_ = State::kCommand;
            count(Verb::kAuth, false);
            reply_error(replies::auth_temp_failure("authentication server did not answer"));
            check_error_limit();
            pump();
        });
    }
    const CyrusSasl& sasl = server_.sasl()->cyrus();
    sasl_timer_.start(sasl.authd() ? std::chrono::duration_cast<std::chrono::milliseconds>(kSaslStepTimeout)
                                   : sasl.config().cyrus_step_timeout);
}

void Session::sasl_result(SaslStep step) {
    busy_ = false;
    sasl_timer_.cancel();
    switch (step.kind) {
        case SaslStep::Kind::kContinue:
            state_ = State::kAuth;
            reply(replies::auth_challenge(util::base64_encode(step.challenge)));
            break;
        case SaslStep::Kind::kOk:
            sasl_end();
            state_ = State::kCommand;
            s_.sasl_username = step.username;
            s_.sasl_method = sasl_mech_;
            count(Verb::kAuth, true);
            reply(replies::auth_ok());
            break;
        case SaslStep::Kind::kFail:
        case SaslStep::Kind::kTempFail:
            sasl_end();
            state_ = State::kCommand;
            log::warn("%s: SASL %s authentication failed: %s", namaddr().c_str(),
                      log::log_printable(sasl_mech_).c_str(), step.reason.c_str());
            count(Verb::kAuth, false);
            reply_error(step.kind == SaslStep::Kind::kTempFail ? replies::auth_temp_failure(step.reason)
                                                               : replies::auth_failed(step.reason));
            break;
    }
    check_error_limit();
    pump();
}

void Session::sasl_response(std::string_view line, bool too_long) {
    auto fail = [&](const Reply& r) {
        sasl_end();
        state_ = State::kCommand;
        count(Verb::kAuth, false);
        reply_error(r);
        check_error_limit();
    };
    if (too_long) return fail(replies::sasl_response_too_long());
    if (line == "*") return fail(replies::auth_aborted());
    auto decoded = util::base64_decode(line);
    if (!decoded) return fail(make_reply(501, "5.5.2", "Invalid base64 data in continued response"));
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    SmtpdServer* server = &server_;
    uint64_t id = sasl_id_;
    server_.sasl()->step(id, std::move(*decoded), [this, alive, server, id](SaslStep step) {
        if (alive.expired() || finished_ || sasl_id_ != id) {
            server->sasl()->end(id);
            return;
        }
        sasl_result(std::move(step));
    });
    sasl_wait();
}

void Session::sasl_end() {
    if (sasl_id_ == 0) return;
    server_.sasl()->end(sasl_id_);
    sasl_id_ = 0;
}

}  // namespace mailroom::smtpd
