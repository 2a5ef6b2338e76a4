// smtpd_transport.cc - the session on its event::Channel: channel events, input, replies, STARTTLS.
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

// The channel's handlers. Input goes to pump(); the end of the output
// starts TLS after "220 Ready to start TLS" or ends a closing session.
void Session::setup_channel() {
    channel_->on_input([this] { pump(); });
    channel_->on_drained([this] { on_drained(); });
    channel_->on_event([this](event::Channel::Event ev, const std::string& reason) { on_channel_event(ev, reason); });
}

void Session::on_drained() {
    if (starttls_pending_ && channel_->output_size() == 0) {
        starttls_pending_ = false;
        start_tls();
        return;
    }
    if (state_ == State::kClosing && !sleeping_ && channel_->output_size() == 0) finish_session();
}

void Session::start_tls() {
    // RFC 3207 and CVE-2011-0411: whatever the client sent after STARTTLS
    // (in the same packet, or read before now) is plaintext that must never
    // count as a command inside TLS. It is thrown away here (the channel
    // drops its buffered input too); anything still in the socket goes to
    // OpenSSL as handshake data and fails it.
    input_.clear();
    skipping_long_line_ = false;
    command_lines_.reset();
    tls_handshake_ = true;
    busy_ = true;
    SSL* ssl = server_.tls_context()->new_ssl();
    if (!ssl || !channel_->start_tls(ssl, true)) {
        log::warn("cannot start TLS for %s: %s", namaddr().c_str(),
                  ssl ? "cannot create the TLS buffer event" : "cannot create the TLS session");
        lost_connection();
        finish_session();
        return;
    }
    channel_->resume_reading();
}

void Session::on_tls_established() {
    tls_handshake_ = false;
    busy_ = false;
    s_.tls_active = true;
    tls_info_ = tls::session_info(channel_->ssl());
    if (cfg_.tls.loglevel >= 1) log::info("%s", tls::established_log(namaddr(), tls_info_).c_str());
    if (!greeted_) {
        greet();
    } else {
        // RFC 3207 4.2: forget everything learned from the client before.
        reset_transaction();
        s_.helo_name.reset();
        s_.protocol = "SMTP";
        ehlo_ = false;
        sasl_end();
        s_.sasl_username.clear();
        s_.sasl_method.clear();
    }
    pump();
}

bool Session::offer_starttls() const {
    return cfg_.tls.enabled() && !cfg_.tls.wrappermode && !s_.tls_active && server_.tls_context() != nullptr;
}

void Session::on_channel_event(event::Channel::Event ev, const std::string& reason) {
    if (finished_) return;
    switch (ev) {
        case event::Channel::Event::kTlsReady:
            on_tls_established();
            return;
        case event::Channel::Event::kTlsFailed:
            log::info("SSL_accept error from %s: %s", namaddr().c_str(), reason.c_str());
            lost_connection();
            finish_session();
            return;
        case event::Channel::Event::kTimeout:
            if (state_ == State::kClosing) {
                finish_session();
                return;
            }
            log::info("timeout after %s from %s", last_cmd_.c_str(), namaddr().c_str());
            abort_message();
            send_raw(replies::timeout(cfg_.myhostname).format());
            close_after_reply();
            return;
        case event::Channel::Event::kEof:
            if (state_ != State::kClosing) {
                // Commands that arrived before the end of input still count
                // ("QUIT" and a close in one go); pump() ends the session after them.
                eof_ = true;
                channel_->pause_reading();
                pump();
                return;
            }
            finish_session();
            return;
        case event::Channel::Event::kError:
            if (state_ != State::kClosing) lost_connection();
            finish_session();
            return;
    }
}

void Session::lost_connection() {
    log::info("lost connection after %s from %s", last_cmd_.c_str(), namaddr().c_str());
    abort_message();
}

