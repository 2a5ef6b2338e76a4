// smtp_client.cc - see smtp_client.h.
#include "lib/smtp/smtp_client.h"

#include <cstdio>

#include "lib/smtp/smtp_command.h"
#include "lib/util/base64.h"

namespace mailroom::smtp {

namespace {

VerdictKind kind_of(int code) {
    if (code >= 200 && code < 300) return VerdictKind::kSent;
    if (code >= 400 && code < 500) return VerdictKind::kDeferred;
    return VerdictKind::kBounced;
}

bool positive(const Reply& r) { return r.code >= 200 && r.code < 300; }

}  // namespace

ClientEngine::ClientEngine(ClientSettings settings, ClientMessage message)
    : settings_(std::move(settings)), message_(std::move(message)), verdicts_(message_.recipients.size()) {}

std::string ClientEngine::reply_text(const Reply& reply) {
    std::string out = std::to_string(reply.code);
    if (!reply.dsn.empty()) out += " " + reply.dsn;
    for (const auto& l : reply.lines)
        if (!l.empty()) out += " " + l;
    return out;
}

std::string ClientEngine::reply_dsn(const Reply& reply) {
    if (!reply.dsn.empty()) return reply.dsn;
    char cls = reply.code >= 200 && reply.code < 300 ? '2' : reply.code >= 400 && reply.code < 500 ? '4' : '5';
    return std::string(1, cls) + ".0.0";
}

Verdict ClientEngine::from_reply(const Reply& reply, std::string_view command) const {
    Verdict v;
    v.kind = kind_of(reply.code);
    v.dsn = reply_dsn(reply);
    if (v.kind == VerdictKind::kSent) {
        v.reason = reply_text(reply);
    } else {
        v.reason = "host " + settings_.peer + " said: " + reply_text(reply) + " (in reply to " +
                   std::string(command) + " command)";
    }
    return v;
}

std::string ClientEngine::hello_word() const {
    if (settings_.protocol == ClientProtocol::kLmtp) return "LHLO";
    return state_ == State::kHelo ? "HELO" : "EHLO";
}

const char* ClientEngine::stage() const {
    switch (state_) {
        case State::kGreeting: return "receiving the initial server greeting";
        case State::kEhlo:
            return settings_.protocol == ClientProtocol::kLmtp ? "performing the LHLO handshake"
                                                               : "performing the EHLO handshake";
        case State::kHelo: return "performing the HELO handshake";
        case State::kStartTls: return "sending STARTTLS";
        case State::kAuth: return "performing the SASL authentication";
        case State::kEnvelope:
            if (pending_.empty() || pending_.front().cmd == Cmd::kMail) return "sending MAIL FROM";
            return pending_.front().cmd == Cmd::kRcpt ? "sending RCPT TO" : "sending DATA command";
        case State::kDot:
            return body_sent_ ? "sending end of data -- message may be sent more than once"
                              : "sending message body";
        case State::kQuit:
        case State::kClosed: break;
    }
    return "sending QUIT";
}

ClientEngine::Wait ClientEngine::waiting_for() const {
    switch (state_) {
        case State::kGreeting: return Wait::kGreeting;
        case State::kEhlo:
        case State::kHelo: return Wait::kHelo;
        case State::kStartTls: return Wait::kStartTls;
        case State::kAuth: return Wait::kHelo;
        case State::kEnvelope:
            if (pending_.empty() || pending_.front().cmd == Cmd::kMail) return Wait::kMail;
            return pending_.front().cmd == Cmd::kRcpt ? Wait::kRcpt : Wait::kData;
        case State::kDot: return body_sent_ ? Wait::kDataDone : Wait::kBody;
        case State::kQuit:
        case State::kClosed: break;
    }
    return Wait::kQuit;
}

void ClientEngine::set_all(const Verdict& verdict, bool only_accepted) {
    if (only_accepted) {
        for (std::size_t i : accepted_)
            if (!verdicts_[i]) verdicts_[i] = verdict;
        return;
    }
    for (auto& v : verdicts_)
        if (!v) v = verdict;
}

bool ClientEngine::done() const {
    if (failure_) return true;
    for (const auto& v : verdicts_)
        if (!v) return false;
    return true;
}

Step ClientEngine::quit() {
    state_ = State::kQuit;
    Step s;
    s.send = "QUIT\r\n";
    s.finished = true;
    return s;
}

Step ClientEngine::fail_session(VerdictKind kind, std::string dsn, std::string reason, bool try_next) {
    failure_ = SessionFailure{kind, std::move(dsn), std::move(reason), try_next};
    return quit();
}

Step ClientEngine::on_reply(const Reply& reply) {
    switch (state_) {
        case State::kGreeting:
            if (!positive(reply)) {
                std::string why = "host " + settings_.peer + " refused to talk to me: " + reply_text(reply);
                std::string dsn = reply_dsn(reply);
                if (kind_of(reply.code) == VerdictKind::kBounced && !settings_.skip_5xx_greeting)
                    return fail_session(VerdictKind::kBounced, dsn, why, false);
                dsn[0] = '4';  // skipped: the next server may take it
                return fail_session(VerdictKind::kDeferred, dsn, why, true);
            }
            state_ = State::kEhlo;
            return Step{hello_word() + " " + settings_.helo_name + "\r\n"};
        case State::kEhlo:
            if (!positive(reply)) {
                if (settings_.protocol == ClientProtocol::kLmtp)
                    return fail_session(kind_of(reply.code), reply_dsn(reply),
                                        from_reply(reply, "LHLO").reason, reply.temporary());
                state_ = State::kHelo;
                return Step{"HELO " + settings_.helo_name + "\r\n"};
            }
            keywords_ = parse_ehlo_keywords(reply.lines);
            esmtp_ = true;
            return after_ehlo();
        case State::kHelo:
            if (!positive(reply))
                return fail_session(kind_of(reply.code), reply_dsn(reply), from_reply(reply, "HELO").reason,
                                    reply.temporary());
            keywords_.clear();
            esmtp_ = false;
            return after_ehlo();
        case State::kStartTls:
            if (reply.code == 220) return Step{"", true};
            if (settings_.tls == TlsWant::kRequired)
                return fail_session(VerdictKind::kDeferred, "4.7.4",
                                    "TLS is required, but host " + settings_.peer +
                                        " refused to start TLS: " + reply_text(reply),
                                    false);
            return begin_envelope();
        case State::kAuth: return auth_reply(reply);
        case State::kEnvelope: return envelope_reply(reply);
        case State::kDot: return dot_reply(reply);
        case State::kQuit:
        case State::kClosed: break;
    }
    return Step{"", false, false, true};
}

Step ClientEngine::tls_ready() {
    tls_active_ = true;
    keywords_.clear();
    state_ = State::kEhlo;
    return Step{hello_word() + " " + settings_.helo_name + "\r\n"};
}

Step ClientEngine::after_ehlo() {
    if (settings_.tls != TlsWant::kNone && !tls_active_) {
        if (find_ehlo_keyword(keywords_, "STARTTLS")) {
            state_ = State::kStartTls;
            return Step{"STARTTLS\r\n"};
        }
        if (settings_.tls == TlsWant::kRequired)
            return fail_session(VerdictKind::kDeferred, "4.7.4",
                                "TLS is required, but was not offered by host " + settings_.peer, false);
    }
    return begin_auth();
}

Step ClientEngine::begin_auth() {
    const EhloKeyword* auth = find_ehlo_keyword(keywords_, "AUTH");
    if (!settings_.sasl || authenticated_ || !auth) return begin_envelope();
    std::string mechs;
    for (const auto& m : auth->params) mechs += (mechs.empty() ? "" : " ") + m;
    auto start = settings_.sasl->start(mechs, tls_active_);
    if (!start)
        return fail_session(VerdictKind::kDeferred, "4.7.0",
                            "SASL authentication failed; cannot authenticate to server " + settings_.peer + ": " +
                                start.error().message,
                            true);
    state_ = State::kAuth;
    std::string cmd = "AUTH " + start->mechanism;
    if (start->initial) cmd += " " + (start->initial->empty() ? std::string("=") : util::base64_encode(*start->initial));
    return Step{cmd + "\r\n"};
}

Step ClientEngine::auth_reply(const Reply& reply) {
    if (reply.code == 235) {
        authenticated_ = true;
        return begin_envelope();
    }
    if (reply.code == 334) {
        std::string challenge;
        std::string text = reply.lines.empty() ? std::string() : reply.lines.front();
        if (!reply.dsn.empty()) text = reply.dsn + (text.empty() ? "" : " " + text);
        auto decoded = util::base64_decode(text);
        if (!decoded)
            return fail_session(VerdictKind::kDeferred, "4.7.0",
                                "SASL authentication failed; server " + settings_.peer +
                                    " sent a malformed challenge: " + reply_text(reply),
                                true);
        auto response = settings_.sasl->step(*decoded);
        if (!response) {
            state_ = State::kQuit;
            failure_ = SessionFailure{VerdictKind::kDeferred, "4.7.0",
                                      "SASL authentication failed; cannot authenticate to server " + settings_.peer +
                                          ": " + response.error().message,
                                      true};
            // Cancel the exchange, then QUIT.
            Step s;
            s.send = "*\r\nQUIT\r\n";
            s.finished = true;
            return s;
        }
        return Step{util::base64_encode(*response) + "\r\n"};
    }
    if (!settings_.sasl_soft_bounce && reply.code >= 500)
        return fail_session(VerdictKind::kBounced, reply_dsn(reply),
                            "SASL authentication failed; server " + settings_.peer + " said: " + reply_text(reply),
                            false);
    std::string dsn = reply.temporary() && !reply.dsn.empty() ? reply.dsn : "4.7.0";
    return fail_session(VerdictKind::kDeferred, dsn,
                        "SASL authentication failed; server " + settings_.peer + " said: " + reply_text(reply), true);
}

std::string ClientEngine::mail_command() const {
    std::string cmd = "MAIL FROM:<" + message_.sender + ">";
    if (const auto* size = find_ehlo_keyword(keywords_, "SIZE")) {
        (void)size;
        cmd += " SIZE=" + std::to_string(message_.size);
    }
    if (find_ehlo_keyword(keywords_, "8BITMIME")) {
        if (message_.encoding == "8bit") cmd += " BODY=8BITMIME";
        else if (message_.encoding == "7bit") cmd += " BODY=7BIT";
    }
    if (find_ehlo_keyword(keywords_, "DSN")) {
        if (!message_.dsn_ret.empty()) cmd += " RET=" + message_.dsn_ret;
        if (!message_.dsn_envid.empty()) cmd += " ENVID=" + xtext_encode(message_.dsn_envid);
    }
    if (message_.smtputf8 && find_ehlo_keyword(keywords_, "SMTPUTF8")) cmd += " SMTPUTF8";
    return cmd + "\r\n";
}

std::string ClientEngine::rcpt_command(const ClientRecipient& r) const {
    std::string cmd = "RCPT TO:<" + r.address + ">";
    if (find_ehlo_keyword(keywords_, "DSN")) {
        if (!r.dsn_notify.empty()) cmd += " NOTIFY=" + r.dsn_notify;
        if (!r.dsn_orcpt.empty()) {
            auto semi = r.dsn_orcpt.find(';');
            if (semi != std::string::npos)
                cmd += " ORCPT=" + r.dsn_orcpt.substr(0, semi + 1) + xtext_encode(r.dsn_orcpt.substr(semi + 1));
        }
    }
    return cmd + "\r\n";
}

Step ClientEngine::begin_envelope() {
    if (message_.smtputf8 && !find_ehlo_keyword(keywords_, "SMTPUTF8")) {
        set_all({VerdictKind::kBounced, "5.6.7",
                 "SMTPUTF8 is required, but was not offered by host " + settings_.peer},
                false);
        return quit();
    }
    if (const auto* size = find_ehlo_keyword(keywords_, "SIZE"); size && !size->params.empty()) {
        std::uint64_t limit = 0;
        bool numeric = !size->params[0].empty();
        for (char c : size->params[0]) {
            if (c < '0' || c > '9') numeric = false;
            else if (limit < (UINT64_MAX - 9) / 10) limit = limit * 10 + static_cast<unsigned>(c - '0');
        }
        if (numeric && limit > 0 && message_.size > limit) {
            set_all({VerdictKind::kBounced, "5.3.4",
                     "message size " + std::to_string(message_.size) + " exceeds size limit " +
                         std::to_string(limit) + " of server " + settings_.peer},
                    false);
            return quit();
        }
    }
    state_ = State::kEnvelope;
    pipelining_ = settings_.pipelining && find_ehlo_keyword(keywords_, "PIPELINING") != nullptr;
    Step s;
    s.send = mail_command();
    pending_.push_back({Cmd::kMail});
    if (pipelining_) {
        for (std::size_t i = 0; i < message_.recipients.size(); ++i) {
            s.send += rcpt_command(message_.recipients[i]);
            pending_.push_back({Cmd::kRcpt, i});
        }
        s.send += "DATA\r\n";
        pending_.push_back({Cmd::kData});
    }
    return s;
}

Step ClientEngine::envelope_reply(const Reply& reply) {
    if (pending_.empty()) return quit();  // a reply nobody asked for
    Pending p = pending_.front();
    pending_.erase(pending_.begin());
    switch (p.cmd) {
        case Cmd::kMail:
            if (!positive(reply)) {
                mail_failed_ = true;
                set_all(from_reply(reply, "MAIL FROM"), false);
                if (!pipelining_) return quit();
            } else if (!pipelining_) {
                if (message_.recipients.empty()) return quit();
                pending_.push_back({Cmd::kRcpt, 0});
                return Step{rcpt_command(message_.recipients[0])};
            }
            return Step{};
        case Cmd::kRcpt:
            if (!mail_failed_) {
                if (positive(reply)) accepted_.push_back(p.rcpt);
                else verdicts_[p.rcpt] = from_reply(reply, "RCPT TO");
            }
            if (!pipelining_) {
                if (p.rcpt + 1 < message_.recipients.size()) {
                    pending_.push_back({Cmd::kRcpt, p.rcpt + 1});
                    return Step{rcpt_command(message_.recipients[p.rcpt + 1])};
                }
                if (accepted_.empty()) return quit();
                pending_.push_back({Cmd::kData});
                return Step{"DATA\r\n"};
            }
            return Step{};
        case Cmd::kData:
            if (mail_failed_ || accepted_.empty()) {
                if (reply.code != 354) return quit();
                // The server took DATA without recipients: end it empty.
                state_ = State::kDot;
                body_sent_ = true;
                return Step{".\r\n"};
            }
            if (reply.code == 354) {
                state_ = State::kDot;
                Step s;
                s.send_body = true;
                return s;
            }
            set_all(from_reply(reply, "DATA"), true);
            return quit();
    }
    return quit();
}

Step ClientEngine::dot_reply(const Reply& reply) {
    if (accepted_.empty() || mail_failed_) return quit();
    if (settings_.protocol == ClientProtocol::kLmtp) {
        if (lmtp_next_ < accepted_.size()) verdicts_[accepted_[lmtp_next_++]] = from_reply(reply, "end of DATA");
        if (lmtp_next_ < accepted_.size()) return Step{};
        return settings_.keep_open ? idle() : quit();
    }
    set_all(from_reply(reply, "end of DATA"), true);
    return settings_.keep_open ? idle() : quit();
}

Step ClientEngine::idle() {
    state_ = State::kQuit;
    Step s;
    s.finished = true;
    s.reusable = true;
    return s;
}

Step ClientEngine::resume(std::vector<EhloKeyword> keywords, bool tls_active, bool authenticated) {
    keywords_ = std::move(keywords);
    esmtp_ = true;
    tls_active_ = tls_active;
    authenticated_ = authenticated;
    return begin_envelope();
}

void ClientEngine::on_lost(bool timed_out) {
    if (state_ == State::kQuit || state_ == State::kClosed) {
        state_ = State::kClosed;
        return;
    }
    std::string reason = timed_out ? "conversation with " + settings_.peer + " timed out while " + stage()
                                   : "lost connection with " + settings_.peer + " while " + stage();
    bool before_envelope = state_ == State::kGreeting || state_ == State::kEhlo || state_ == State::kHelo ||
                           state_ == State::kStartTls;
    state_ = State::kClosed;
    if (before_envelope) {
        failure_ = SessionFailure{VerdictKind::kDeferred, "4.4.2", reason, true};
        return;
    }
    set_all({VerdictKind::kDeferred, "4.4.2", reason}, false);
}

}  // namespace mailroom::smtp
