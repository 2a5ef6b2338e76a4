// record.cc - see record.h.
#include "lib/queue/record.h"

#include <algorithm>
#include <charconv>

#include "lib/util/strings.h"

namespace mailroom::queue {

namespace {

bool has_control(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

bool is_printable_ascii(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

std::string check_address(std::string_view address, const char* what) {
    if (address.size() > kMaxAddressLength) {
        return util::format("%s longer than %zu bytes", what, kMaxAddressLength);
    }
    if (has_control(address)) return util::format("control character in %s", what);
    return "";
}

std::string check_notify(std::string_view v) {
    if (v == "NEVER") return "";
    bool seen[3] = {false, false, false};
    static constexpr std::string_view kWords[3] = {"SUCCESS", "FAILURE", "DELAY"};
    if (v.empty()) return "empty DSN NOTIFY";
    while (!v.empty()) {
        std::size_t comma = v.find(',');
        std::string_view word = v.substr(0, comma);
        bool ok = false;
        for (int i = 0; i < 3; ++i) {
            if (word == kWords[i]) {
                if (seen[i]) return "repeated keyword in DSN NOTIFY";
                seen[i] = ok = true;
            }
        }
        if (!ok) return "bad DSN NOTIFY keyword";
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
        if (v.empty()) return "bad DSN NOTIFY keyword";
    }
    return "";
}

}  // namespace

const char* segment_name(Segment segment) {
    switch (segment) {
        case Segment::kEnvelope: return "envelope";
        case Segment::kContent: return "content";
        case Segment::kExtracted: return "extracted";
        case Segment::kDone: return "end";
    }
    return "unknown";
}

std::string record_type_name(std::uint8_t type) {
    if (type >= 0x21 && type <= 0x7e) return std::string(1, static_cast<char>(type));
    return util::format("0x%02x", static_cast<unsigned>(type));
}

std::size_t size_field_length(std::size_t length) {
    std::size_t n = 1;
    while (length >= 0x80) {
        length >>= 7;
        ++n;
    }
    return n;
}

std::size_t encoded_record_length(std::size_t payload_length) {
    return 1 + size_field_length(payload_length) + payload_length;
}

Status append_record(std::string* out, RecordType type, std::string_view payload) {
    if (payload.size() > kMaxPayload) {
        return make_error(util::format("record %s: payload of %zu bytes exceeds the limit of %zu bytes",
                                       record_type_name(static_cast<std::uint8_t>(type)).c_str(), payload.size(),
                                       kMaxPayload));
    }
    out->push_back(static_cast<char>(type));
    std::size_t n = payload.size();
    do {
        unsigned char b = n & 0x7f;
        n >>= 7;
        if (n != 0) b |= 0x80;
        out->push_back(static_cast<char>(b));
    } while (n != 0);
    out->append(payload);
    return ok_status();
}

DecodeStep decode_record_header(std::string_view bytes, RecordType* type_out, std::size_t* size_out,
                                std::size_t* header_length, std::string* error) {
    if (bytes.empty()) return DecodeStep::kNeedMore;
    std::uint8_t type = static_cast<std::uint8_t>(bytes[0]);
    if (!is_known_record_type(type)) {
        *error = util::format("bad record type %s", record_type_name(type).c_str());
        return DecodeStep::kError;
    }
    std::size_t size = 0;
    std::size_t pos = 1;
    for (std::size_t i = 0;; ++i) {
        if (pos >= bytes.size()) return DecodeStep::kNeedMore;
        unsigned char b = static_cast<unsigned char>(bytes[pos++]);
        size |= static_cast<std::size_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if (i > 0 && b == 0) {
                *error = util::format("record %s: non-minimal size encoding", record_type_name(type).c_str());
                return DecodeStep::kError;
            }
            break;
        }
        if (i + 1 == kMaxSizeBytes) {
            *error = util::format("record %s: size field longer than %zu bytes", record_type_name(type).c_str(),
                                  kMaxSizeBytes);
            return DecodeStep::kError;
        }
    }
    if (size > kMaxPayload) {
        *error = util::format("record %s: size %zu exceeds the limit of %zu bytes", record_type_name(type).c_str(),
                              size, kMaxPayload);
        return DecodeStep::kError;
    }
    *type_out = static_cast<RecordType>(type);
    *size_out = size;
    *header_length = pos;
    return DecodeStep::kRecord;
}

DecodeStep decode_record(std::string_view bytes, DecodedRecord* out, std::string* error) {
    RecordType type;
    std::size_t size = 0;
    std::size_t header = 0;
    DecodeStep step = decode_record_header(bytes, &type, &size, &header, error);
    if (step != DecodeStep::kRecord) return step;
    if (bytes.size() - header < size) return DecodeStep::kNeedMore;
    out->type = type;
    out->payload = bytes.substr(header, size);
    out->length = header + size;
    return DecodeStep::kRecord;
}

std::string format_size_payload(const SizeFields& f) {
    auto clamp = [](std::uint64_t v) -> unsigned long long {
        return v > 999999999999999ULL ? 999999999999999ULL : static_cast<unsigned long long>(v);
    };
    return util::format("%15llu %15llu %15llu %15llu %15llu", clamp(f.content_offset), clamp(f.extracted_offset),
                        clamp(f.message_size), clamp(f.recipient_count), clamp(f.format_version));
}

Result<SizeFields> parse_size_payload(std::string_view payload) {
    if (payload.size() != kSizePayloadLength) {
        return make_error(util::format("size record is %zu bytes, expected %zu", payload.size(), kSizePayloadLength));
    }
    std::uint64_t v[kSizeFieldCount];
    for (std::size_t i = 0; i < kSizeFieldCount; ++i) {
        std::string_view field = payload.substr(i * (kSizeFieldWidth + 1), kSizeFieldWidth);
        if (i + 1 < kSizeFieldCount && payload[i * (kSizeFieldWidth + 1) + kSizeFieldWidth] != ' ') {
            return make_error("size record fields not separated by spaces");
        }
        std::size_t start = field.find_first_not_of(' ');
        if (start == std::string_view::npos || !all_digits(field.substr(start))) {
            return make_error(util::format("size record field %zu is not a right-aligned number", i + 1));
        }
        std::string_view digits = field.substr(start);
        std::from_chars(digits.data(), digits.data() + digits.size(), v[i]);
    }
    SizeFields f{v[0], v[1], v[2], v[3], v[4]};
    if (f.format_version != kFormatVersion) {
        return make_error(util::format("unsupported queue file format version %llu",
                                       static_cast<unsigned long long>(f.format_version)));
    }
    return f;
}

std::string check_payload(RecordType type, std::string_view p) {
    switch (type) {
        case RecordType::kSize: {
            auto f = parse_size_payload(p);
            return f ? "" : f.error().message;
        }
        case RecordType::kArrivalTime: {
            std::size_t dot = p.find('.');
            if (dot == std::string_view::npos || dot == 0 || dot > 18 || !all_digits(p.substr(0, dot)) ||
                p.size() - dot - 1 != 6 || !all_digits(p.substr(dot + 1))) {
                return "arrival time is not SECONDS.MICROSECONDS";
            }
            return "";
        }
        case RecordType::kSender:
            return check_address(p, "sender");
        case RecordType::kOrigRecipient:
            return check_address(p, "original recipient");
        case RecordType::kRecipient:
            if (p.size() < 2) return "recipient record without an address";
            if (p[0] != kRcptPending && p[0] != kRcptDone) return "bad recipient status byte";
            return check_address(p.substr(1), "recipient");
        case RecordType::kAttribute: {
            if (p.size() > kMaxAttributeLength) return util::format("attribute longer than %zu bytes", kMaxAttributeLength);
            std::size_t eq = p.find('=');
            if (eq == std::string_view::npos) return "attribute without '='";
            std::string_view name = p.substr(0, eq);
            bool known = false;
            for (std::string_view k : kKnownAttributes) known = known || k == name;
            if (!known) return "unknown attribute name";
            if (has_control(p.substr(eq + 1))) return "control character in attribute value";
            return "";
        }
        case RecordType::kDsnOrcpt: {
            std::size_t semi = p.find(';');
            if (semi == std::string_view::npos || semi == 0) return "DSN ORCPT is not TYPE;ADDRESS";
            if (p.size() > kMaxAddressLength) return "DSN ORCPT too long";
            if (has_control(p)) return "control character in DSN ORCPT";
            return "";
        }
        case RecordType::kDsnNotify:
            return check_notify(p);
        case RecordType::kDsnRet:
            return p == "FULL" || p == "HDRS" ? "" : "DSN RET is not FULL or HDRS";
        case RecordType::kDsnEnvid:
            if (p.empty() || p.size() > kMaxEnvidLength || !is_printable_ascii(p)) return "bad DSN ENVID";
            return "";
        case RecordType::kContentStart:
        case RecordType::kExtractedStart:
        case RecordType::kEnd:
            return p.empty() ? "" : "segment marker with a payload";
        case RecordType::kNormal:
            return "";
        case RecordType::kContinued:
            return p.empty() ? "empty continued-line piece" : "";
    }
    return "unknown record type";
}

Status SegmentChecker::fail(std::uint64_t offset, RecordType type, const std::string& why) const {
    return make_error(util::format("record %s at offset %llu: %s",
                                   record_type_name(static_cast<std::uint8_t>(type)).c_str(),
                                   static_cast<unsigned long long>(offset), why.c_str()));
}

Status SegmentChecker::check(RecordType type, std::string_view payload, std::uint64_t offset) {
    if (records_ == 0 && kind_ == StreamKind::kQueueFile && type != RecordType::kSize) {
        return fail(offset, type, "queue file does not start with a size record");
    }
    if (type == RecordType::kSize && (records_ != 0 || kind_ != StreamKind::kQueueFile)) {
        return fail(offset, type,
                    kind_ == StreamKind::kQueueFile ? "size record not at the start" : "size record in a cleanup stream");
    }
    if (!record_allowed_in(segment_, type)) {
        if (segment_ == Segment::kDone) return fail(offset, type, "record after the end marker");
        return fail(offset, type, util::format("not allowed in the %s segment", segment_name(segment_)));
    }
    if (std::string why = check_payload(type, payload); !why.empty()) return fail(offset, type, why);
    ++records_;
    auto once = [&](bool* seen, const char* what) -> Status {
        if (*seen) return fail(offset, type, util::format("second %s", what));
        *seen = true;
        return ok_status();
    };
    auto no_dangling = [&]() -> Status {
        if (pending_orig_ || pending_orcpt_ || pending_notify_) {
            return fail(offset, type, "recipient parameters not followed by a recipient");
        }
        return ok_status();
    };
    switch (type) {
        case RecordType::kArrivalTime: return once(&seen_time_, "arrival time");
        case RecordType::kSender: return once(&seen_sender_, "sender");
        case RecordType::kDsnRet: return once(&seen_ret_, "DSN RET");
        case RecordType::kDsnEnvid: return once(&seen_envid_, "DSN ENVID");
        case RecordType::kOrigRecipient: return once(&pending_orig_, "original recipient for one recipient");
        case RecordType::kDsnOrcpt: return once(&pending_orcpt_, "DSN ORCPT for one recipient");
        case RecordType::kDsnNotify: return once(&pending_notify_, "DSN NOTIFY for one recipient");
        case RecordType::kRecipient:
            pending_orig_ = pending_orcpt_ = pending_notify_ = false;
            return ok_status();
        case RecordType::kContentStart:
            if (Status st = no_dangling(); !st) return st;
            if (!seen_time_) return fail(offset, type, "envelope has no arrival time");
            if (!seen_sender_) return fail(offset, type, "envelope has no sender");
            segment_ = Segment::kContent;
            return ok_status();
        case RecordType::kContinued:
            in_long_line_ = true;
            return ok_status();
        case RecordType::kNormal:
            in_long_line_ = false;
            return ok_status();
        case RecordType::kExtractedStart:
            if (in_long_line_) return fail(offset, type, "content ends inside a continued line");
            segment_ = Segment::kExtracted;
            return ok_status();
        case RecordType::kEnd:
            if (Status st = no_dangling(); !st) return st;
            segment_ = Segment::kDone;
            return ok_status();
        default:
            return ok_status();
    }
}

Status SegmentChecker::finish(std::uint64_t offset) const {
    if (segment_ == Segment::kDone) return ok_status();
    if (records_ == 0) return make_error("empty input: no records");
    return make_error(util::format("missing end marker: input ends at offset %llu in the %s segment",
                                   static_cast<unsigned long long>(offset), segment_name(segment_)));
}

// ---- incremental stream decoder ----

RecordStreamDecoder::Step RecordStreamDecoder::fail(std::string message) {
    failed_ = true;
    error_ = make_error(std::move(message));
    return Step::kError;
}

RecordStreamDecoder::Step RecordStreamDecoder::feed(std::string_view bytes, std::size_t* consumed) {
    *consumed = 0;
    if (failed_) return Step::kError;
    if (have_header_ && payload_.size() == size_) {
        // The previous record was handed out; start the next one.
        have_header_ = false;
        header_.clear();
        payload_.clear();
    }
    std::size_t i = 0;
    while (i < bytes.size()) {
        if (!have_header_) {
            if (complete()) {
                return fail(util::format("data after the end marker at offset %llu",
                                         static_cast<unsigned long long>(offset_)));
            }
            if (header_.empty()) record_offset_ = offset_;
            header_.push_back(bytes[i++]);
            ++offset_;
            *consumed = i;
            std::string why;
            std::size_t header_length = 0;
            DecodeStep step = decode_record_header(header_, &type_, &size_, &header_length, &why);
            if (step == DecodeStep::kError) {
                return fail(util::format("%s at offset %llu", why.c_str(),
                                         static_cast<unsigned long long>(record_offset_)));
            }
            if (step == DecodeStep::kNeedMore) continue;
            have_header_ = true;
            payload_.clear();
            payload_.reserve(size_);
        } else {
            std::size_t take = std::min(size_ - payload_.size(), bytes.size() - i);
            payload_.append(bytes.data() + i, take);
            i += take;
            offset_ += take;
            *consumed = i;
        }
        if (have_header_ && payload_.size() == size_) {
            if (Status st = checker_.check(type_, payload_, record_offset_); !st) return fail(st.error().message);
            return Step::kRecord;
        }
    }
    *consumed = bytes.size();
    return Step::kNeedMore;
}

Status RecordStreamDecoder::finish() const {
    if (failed_) return error_;
    if (!header_.empty() && !(have_header_ && payload_.size() == size_)) {
        return make_error(util::format("truncated record at offset %llu (input ends inside the record)",
                                       static_cast<unsigned long long>(record_offset_)));
    }
    return checker_.finish(offset_);
}

}  // namespace mailroom::queue
