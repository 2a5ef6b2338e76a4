// smtpd_message.cc - the mail transaction toward cleanup: DATA and BDAT; see smtpd_session.h.
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

void Session::start_sink(Status* out) {
    Status& sink_status_ = *out;
    s_.queue_id = sink_->queue_id();
    std::string sasl;
    if (!s_.sasl_username.empty())
        sasl = ", sasl_method=" + s_.sasl_method + ", sasl_username=" + log::log_printable(s_.sasl_username);
    if (!sasl_sender_.empty()) sasl += ", sasl_sender=" + log::log_printable(sasl_sender_);
    log::info("%s: client=%s%s", s_.queue_id.c_str(), namaddr().c_str(), sasl.c_str());
    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    arrival_ = static_cast<std::time_t>(us / 1000000);
    char t[64];
    std::snprintf(t, sizeof(t), "%lld.%06lld", static_cast<long long>(us / 1000000),
                  static_cast<long long>(us % 1000000));
    sink_status_ = sink_->send(RecordType::kArrivalTime, t);
    auto attr = [&](std::string_view name, const std::string& value) {
        if (sink_status_ && !value.empty()) {
            std::string a = std::string(name) + "=" + value;
            if (a.size() > queue::kMaxAttributeLength) a.resize(queue::kMaxAttributeLength);
            sink_status_ = sink_->send(RecordType::kAttribute, a);
        }
    };
    attr(queue::kAttrClientName, s_.client_name);
    attr(queue::kAttrClientAddress, s_.client_addr);
    attr(queue::kAttrHeloName, s_.helo_name.value_or(""));
    attr(queue::kAttrProtocolName, s_.protocol);
    attr(queue::kAttrSaslUsername, s_.sasl_username);
    // BODY=8BITMIME / BODY=7BIT: the smtp client tells the next server.
    if (mail_params_.body == smtp::BodyType::k8BitMime) attr(queue::kAttrEncoding, std::string(queue::kEncoding8Bit));
    if (mail_params_.body == smtp::BodyType::k7Bit) attr(queue::kAttrEncoding, std::string(queue::kEncoding7Bit));
    attr(queue::kAttrFilter, cfg_.content_filter);  // an access FILTER or a header FILTER overrides it
    if (sink_status_) sink_status_ = sink_->send(RecordType::kSender, s_.sender.value_or(""));
    if (sink_status_ && mail_params_.ret != DsnRet::kDefault)
        sink_status_ = sink_->send(RecordType::kDsnRet, mail_params_.ret == DsnRet::kFull ? "FULL" : "HDRS");
    if (sink_status_ && !mail_params_.envid.empty() && mail_params_.envid.size() <= queue::kMaxEnvidLength)
        sink_status_ = sink_->send(RecordType::kDsnEnvid, mail_params_.envid);
}

void Session::abort_message() {
    // Closing the cleanup connection without the end marker makes cleanup
    // remove its file.
    sink_.reset();
    clamav_.reset();
    proxy_ = nullptr;
    sink_full_ = false;
}

void Session::reset_transaction() {
    abort_message();
    if (milters_) milters_->abort();
    milter_discard_ = false;
    s_.reset_transaction();
    sasl_sender_.clear();
    recipients_.clear();
    rcpt_attempts_ = 0;
    mail_params_ = MailParams{};
    message_size_ = 0;
    too_big_ = false;
    sink_status_ = ok_status();
    sent_effects_ = CheckEffects{};
    bdat_used_ = false;
    bdat_error_.reset();
    bdat_total_ = 0;
    bdat_line_start_ = true;
    bdat_partial_.clear();
    decoder_ = DataDecoder(reject_bare_lf_);
}

