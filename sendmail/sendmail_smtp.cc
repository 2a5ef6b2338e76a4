// sendmail_smtp.cc - see sendmail_smtp.h.
#include "sendmail/sendmail_smtp.h"

#include <sys/time.h>

#include "lib/util/strings.h"
#include "sendmail/sendmail_message.h"
#include "lib/smtp/smtp_reply.h"

namespace mailroom::sendmail {

using queue::RecordType;
using smtp::LineEnd;
using smtp::Reply;
using smtp::Verb;
namespace replies = smtp::replies;

SmtpDialogue::SmtpDialogue(SmtpOptions options, MessageSubmitter* submitter)
    : opt_(std::move(options)), submitter_(submitter) {}

SmtpDialogue::~SmtpDialogue() {
    if (in_data_ || !queue_id_.empty()) submitter_->abort();
}

std::string SmtpDialogue::greeting() const { return replies::greeting(opt_.banner).format(); }

void SmtpDialogue::reply(const Reply& r, std::string* out) { *out += r.format(); }

void SmtpDialogue::error(const Reply& r, std::string* out) {
    *out += r.format();
    if (++errors_ >= opt_.hard_error_limit) {
        *out += replies::too_many_errors(opt_.myhostname).format();
        done_ = true;
    }
}

void SmtpDialogue::reset() {
    if (!queue_id_.empty()) submitter_->abort();
    queue_id_.clear();
    have_sender_ = false;
    sender_.clear();
    mail_ = smtp::MailParams{};
    rcpts_.clear();
    in_data_ = false;
    decoder_ = smtp::DataDecoder();
    message_status_ = ok_status();
    size_ = 0;
    too_big_ = false;
}

std::string SmtpDialogue::feed(std::string_view bytes) {
    if (done_) return {};
    input_.append(bytes);
    return process();
}

void SmtpDialogue::end_of_input() {
    // The client went away: whatever was in progress is not queued.
    reset();
    done_ = true;
}

std::string SmtpDialogue::process() {
    std::string out;
    smtp::LinePiece piece;
    std::size_t used = 0;
    while (!done_ && smtp::take_line(std::string_view(input_).substr(used), opt_.parse.line_length_limit, &piece)) {
        used += piece.consumed;
        if (in_data_) {
            data_piece(piece, &out);
            continue;
        }
        if (skipping_long_line_) {
            if (piece.end != LineEnd::kNone) skipping_long_line_ = false;
            continue;
        }
        if (piece.end == LineEnd::kNone) {
            // Longer than line_length_limit: refuse and drop the rest of the line.
            skipping_long_line_ = true;
            error(replies::line_too_long(), &out);
            continue;
        }
        command(piece.text, &out);
    }
    input_.erase(0, used);
    return out;
}

Status SmtpDialogue::begin_message() {
    auto id = submitter_->open();
    if (!id) return id.error();
    queue_id_ = *id;
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    auto w = [&](RecordType type, std::string_view payload) { return submitter_->write(type, payload); };
    if (auto st = w(RecordType::kArrivalTime, util::format("%lld.%06d", static_cast<long long>(tv.tv_sec),
                                                          static_cast<int>(tv.tv_usec)));
        !st)
        return st;
    if (auto st = w(RecordType::kSender, sender_); !st) return st;
    if (mail_.ret != smtp::DsnRet::kDefault)
        if (auto st = w(RecordType::kDsnRet, mail_.ret == smtp::DsnRet::kFull ? "FULL" : "HDRS"); !st) return st;
    if (!mail_.envid.empty() && mail_.envid.size() <= queue::kMaxEnvidLength)
        if (auto st = w(RecordType::kDsnEnvid, mail_.envid); !st) return st;
    std::vector<std::string> addresses;
    for (const auto& r : rcpts_) {
        if (!r.params.orcpt_type.empty())
            if (auto st = w(RecordType::kDsnOrcpt, r.params.orcpt_type + ";" + r.params.orcpt_address); !st)
                return st;
        if (r.params.notify != smtp::kNotifyNone)
            if (auto st = w(RecordType::kDsnNotify, smtp::dsn_notify_text(r.params.notify)); !st) return st;
        if (auto st = w(RecordType::kRecipient, std::string(1, queue::kRcptPending) + r.address); !st) return st;
        addresses.push_back(r.address);
    }
    if (auto st = w(RecordType::kContentStart, ""); !st) return st;
    // The local submission header (as for sendmail without -bs), then the
    // one smtpd writes for this stand-alone session.
    std::vector<std::string> headers =
        received_header(opt_.myhostname, opt_.mail_name, opt_.uid, queue_id_, tv.tv_sec);
    smtp::ReceivedInfo info;
    info.helo_name = helo_;
    info.client_name = "localhost";
    info.client_addr = "127.0.0.1";
    info.myhostname = opt_.myhostname;
    info.mail_name = opt_.mail_name;
    info.protocol = protocol_;
    info.queue_id = queue_id_;
    info.recipients = addresses;
    info.when = tv.tv_sec;
    for (auto& line : smtp::format_received(info)) headers.push_back(std::move(line));
    for (const auto& line : headers)
        if (auto st = w(RecordType::kNormal, line); !st) return st;
    return ok_status();
}

Status SmtpDialogue::content(std::string_view text, bool line_end) {
    size_ += text.size() + (line_end ? 1 : 0);
    if (opt_.message_size_limit > 0 && size_ > opt_.message_size_limit) too_big_ = true;
    if (too_big_ || !message_status_) return message_status_;
    return submitter_->write(line_end ? RecordType::kNormal : RecordType::kContinued, text);
}

void SmtpDialogue::data_piece(const smtp::LinePiece& piece, std::string* out) {
    auto o = decoder_.feed(piece);
    if (o.kind == smtp::DataDecoder::Kind::kContent) {
        if (message_status_) message_status_ = content(o.text, !o.continued);
        return;
    }
    // The end of the message.
    in_data_ = false;
    if (too_big_) {
        reset();
        reply(replies::size_exceeded(), out);
        return;
    }
    Status st = message_status_;
    if (st) st = submitter_->write(RecordType::kExtractedStart, "");
    if (st) st = submitter_->write(RecordType::kEnd, "");
    if (st) st = submitter_->commit();
    std::string id = queue_id_;
    queue_id_.clear();  // committed or failed: nothing left to abort
    if (!st) {
        submitter_->abort();
        reset();
        reply(replies::queue_write_error(), out);
        return;
    }
    reset();
    reply(replies::queued(id), out);
}

void SmtpDialogue::command(std::string_view line, std::string* out) {
    auto parsed = smtp::parse_command(line, opt_.parse);
    if (!parsed.ok()) {
        error(smtp::reply_from_text(parsed.error().reply()), out);
        return;
    }
    const smtp::Command& cmd = parsed.command();
    switch (cmd.verb) {
        case Verb::kHelo:
        case Verb::kEhlo: {
            reset();
            helo_ = cmd.argument;
            if (cmd.verb == Verb::kHelo) {
                protocol_ = "SMTP";
                reply(replies::helo(opt_.myhostname), out);
                return;
            }
            protocol_ = "ESMTP";
            smtp::EhloOptions e;
            e.myhostname = opt_.myhostname;
            e.message_size_limit = opt_.message_size_limit;
            e.vrfy = !opt_.disable_vrfy_command;
            e.etrn = false;
            e.chunking = false;
            reply(replies::ehlo(e), out);
            return;
        }
        case Verb::kMail:
            if (have_sender_) return error(replies::nested_mail(), out);
            if (opt_.message_size_limit > 0 && cmd.mail.size && *cmd.mail.size > opt_.message_size_limit)
                return error(replies::size_exceeded(), out);
            have_sender_ = true;
            sender_ = cmd.address;
            mail_ = cmd.mail;
            reply(replies::mail_ok(), out);
            return;
        case Verb::kRcpt:
            if (!have_sender_) return error(replies::need_mail(), out);
            if (rcpts_.size() >= opt_.recipient_limit) return error(replies::too_many_recipients(), out);
            rcpts_.push_back({cmd.address, cmd.rcpt});
            reply(replies::rcpt_ok(), out);
            return;
        case Verb::kData:
            if (rcpts_.empty())
                return error(have_sender_ ? replies::no_valid_recipients() : replies::need_rcpt(), out);
            if (auto st = begin_message(); !st) {
                reset();
                return error(replies::queue_write_error(), out);
            }
            in_data_ = true;
            decoder_ = smtp::DataDecoder();
            reply(replies::data_go_ahead(), out);
            return;
        case Verb::kRset:
            reset();
            reply(replies::ok(), out);
            return;
        case Verb::kNoop:
            reply(replies::ok(), out);
            return;
        case Verb::kVrfy:
            if (opt_.disable_vrfy_command) return error(replies::vrfy_disabled(), out);
            reply(replies::vrfy_ok(cmd.argument), out);
            return;
        case Verb::kQuit:
            reset();
            reply(replies::bye(), out);
            done_ = true;
            return;
        default:
            error(replies::not_recognized(), out);
            return;
    }
}

}  // namespace mailroom::sendmail
