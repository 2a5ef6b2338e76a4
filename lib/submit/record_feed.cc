// record_feed.cc - see record_feed.h.
#include "lib/submit/record_feed.h"

#include <charconv>

namespace mailroom::submit {

using queue::RecordType;

Status parse_arrival_time(std::string_view payload, std::int64_t* seconds, std::int32_t* microseconds) {
    auto dot = payload.find('.');
    if (dot == std::string_view::npos) return make_error("bad arrival time: " + std::string(payload));
    std::int64_t s = 0;
    std::int32_t u = 0;
    auto r1 = std::from_chars(payload.data(), payload.data() + dot, s);
    auto r2 = std::from_chars(payload.data() + dot + 1, payload.data() + payload.size(), u);
    if (r1.ec != std::errc() || r2.ec != std::errc() || r1.ptr != payload.data() + dot ||
        r2.ptr != payload.data() + payload.size())
        return make_error("bad arrival time: " + std::string(payload));
    *seconds = s;
    *microseconds = u;
    return ok_status();
}

Status RecordFeeder::feed(RecordType type, std::string_view payload) {
    switch (type) {
        case RecordType::kArrivalTime: {
            std::int64_t s;
            std::int32_t u;
            if (auto st = parse_arrival_time(payload, &s, &u); !st) return st;
            return writer_->set_arrival_time(s, u);
        }
        case RecordType::kSender: return writer_->set_sender(payload);
        case RecordType::kAttribute: {
            auto eq = payload.find('=');
            if (eq == std::string_view::npos) return make_error("attribute record without '='");
            return writer_->add_attribute(payload.substr(0, eq), payload.substr(eq + 1));
        }
        case RecordType::kDsnRet: return writer_->set_dsn_ret(payload);
        case RecordType::kDsnEnvid: return writer_->set_dsn_envid(payload);
        case RecordType::kOrigRecipient: orig_ = payload; return ok_status();
        case RecordType::kDsnOrcpt: orcpt_ = payload; return ok_status();
        case RecordType::kDsnNotify: notify_ = payload; return ok_status();
        case RecordType::kRecipient: {
            if (payload.empty()) return make_error("recipient record without status byte");
            queue::RecipientSpec spec(std::string(payload.substr(1)), std::move(orig_), std::move(orcpt_),
                                      std::move(notify_));
            orig_.clear();
            orcpt_.clear();
            notify_.clear();
            return writer_->add_recipient(spec);
        }
        case RecordType::kContentStart: return writer_->begin_content();
        case RecordType::kNormal: return writer_->add_piece(payload, true);
        case RecordType::kContinued: return writer_->add_piece(payload, false);
        case RecordType::kExtractedStart: return writer_->begin_extracted();
        case RecordType::kSize:
        case RecordType::kEnd: break;
    }
    return make_error("unexpected record type " + queue::record_type_name(static_cast<std::uint8_t>(type)));
}

}  // namespace mailroom::submit