Status Session::start_content() {
    if (!sink_status_) return sink_status_;
    if (auto st = send_effects(); !st) return st;
    if (auto st = sink_->send(RecordType::kContentStart, ""); !st) return st;
    for (const auto& header : s_.effects.prepend) {
        if (auto st = sink_->send(RecordType::kNormal, header); !st) return st;
    }
    ReceivedInfo info;
    info.helo_name = s_.helo_name.value_or("");
    info.client_name = s_.client_name;
    info.client_addr = s_.client_addr;
    info.myhostname = cfg_.myhostname;
    info.mail_name = cfg_.mail_name;
    info.protocol = s_.protocol;
    info.queue_id = s_.queue_id;
    info.recipients = recipients_;
    info.when = arrival_;
    info.tls = s_.tls_active;
    if (s_.tls_active && cfg_.tls.received_header) {
        info.tls_clause = tls::received_clause(tls_info_);
        info.cert_clause = tls::received_cert_clause(tls_info_, cfg_.tls.ask_ccert);
    }
    info.authenticated = !s_.sasl_username.empty();
    if (cfg_.sasl.authenticated_header) info.authenticated_sender = s_.sasl_username;
    for (const auto& line : format_received(info)) {
        if (auto st = sink_->send(RecordType::kNormal, line); !st) return st;
    }
    return ok_status();
}

// Tells cleanup the access-map actions it has not been told yet: FILTER,
// REDIRECT and HOLD as attributes (the last one wins), BCC as recipients.
Status Session::send_effects() {
    const CheckEffects& e = s_.effects;
    auto attr = [&](std::string_view name, const std::string& value) {
        std::string a = log::log_printable(std::string(name) + "=" + value);
        if (a.size() > queue::kMaxAttributeLength) a.resize(queue::kMaxAttributeLength);
        return sink_->send(RecordType::kAttribute, a);
    };
    Status st = ok_status();
    if (st && !e.filter.empty() && e.filter != sent_effects_.filter) st = attr(queue::kAttrFilter, e.filter);
    if (st && !e.redirect.empty() && e.redirect != sent_effects_.redirect) st = attr(queue::kAttrRedirect, e.redirect);
    if (st && e.hold && !sent_effects_.hold) st = attr(queue::kAttrHold, e.hold_reason);
    for (std::size_t i = sent_effects_.bcc.size(); st && i < e.bcc.size(); ++i)
        st = sink_->send(RecordType::kRecipient, std::string(1, queue::kRcptPending) + e.bcc[i]);
    sent_effects_ = e;
    return st;
}

Status Session::send_content_line(std::string_view text, bool continued) {
    message_size_ += text.size() + (continued ? 0 : 1);
    if (cfg_.message_size_limit > 0 && message_size_ > cfg_.message_size_limit) too_big_ = true;
    if (too_big_ || !sink_status_) return sink_status_;
    sink_status_ = sink_->send(continued ? RecordType::kContinued : RecordType::kNormal, text);
    // Cleanup reads slower than the client sends: stop reading DATA until
    // it has caught up (the sink's on_drained resumes).
    if (sink_status_ && sink_->unsent() > kMaxUnsent) sink_full_ = true;
    return sink_status_;
}

void Session::cmd_data(const Command& cmd) {
    auto fail = [&](const Reply& r) {
        count(Verb::kData, false);
        reply_error(r);
    };
    // As Postfix: no recipient is "need RCPT" outside a transaction and "no
    // valid recipients" inside one (pipelined RCPTs may all have failed);
    // the argument is checked after that.
    if (recipients_.empty()) return fail(in_transaction() ? replies::no_valid_recipients() : replies::need_rcpt());
    if (!cmd.argument.empty()) return fail(make_reply(501, "5.5.4", "Syntax: DATA"));
    if (bdat_used_) return fail(replies::data_after_bdat());
    run_check(&Checker::check_data, [this](CheckResult r) {
        if (r.rejected()) {
            count(Verb::kData, false);
            reply_error(r.reply);
            return;
        }
        milter_stage("DATA", [this](auto done) { milters_->data(done); }, [this](std::optional<Reply> mr) {
            if (mr) {
                count(Verb::kData, false);
                reply_error(*mr);
                return;
            }
            if (auto st = start_content(); !st) {
                log::warn("%s: cleanup: %s", s_.queue_id.c_str(), st.error().message.c_str());
                sink_status_ = st;
            }
            auto go_ahead = [this] {
                decoder_ = DataDecoder(reject_bare_lf_);
                message_size_ = 0;
                state_ = State::kData;
                reply(replies::data_go_ahead());
            };
            if (proxy_ && sink_status_) return proxy_data(go_ahead);
            go_ahead();
        });
    });
}

