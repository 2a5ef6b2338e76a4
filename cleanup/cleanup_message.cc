// cleanup_message.cc - see cleanup_message.h.
#include "cleanup/cleanup_message.h"

#include "lib/log/log.h"
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
        case RecordType::kSender:
            sender_ = submit::qualify_address(payload, params_.myorigin);
            write(type, sender_);
            return;
        case RecordType::kOrigRecipient:
            have_orig_ = true;
            write(type, payload);
            return;
        case RecordType::kRecipient: {
            std::string_view addr = payload.substr(1);
            std::string q = submit::qualify_address(addr, params_.myorigin);
            // The address as the client gave it is the original recipient.
            if (q != addr && !have_orig_) write(RecordType::kOrigRecipient, addr);
            have_orig_ = false;
            ++recipients_;
            write(type, std::string(1, queue::kRcptPending) + q);
            return;
        }
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

void CleanupMessage::content_piece(std::string_view piece, bool line_end) {
    count(piece.size() + (line_end ? 1 : 0));
    if (failed()) return;
    if (!in_header_) {
        write(line_end ? RecordType::kNormal : RecordType::kContinued, piece);
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
    std::string out = rewrite_header(header_, params_.myorigin);
    header_.clear();
    for (const auto& part : util::split(out, "\n")) write(RecordType::kNormal, part);
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
    auto path = writer_->commit();
    if (!path) {
        log::warn("%s: %s", queue_id().c_str(), path.error().message.c_str());
        status_ = CleanupStatus::kWrite;
        reason_ = path.error().message;
    }
    return status_;
}

}  // namespace mailroom::cleanup
