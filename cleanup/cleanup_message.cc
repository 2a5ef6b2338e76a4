// cleanup_message.cc - see cleanup_message.h.
#include "cleanup/cleanup_message.h"

#include "lib/bounce/bounce_proto.h"
#include "lib/deliver/deliver_log.h"
#include "lib/log/log.h"
#include "lib/queue/queue_dirs.h"
#include "lib/queue/record.h"
#include "lib/submit/address_list.h"
#include "lib/util/strings.h"

namespace mailroom::cleanup {

using queue::RecordType;
using submit::CleanupStatus;

CleanupMessage::CleanupMessage(const CleanupParams& params, queue::QueueWriter writer, std::int64_t flags)
    : params_(params), writer_(std::move(writer)), feeder_(&*writer_),
      bounce_flag_((flags & submit::kCleanupFlagBounce) != 0),
      internal_((flags & submit::kCleanupFlagNoHeaderBodyChecks) != 0) {
    mime::MimeLimits limits;
    limits.nesting_limit = params_.mime_nesting_limit;
    limits.boundary_length_limit = params_.mime_boundary_length_limit;
    limits.header_size_limit = static_cast<std::size_t>(params_.header_size_limit);
    limits.disabled = params_.disable_mime_input_processing;
    mime::MimeCallbacks cb;
    cb.header = [this](mime::HeaderClass cls, std::string header) { mime_header(cls, std::move(header)); };
    cb.header_end = [this](mime::HeaderClass cls) {
        if (cls == mime::HeaderClass::kPrimary) end_of_header();
    };
    cb.body = [this](std::string_view piece, bool line_end) { body_piece(piece, line_end); };
    mime_ = std::make_unique<mime::MimeParser>(limits, std::move(cb));
}

Result<std::unique_ptr<CleanupMessage>> CleanupMessage::start(const CleanupParams& params, std::int64_t flags) {
    queue::WriterOptions options;
    options.recycle = params.recycle_queue_files;
    auto writer = queue::QueueWriter::create(params.layout, options);
    if (!writer) return writer.error();
    return std::make_unique<CleanupMessage>(params, std::move(*writer), flags);
}

void CleanupMessage::fail(CleanupStatus status, std::string why) {
    if (status_ != CleanupStatus::kOk) return;
    if (bounce_flag_ && (status == CleanupStatus::kContent || status == CleanupStatus::kSize)) {
        // A local submission rejected for good is returned to the sender.
        if (bouncing_) return;
        bouncing_ = true;
        bounce_status_ = status;
        bounce_reason_ = std::move(why);
        if (status == CleanupStatus::kSize) {
            // Keep no more content than the limit; end a line left open.
            if (line_open_) write(RecordType::kNormal, "");
            content_stopped_ = true;
        }
        return;
    }
    status_ = status;
    reason_ = std::move(why);
    writer_->abort();
}

void CleanupMessage::write(RecordType type, std::string_view payload) {
    if (failed()) return;
    bool content = !in_extracted_ && (type == RecordType::kNormal || type == RecordType::kContinued);
    if (content && content_stopped_) return;
    if (content) line_open_ = type == RecordType::kContinued;
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
        // As Postfix's detect_8bit_encoding_header (default yes): an 8bit
        // or binary Content-Transfer-Encoding makes the body 8BITMIME.
        if (!failed() && found_8bit_ && !envelope_8bit_)
            write(RecordType::kAttribute, std::string(queue::kAttrEncoding) + "=" + std::string(queue::kEncoding8Bit));
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
                if (name == queue::kAttrEncoding && value == queue::kEncoding8Bit) envelope_8bit_ = true;
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
        case RecordType::kDsnOrcpt:
            pending_orcpt_ = std::string(payload);
            write(type, payload);
            return;
        case RecordType::kDsnNotify:
            pending_notify_ = std::string(payload);
            write(type, payload);
            return;
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
            mime_->finish();
            in_extracted_ = true;
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
    std::string orcpt = std::move(pending_orcpt_), notify = std::move(pending_notify_);
    pending_orcpt_.clear();
    pending_notify_.clear();
    std::string q = submit::qualify_address(addr, params_.myorigin);
    auto rewritten = rewrite_address(q, kEnvelopeRecipient, params_.rewrite);
    if (!rewritten) {
        log::warn("%s: %s", queue_id().c_str(), rewritten.error().message.c_str());
        fail(CleanupStatus::kDefer, rewritten.error().message);
        return;
    }
    std::vector<std::string> targets{*rewritten};
    if (params_.rewrite.virtual_alias && !params_.rewrite.virtual_alias->empty()) {
        auto expanded = expand_virtual_alias(*rewritten, params_.rewrite.resolver_or_default(),
                                             maps_lookup(params_.rewrite.virtual_alias), params_.rewrite.alias_limits,
                                             params_.myorigin, params_.rewrite.propagate_virtual);
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
        std::string record = std::string(1, queue::kRcptPending) + t;
        write(RecordType::kRecipient, record);
        // The status byte is the first payload byte of the record just written.
        if (bounce_flag_ && !failed())
            written_.push_back({t, orig, orcpt, notify, writer_->offset() - record.size()});
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
    if (!maps || maps->empty() || discard_ || bouncing_ || internal_) return true;
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
    unsigned before = mime_->errors();
    mime_->feed(piece, line_end);
    if ((mime_->errors() & mime::kErrNesting) && !(before & mime::kErrNesting) && !bouncing_ && !internal_ &&
        !failed()) {
        // As Postfix: a structure nested deeper than mime_nesting_limit is refused.
        const char* why = "MIME nesting exceeds safety limit";
        log_action("reject", "mime-error", why, std::string("5.6.0 ") + why);
        dsn_ = "5.6.0";
        fail(CleanupStatus::kContent, why);
    }
}

void CleanupMessage::body_piece(std::string_view piece, bool line_end) {
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
}

void CleanupMessage::mime_header(mime::HeaderClass cls, std::string header) {
    if (util::iequals(header_name(header), "Content-Transfer-Encoding")) {
        std::string_view value = std::string_view(header).substr(header.find(':') + 1);
        std::string word(util::trim(value));
        if (util::iequals(word, "8bit") || util::iequals(word, "binary")) found_8bit_ = true;
    }
    if (cls == mime::HeaderClass::kPrimary) {
        primary_header(std::move(header));
        return;
    }
    // A header inside the body: checked by its class, written unchanged.
    // MIME headers and every header of a body part go to
    // mime_header_checks, those of an attached message to nested_header_checks.
    const auto& maps = (cls == mime::HeaderClass::kMultipart || is_mime_header(header_name(header)))
                           ? params_.mime_header_checks
                           : params_.nested_header_checks;
    std::vector<std::string> prepend;
    bool keep = content_check(maps, "header", &header, &prepend);
    for (const auto& p : prepend) write(RecordType::kNormal, p);
    if (!keep || failed()) return;
    for (const auto& part : util::split(header, "\n")) write(RecordType::kNormal, part);
}

void CleanupMessage::primary_header(std::string header) {
    std::string_view name = header_name(header);
    note_header(name, &flags_);
    if (util::iequals(name, "Message-ID")) {
        message_id_ = message_id_value(header);
        log::info("%s: message-id=%s", queue_id().c_str(), log::log_printable(message_id_).c_str());
    }
    // header_checks (mime_header_checks for the MIME headers) see the whole logical header.
    const auto& maps = is_mime_header(name) ? params_.mime_header_checks : params_.header_checks;
    std::string text = std::move(header);
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

CleanupStatus CleanupMessage::finish(Sync sync) {
    if (!failed() && !complete_) fail(CleanupStatus::kBad, "message stream ends before the end marker");
    if (!failed() && recipients_ == 0) fail(CleanupStatus::kRcpt, submit::cleanup_status_text(CleanupStatus::kRcpt).text);
    if (failed()) return status_;
    if (discard_) {
        // DISCARD: the client is told the message was accepted; nothing is queued.
        writer_->abort();
        return status_;
    }
    if (bouncing_ && !bounce_recipients()) return status_;
    if (hold_ && !bouncing_) writer_->set_final_queue(std::string(queue::kQueueHold));
    auto path = writer_->commit_unsynced();
    if (!path) {
        log::warn("%s: %s", queue_id().c_str(), path.error().message.c_str());
        status_ = CleanupStatus::kWrite;
        reason_ = path.error().message;
        return status_;
    }
    sync_pending_ = true;
    return sync == Sync::kNow ? finish_sync() : status_;
}

CleanupStatus CleanupMessage::finish_sync() {
    if (!sync_pending_) return status_;
    sync_pending_ = false;
    if (Status st = writer_->sync_committed(); !st) {
        log::warn("%s: %s", queue_id().c_str(), st.error().message.c_str());
        status_ = CleanupStatus::kWrite;
        reason_ = st.error().message;
    }
    return status_;
}

}  // namespace mailroom::cleanup

namespace mailroom::cleanup {

bool CleanupMessage::bounce_recipients() {
    // Each recipient is in the bounce logfile before it is marked done;
    // qmgr finds no recipient left, has bounce send the notice, and
    // removes the file. A bounce service that cannot be reached is a
    // temporary failure: pickup keeps the maildrop file and tries again.
    std::string dsn = submit::cleanup_status_text(bounce_status_).dsn;
    int timeout_ms = 60 * 1000;
    double now = deliver::now_seconds();
    for (const auto& r : written_) {
        bounce::BounceRecipient b;
        b.recipient = r.address;
        b.orig_rcpt = r.orig;
        b.dsn_orcpt = r.orcpt;
        b.notify = r.notify;
        b.status = dsn;
        b.action = std::string(bounce::kActionFailed);
        b.reason = bounce_reason_;
        b.offset = static_cast<std::int64_t>(r.status_offset);
        if (auto st = bounce::bounce_append(params_.layout.queue_directory, bounce::kServiceBounce, queue_id(), b,
                                            timeout_ms);
            !st) {
            log::warn("%s: %s", queue_id().c_str(), st.error().message.c_str());
            fail(CleanupStatus::kWrite, st.error().message);
            return false;
        }
        if (auto st = writer_->mark_done(r.status_offset); !st) {
            log::warn("%s: %s", queue_id().c_str(), st.error().message.c_str());
            fail(CleanupStatus::kWrite, st.error().message);
            return false;
        }
        deliver::DeliveryTimes times;
        times.total = std::max(0.0, now - static_cast<double>(arrival_));
        times.before_qmgr = times.total;
        log::info("%s: %s", queue_id().c_str(),
                  deliver::delivery_line(r.address, r.orig, "none", times, dsn, "bounced", bounce_reason_).c_str());
    }
    return true;
}

}  // namespace mailroom::cleanup