void Session::handle_data_piece(const LinePiece& piece) {
    DataDecoder::Output out = decoder_.feed(piece);
    switch (out.kind) {
        case DataDecoder::Kind::kBareLf:
            log::info("disconnect: bare <LF> received from %s after DATA", namaddr().c_str());
            count(Verb::kData, false);
            abort_message();
            send_raw(make_reply(521, "5.5.2", cfg_.myhostname + " Error: bare <LF> received").format());
            close_after_reply();
            return;
        case DataDecoder::Kind::kContent:
            (void)send_content_line(out.text, out.continued);
            return;
        case DataDecoder::Kind::kEnd:
            state_ = State::kCommand;
            last_cmd_ = "END-OF-MESSAGE";
            end_of_message();
            return;
    }
}

void Session::end_of_message() {
    Verb verb = bdat_used_ ? Verb::kBdat : Verb::kData;
    auto done = [this, verb](const Reply& r, bool ok) {
        count(verb, ok);
        if (ok) {
            error_count_ = 0;
            junk_count_ = 0;
            reply(r);
        } else {
            reply_error(r);
        }
        reset_transaction();
    };
    if (too_big_) {
        abort_message();
        return done(replies::size_exceeded(), false);
    }
    if (!sink_status_) {
        log::warn("%s: cleanup: %s", s_.queue_id.c_str(), sink_status_.error().message.c_str());
        return done(replies::queue_write_error(), false);
    }
    run_check(&Checker::check_end_of_data, [this, done](CheckResult r) {
        if (r.rejected()) return done(r.reply, false);
        std::string id = s_.queue_id;
        if (s_.effects.discard || milter_discard_) {
            // DISCARD: claim success, keep nothing.
            abort_message();
            return done(replies::queued(id), true);
        }
        if (clamav_) return clamav_verdict(done);
        finish_message(done);
    });
}

// Ends the record stream and waits, on the loop, for cleanup to write,
// fsync and rename the queue file.
void Session::finish_message(std::function<void(const Reply&, bool)> done) {
    if (proxy_) return proxy_finish(done);
    std::string id = s_.queue_id;
    Status st = sink_->send(RecordType::kExtractedStart, "");
    if (st) st = send_effects();  // actions of the end-of-data restrictions
    if (st) st = sink_->send(RecordType::kEnd, "");
    if (!st) {
        log::warn("%s: cleanup: %s", id.c_str(), st.error().message.c_str());
        return done(replies::queue_write_error(), false);
    }
    // Kept until cleanup answers; freed from the loop after its callback.
    finishing_sink_ = std::move(sink_);
    sink_.reset();
    sink_full_ = false;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    finishing_sink_->finish([this, alive, id, done](Result<submit::CleanupResult> result) {
        if (alive.expired() || finished_) return;
        std::optional<Reply> filter_reply = finishing_sink_->final_reply();
        server_.loop().defer([sink = std::move(finishing_sink_)] {});
        finishing_sink_.reset();
        busy_ = false;
        if (filter_reply) {
            done(*filter_reply, false);  // a milter's reject at end of message (logged there)
        } else if (!result) {
            log::warn("%s: cleanup: %s", id.c_str(), result.error().message.c_str());
            done(replies::queue_write_error(), false);
        } else {
            switch (result->status) {
                case submit::CleanupStatus::kOk: done(replies::queued(id), true); break;
                case submit::CleanupStatus::kSize: done(replies::size_exceeded(), false); break;
                case submit::CleanupStatus::kRcpt: done(replies::no_valid_recipients(), false); break;
                case submit::CleanupStatus::kContent:
                    // header/body checks REJECT: the rule's text, as Postfix replies.
                    done(make_reply(550, result->dsn.empty() ? "5.7.1" : result->dsn,
                                    result->reason.empty() ? "message content rejected" : result->reason),
                         false);
                    break;
                case submit::CleanupStatus::kDefer:
                    // The reason names internal tables: log it, never show it to the client.
                    log::warn("%s: cleanup: temporary failure: %s", id.c_str(), result->reason.c_str());
                    done(make_reply(451, "4.3.0", "Error: temporary failure"), false);
                    break;
                default: done(replies::queue_write_error(), false); break;
            }
        }
        check_error_limit();
        pump();
    });
}

