// cleanup_message.cc - see cleanup_message.h.
#include "cleanup/cleanup_message.h"

#include "lib/log/log.h"
#include "lib/queue/queue_dirs.h"
#include "lib/queue/record.h"
#include "lib/submit/address_list.h"
#include "lib/util/strings.h"

namespace mailroom::cleanup {

using queue::RecordType;
using submit::CleanupStatus;

Result<std::unique_ptr<CleanupMessage>> CleanupMessage::start(const CleanupParams& params) {
    auto writer = queue::QueueWriter::create(params.layout);
    if (!writer) return writer.error();
    return std::make_unique<CleanupMessage>(params, std::move(*writer));
}

void CleanupMessage::fail(CleanupStatus status, std::string why) {
    if (status_ != CleanupStatus::kOk) return;
    status_ = status;
    reason_ = std::move(why);
    writer_->abort();
}

void CleanupMessage::write(RecordType type, std::string_view payload) {
    if (failed()) return;
    if (auto st = feeder_.feed(type, payload); !st) {
        log::warn("%s: %s", queue_id().c_str(), st.error().message.c_str());
        fail(CleanupStatus::kWrite, st.error().message);
    }
}

void CleanupMessage::count(std::size_t bytes) {
    size_ += bytes;
    if (params_.message_size_limit > 0 && size_ > static_cast<std::uint64_t>(params_.message_size_limit))
        fail(CleanupStatus::kSize, submit::cleanup_status_text(CleanupStatus::kSize).text);
}

void CleanupMessage::feed(RecordType type, std::string_view payload) {
    if (complete_) {
        fail(CleanupStatus::kBad, "record after the end marker");
        return;
    }
    if (auto st = checker_.check(type, payload, offset_); !st) fail(CleanupStatus::kBad, st.error().message);
    offset_ += queue::encoded_record_length(payload.size());
    if (type == RecordType::kEnd) {
        // The last FILTER and REDIRECT, whoever asked for them, end the extracted segment.
        if (!failed() && !redirect_.empty())
            write(RecordType::kAttribute, std::string(queue::kAttrRedirect) + "=" + redirect_);
        if (!failed() && !filter_.empty())
            write(RecordType::kAttribute, std::string(queue::kAttrFilter) + "=" + filter_);
        complete_ = true;
        return;
    }
    if (failed()) return;
    switch (type) {
        case RecordType::kArrivalTime: {
            std::int64_t s = 0;
            std::int32_t u = 0;
            if (submit::parse_arrival_time(payload, &s, &u)) arrival_ = static_cast<std::time_t>(s);
            write(type, payload);
            return;
        }
        case RecordType::kSender: {
            sender_ = submit::qualify_address(payload, params_.myorigin);
            auto r = rewrite_address(sender_, kEnvelopeSender, params_.rewrite);
            if (!r) {
                log::warn("%s: %s", queue_id().c_str(), r.error().message.c_str());
                fail(CleanupStatus::kDefer, r.error().message);
                return;
            }
            sender_ = std::move(*r);
            write(type, sender_);
            return;
        }
        case RecordType::kAttribute: {
            std::size_t eq = payload.find('=');
            if (eq != std::string_view::npos) {
                std::string_view name = payload.substr(0, eq);
                std::string value(payload.substr(eq + 1));
                if (name == queue::kAttrClientName) client_name_ = value;
                if (name == queue::kAttrClientAddress) client_addr_ = value;
                // The client's FILTER (content_filter, an access FILTER),
                // REDIRECT and HOLD; a later content check may override them.
                if (name == queue::kAttrFilter) {
                    if (value.find(':') != std::string::npos) filter_ = value;
                    return;
                }
                if (name == queue::kAttrRedirect) {
                    if (!value.empty()) redirect_ = value;
                    return;
                }
                if (name == queue::kAttrHold) {
                    hold_ = true;
                    return;
                }
            }
            write(type, payload);
            return;
        }
        case RecordType::kOrigRecipient:
            // Written before each recipient the next R expands to.
            have_orig_ = true;
            pending_orig_ = std::string(payload);
            return;
        case RecordType::kRecipient:
            recipient(payload.substr(1));
            return;
        case RecordType::kNormal:
        case RecordType::kContinued:
            content_piece(payload, type == RecordType::kNormal);
            return;
        case RecordType::kExtractedStart:
            if (in_header_) end_of_header();
            write(type, payload);
            return;
        default:
            write(type, payload);
            return;
    }
}

void CleanupMessage::recipient(std::string_view addr) {
    std::string orig = have_orig_ ? pending_orig_ : std::string(addr);
    bool client_orig = have_orig_;
    have_orig_ = false;
    pending_orig_.clear();
    std::string q = submit::qualify_address(addr, params_.myorigin);
    auto rewritten = rewrite_address(q, kEnvelopeRecipient, params_.rewrite);
    if (!rewritten) {
        log::warn("%s: %s", queue_id().c_str(), rewritten.error().message.c_str());
        fail(CleanupStatus::kDefer, rewritten.error().message);
        return;
    }
    std::vector<std::string> targets{*rewritten};
    if (params_.rewrite.virtual_alias && !params_.rewrite.virtual_alias->empty()) {
        auto expanded = expand_virtual_alias(*rewritten, params_.rewrite.local, maps_lookup(params_.rewrite.virtual_alias),
                                             params_.rewrite.alias_limits, params_.myorigin);
        if (!expanded) {
            log::warn("%s: %s -- message not accepted, try again later", queue_id().c_str(),
                      expanded.error().message.c_str());
            fail(CleanupStatus::kDefer, expanded.error().message);
            return;
        }
        targets = std::move(*expanded);
    }
    if (first_rcpt_.empty()) first_rcpt_ = orig;
    for (const auto& t : targets) {
        // A recipient given twice with the same original recipient is queued once.
        if (!written_rcpts_.insert(util::lowercase(orig) + '\0' + util::lowercase(t)).second) continue;
        // The address as the client gave it is the original recipient.
        if (client_orig || t != orig) write(RecordType::kOrigRecipient, orig);
        ++recipients_;
        write(RecordType::kRecipient, std::string(1, queue::kRcptPending) + t);
    }
}

void CleanupMessage::log_action(const char* word, const char* what, std::string_view text,
                                std::string_view detail) {
    std::string client = client_name_.empty() && client_addr_.empty()
                             ? std::string("local")
                             : client_name_ + "[" + client_addr_ + "]";
    std::string shown(text.substr(0, 200));
    for (char& c : shown)
        if (c == '\n') c = ' ';
    log::info("%s: %s: %s %s from %s; from=<%s> to=<%s>%s%s", queue_id().c_str(), word, what,
              log::log_printable(shown).c_str(), log::log_printable(client).c_str(),
              log::log_printable(sender_).c_str(), log::log_printable(first_rcpt_).c_str(),
              detail.empty() ? "" : ": ", log::log_printable(detail).c_str());
}

bool CleanupMessage::content_check(const std::shared_ptr<const table::Maps>& maps, const char* what,
                                   std::string* text, std::vector<std::string>* prepend) {
    if (!maps || maps->empty() || discard_) return true;
    auto r = maps->lookup(*text);
    if (!r) {
        log::warn("%s: %s lookup failure: %s", queue_id().c_str(), what, r.error().message.c_str());
        fail(CleanupStatus::kDefer, r.error().message);
        return true;
    }
    if (!r->has_value()) return true;
    CheckResult act = parse_check_action(**r);
    switch (act.action) {
        case CheckAction::kNone:
            return true;
        case CheckAction::kReject: {
            std::string reply = act.text.empty() ? std::string("message content rejected") : act.text;
            log_action("reject", what, *text, "5.7.1 " + reply);
            fail(CleanupStatus::kContent, reply);
            return true;
        }
        case CheckAction::kDiscard:
            log_action("discard", what, *text, act.text);
            discard_ = true;
            return true;
        case CheckAction::kHold:
            log_action("hold", what, *text, act.text);
            hold_ = true;
            return true;
        case CheckAction::kWarn:
            log_action("warning", what, *text, act.text);
            return true;
        case CheckAction::kIgnore:
            return false;
        case CheckAction::kReplace:
            if (act.text.empty()) return true;
            log_action("replace", what, *text, act.text);
            *text = act.text;
            return true;
        case CheckAction::kPrepend:
            if (!act.text.empty()) prepend->push_back(act.text);
            return true;
        case CheckAction::kRedirect:
            log_action("redirect", what, *text, act.text);
            if (!act.text.empty()) redirect_ = act.text;
            return true;
        case CheckAction::kFilter:
            log_action("filter", what, *text, act.text);
            if (act.text.find(':') != std::string::npos) filter_ = act.text;
            return true;
        case CheckAction::kUnknown:
            log::warn("%s: unknown %s action \"%s\"", queue_id().c_str(), what,
                      log::log_printable(act.text).c_str());
            return true;
    }
    return true;
}

void CleanupMessage::content_piece(std::string_view piece, bool line_end) {
    count(piece.size() + (line_end ? 1 : 0));
    if (failed()) return;
    if (!in_header_) {
        bool check = body_line_start_ && params_.body_checks && !params_.body_checks->empty();
        body_line_start_ = line_end;
        if (!check) {
            write(line_end ? RecordType::kNormal : RecordType::kContinued, piece);
            return;
        }
        std::string line(piece);
        std::vector<std::string> prepend;
        bool keep = content_check(params_.body_checks, "body", &line, &prepend);
        for (const auto& p : prepend) write(RecordType::kNormal, p);
        if (keep) write(line_end ? RecordType::kNormal : RecordType::kContinued, line);
        return;
    }
    // Header lines are collected whole (bounded), so they can be rewritten.
    std::size_t room = static_cast<std::size_t>(params_.header_size_limit) > header_.size() + line_.size()
                           ? static_cast<std::size_t>(params_.header_size_limit) - header_.size() - line_.size()
                           : 0;
    if (piece.size() > room) {
        line_.append(piece.substr(0, room));
        line_truncated_ = true;
    } else {
        line_.append(piece);
    }
    if (!line_end) return;
    std::string line = std::move(line_);
    line_.clear();
    header_line_done(std::move(line));
}

void CleanupMessage::header_line_done(std::string line) {
    bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (continuation && !header_.empty()) {
        header_ += "\n";
        header_ += line;
        return;
    }
    flush_header();
    if (line.empty()) {
        end_of_header();
        write(RecordType::kNormal, "");
        return;
    }
    if (!header_name(line).empty()) {
        header_ = std::move(line);
        return;
    }
    // The first non-header line starts the body (no empty line in between).
    end_of_header();
    write(RecordType::kNormal, line);
}

void CleanupMessage::flush_header() {
    if (header_.empty()) return;
    std::string_view name = header_name(header_);
    note_header(name, &flags_);
    if (util::iequals(name, "Message-ID")) {
        message_id_ = message_id_value(header_);
        log::info("%s: message-id=%s", queue_id().c_str(), log::log_printable(message_id_).c_str());
    }
    // header_checks (mime_header_checks for the MIME headers) see the whole logical header.
    const auto& maps = is_mime_header(name) ? params_.mime_header_checks : params_.header_checks;
    std::string text = std::move(header_);
    header_.clear();
    std::vector<std::string> prepend;
    bool keep = content_check(maps, "header", &text, &prepend);
    for (const auto& p : prepend) write(RecordType::kNormal, p);
    if (!keep || failed()) return;
    std::string out = rewrite_header(text, params_.myorigin);
    auto rewritten = rewrite_header_addresses(out, params_.rewrite);
    if (!rewritten) {
        log::warn("%s: %s", queue_id().c_str(), rewritten.error().message.c_str());
        fail(CleanupStatus::kDefer, rewritten.error().message);
        return;
    }
    for (const auto& part : util::split(*rewritten, "\n")) write(RecordType::kNormal, part);
    // A line of only "\n" separators cannot occur: continuation lines start with white space.
}

void CleanupMessage::end_of_header() {
    flush_header();
    if (!in_header_) return;
    in_header_ = false;
    MessageFacts facts{arrival_, queue_id(), sender_, params_.myhostname, params_.myorigin};
    std::string added_id;
    for (const auto& h : missing_headers(flags_, facts, &added_id)) {
        write(RecordType::kNormal, h);
        size_ += h.size() + 1;
    }
    if (!added_id.empty()) {
        message_id_ = added_id;
        log::info("%s: message-id=%s", queue_id().c_str(), message_id_.c_str());
    }
}

CleanupStatus CleanupMessage::finish() {
    if (!failed() && !complete_) fail(CleanupStatus::kBad, "message stream ends before the end marker");
    if (!failed() && recipients_ == 0) fail(CleanupStatus::kRcpt, submit::cleanup_status_text(CleanupStatus::kRcpt).text);
    if (failed()) return status_;
    if (discard_) {
        // DISCARD: the client is told the message was accepted; nothing is queued.
        writer_->abort();
        return status_;
    }
    if (hold_) writer_->set_final_queue(std::string(queue::kQueueHold));
    auto path = writer_->commit();
    if (!path) {
        log::warn("%s: %s", queue_id().c_str(), path.error().message.c_str());
        status_ = CleanupStatus::kWrite;
        reason_ = path.error().message;
    }
    return status_;
}

}  // namespace mailroom::cleanup