void Session::pump() {
    if (in_pump_ || finished_) return;
    in_pump_ = true;
    while (!finished_ && state_ != State::kClosing && !busy_ && !sleeping_ && !sink_full_) {
        if (input_.size() < kMaxReadAhead) input_ += channel_->read(kMaxReadAhead - input_.size());
        if (!process_one()) break;
    }
    in_pump_ = false;
    if (eof_ && !finished_ && !busy_ && !sleeping_ && !sink_full_ && state_ != State::kClosing) {
        lost_connection();
        finish_session();
    }
}

bool Session::process_one() {
    if (state_ == State::kBdat) {
        if (input_.empty()) return false;
        handle_bdat_bytes();
        return true;
    }
    size_t limit = cfg_.parse.line_length_limit;
    if (state_ == State::kAuth) limit = server_.config().sasl.response_limit + 2;
    LinePiece piece;
    if (!take_line(input_, limit, &piece)) return false;
    // The rest of an over-long SASL response is skipped even though the
    // failed exchange has already put the session back in command state.
    if (skipping_long_line_) {
        if (piece.end != LineEnd::kNone) skipping_long_line_ = false;
        input_.erase(0, piece.consumed);
        return true;
    }
    if (state_ == State::kAuth) {
        std::string line(piece.text);
        bool too_long = piece.end == LineEnd::kNone;
        if (too_long) skipping_long_line_ = true;
        input_.erase(0, piece.consumed);
        sasl_response(line, too_long);
        return true;
    }
    if (state_ == State::kData) {
        handle_data_piece(piece);
        input_.erase(0, piece.consumed);
        return true;
    }
    // Command state. An over-long line is cut to line_length_limit bytes,
    // the rest of it skipped, and what was kept runs as the command.
    std::string line;
    bool complete = command_lines_.feed(piece, &line);
    input_.erase(0, piece.consumed);
    if (!complete) return true;
    if (piece.end == LineEnd::kBareLf && reject_bare_lf_) {
        log::info("disconnect: bare <LF> received from %s after %s", namaddr().c_str(), last_cmd_.c_str());
        send_raw(make_reply(521, "5.5.2", cfg_.myhostname + " Error: bare <LF> received").format());
        close_after_reply();
        return true;
    }
    bool more = !input_.empty() || channel_->input_size() > 0;
    handle_command(line, more);
    return true;
}

void Session::reply(const Reply& r) { send_raw(r.format()); }

void Session::reply_error(const Reply& r) {
    // As Postfix: the count goes up after the reply, so the delay of
    // smtpd_error_sleep_time starts with the reply after the soft limit.
    reply(r);
    ++error_count_;
}

void Session::send_raw(const std::string& text) {
    if (!channel_ || finished_) return;
    if (sleeping_) {
        delayed_ += text;
        return;
    }
    // Postfix slows down a client that keeps making errors.
    if (error_count_ >= cfg_.smtpd_soft_error_limit && cfg_.smtpd_error_sleep_time_ms > 0 &&
        state_ != State::kClosing) {
        sleeping_ = true;
        delayed_ = text;
        sleep_timer_.start(std::chrono::milliseconds(cfg_.smtpd_error_sleep_time_ms));
        return;
    }
    channel_->write(text);
}

void Session::close_after_reply() {
    state_ = State::kClosing;
    if (!channel_) return;
    channel_->pause_reading();
    if (!sleeping_ && channel_->output_size() == 0) finish_session();
}


void Session::cmd_starttls() {
    if (s_.tls_active) {
        count(Verb::kStartTls, false);
        reply_error(replies::tls_already_active());
        return;
    }
    if (!cfg_.tls.enabled() || cfg_.tls.wrappermode) {
        count(Verb::kStartTls, false);
        reply_error(replies::not_implemented());
        return;
    }
    if (!server_.tls_context()) {
        count(Verb::kStartTls, false);
        reply_error(replies::tls_unavailable());
        return;
    }
    count(Verb::kStartTls, true);
    // Straight to the socket (never held back by smtpd_error_sleep_time):
    // the 220 must leave in plaintext before the handshake starts.
    channel_->write(replies::starttls_ready().format());
    channel_->pause_reading();
    starttls_pending_ = true;
    busy_ = true;
}

}  // namespace mailroom::smtpd