void Session::cmd_bdat(const Command& cmd) {
    bdat_remaining_ = cmd.bdat_size;
    bdat_chunk_size_ = cmd.bdat_size;
    bdat_last_ = cmd.bdat_last;
    bdat_discard_ = false;
    Reply failure;
    bool failed = false;
    if (recipients_.empty()) {
        failure = in_transaction() ? replies::no_valid_recipients() : replies::need_rcpt();
        failed = true;
    } else if (bdat_error_) {
        failure = *bdat_error_;
        failed = true;
    } else if (cmd.bdat_size == 0 && !cmd.bdat_last) {
        failure = make_reply(551, "5.7.1", "Null BDAT request");
        failed = true;
    } else if (cfg_.message_size_limit > 0 && bdat_total_ + cmd.bdat_size > cfg_.message_size_limit) {
        // The rest of this message is read and refused, chunk by chunk.
        abort_message();
        bdat_used_ = true;
        bdat_error_ = replies::chunk_too_big();
        failure = *bdat_error_;
        failed = true;
    }
    if (!failed) bdat_total_ += cmd.bdat_size;
    if (failed) {
        // The chunk is read and thrown away; the error goes out after it.
        bdat_discard_ = true;
        count(Verb::kBdat, false);
        pending_bdat_error_ = failure;
    } else if (!bdat_used_) {
        bdat_used_ = true;
        if (milters_) {
            // The milters' DATA event first; the chunk waits in the input.
            milter_stage("DATA", [this](auto done) { milters_->data(done); }, [this](std::optional<Reply> mr) {
                if (mr) {
                    abort_message();
                    bdat_error_ = *mr;  // this chunk and every later one until LAST
                    bdat_discard_ = true;
                    count(Verb::kBdat, false);
                    pending_bdat_error_ = *mr;
                } else if (auto st = start_content(); !st) {
                    sink_status_ = st;
                }
                state_ = State::kBdat;
                if (bdat_remaining_ == 0) handle_bdat_bytes();
            });
            return;
        }
        if (auto st = start_content(); !st) sink_status_ = st;
    }
    state_ = State::kBdat;
    if (bdat_remaining_ == 0) handle_bdat_bytes();
}

void Session::handle_bdat_bytes() {
    size_t n = static_cast<size_t>(std::min<uint64_t>(bdat_remaining_, input_.size()));
    if (!bdat_discard_) {
        // Content lines: split at LF, dropping the CR before it; no dot rules.
        std::string_view chunk(input_.data(), n);
        size_t limit = cfg_.parse.line_length_limit;
        while (!chunk.empty()) {
            size_t lf = chunk.find('\n');
            std::string_view part = lf == std::string_view::npos ? chunk : chunk.substr(0, lf);
            bdat_partial_.append(part);
            if (lf == std::string_view::npos) {
                chunk = {};
            } else {
                chunk.remove_prefix(lf + 1);
                if (!bdat_partial_.empty() && bdat_partial_.back() == '\r') bdat_partial_.pop_back();
                (void)send_content_line(bdat_partial_, false);
                bdat_partial_.clear();
            }
            while (bdat_partial_.size() > limit) {
                size_t cut = limit;
                if (bdat_partial_[cut - 1] == '\r') --cut;
                (void)send_content_line(std::string_view(bdat_partial_).substr(0, cut), true);
                bdat_partial_.erase(0, cut);
            }
        }
    }
    input_.erase(0, n);
    bdat_remaining_ -= n;
    if (bdat_remaining_ > 0) return;
    state_ = State::kCommand;
    if (bdat_discard_) {
        bdat_discard_ = false;
        if (bdat_used_ && bdat_last_) reset_transaction();
        reply_error(pending_bdat_error_);
        return;
    }
    if (too_big_ && !bdat_last_) {
        // Postfix answers at once and ignores the rest of the message.
        count(Verb::kBdat, false);
        abort_message();
        bdat_error_ = replies::size_exceeded();
        reply_error(*bdat_error_);
        return;
    }
    if (!bdat_last_) {
        count(Verb::kBdat, true);
        reply(replies::bdat_ok(bdat_chunk_size_));
        return;
    }
    if (!bdat_partial_.empty()) {
        (void)send_content_line(bdat_partial_, false);
        bdat_partial_.clear();
    }
    last_cmd_ = "END-OF-MESSAGE";
    end_of_message();
}

}  // namespace mailroom::smtpd
