// record_format.h - the one definition of the typed-record format.
//
// Summary
//   Record types, the size encoding, the segment rules and the payload
//   layouts shared by everything that writes or reads queue files and the
//   smtpd/pickup -> cleanup record stream. The prose specification is
//   docs/queue-format.md; this header and that file change together.
//
// Description
//   A record is   type (1 byte) | size (1-3 bytes) | payload (size bytes).
//   The size is little-endian base-128: each byte carries 7 bits, low bits
//   first; bit 0x80 says another size byte follows. The encoding is minimal
//   (no trailing 0x00 continuation byte) and at most kMaxSizeBytes long;
//   payloads are at most kMaxPayload bytes.
//
//   A queue file is three segments and an end marker:
//     envelope   C first, then T S A R O o n r e in any order, ended by M
//     content    N L, ended by X
//     extracted  A R O o n, ended by E
//   and nothing after E. The smtpd/pickup -> cleanup stream is the same
//   without the C record (cleanup writes that one).
//
//   Per-recipient records (O, o, n) apply to the next R of the same
//   segment and each may appear at most once before it. T and S appear
//   exactly once in the envelope, r and e at most once. An L record is a
//   piece of a line longer than the writer's chunk size; the line goes on in
//   the next record and ends with an N record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mailroom::queue {

enum class RecordType : std::uint8_t {
    // Envelope segment.
    kSize = 'C',            // fixed-width counters, first record, rewritten in place
    kArrivalTime = 'T',     // "SECONDS.MICROSECONDS" (6 digits after the dot)
    kSender = 'S',          // envelope sender; empty for the null sender <>
    kAttribute = 'A',       // "name=value", name from the kAttr* list below
    kRecipient = 'R',       // status byte (kRcptPending / kRcptDone) then the address
    kOrigRecipient = 'O',   // original recipient (before rewriting) of the next R
    kDsnOrcpt = 'o',        // DSN ORCPT of the next R: "addr-type;address"
    kDsnNotify = 'n',       // DSN NOTIFY of the next R: "NEVER" or SUCCESS,FAILURE,DELAY
    kDsnRet = 'r',          // DSN RET: "FULL" or "HDRS"
    kDsnEnvid = 'e',        // DSN ENVID (RFC 3461 xtext, printable ASCII)
    kContentStart = 'M',    // ends the envelope; empty payload
    // Content segment.
    kNormal = 'N',          // a line (or the last piece of a long line), no line ending
    kContinued = 'L',       // a piece of a long line; the line goes on in the next record
    kExtractedStart = 'X',  // ends the content; empty payload
    // Extracted segment.
    kEnd = 'E',             // end marker; empty payload, last record of the file
};

inline constexpr std::size_t kMaxSizeBytes = 3;
inline constexpr std::size_t kMaxPayload = 1 << 20;  // 1 MiB
inline constexpr std::size_t kMaxRecordHeader = 1 + kMaxSizeBytes;

// Writers split content lines into pieces of at most this many bytes by
// default (a WriterOptions field can change it, up to kMaxPayload).
inline constexpr std::size_t kDefaultContentChunk = 4096;

// The size record: five space-separated decimal fields, each right-aligned
// in kSizeFieldWidth columns, so its length never changes when it is
// rewritten in place.
//   content_offset    file offset of the first record after M
//   extracted_offset  file offset of the X record
//   message_size      content bytes, counting one "\n" per line
//   recipient_count   number of R records in the file
//   format_version    kFormatVersion
inline constexpr std::size_t kSizeFieldWidth = 15;
inline constexpr std::size_t kSizeFieldCount = 5;
inline constexpr std::size_t kSizePayloadLength = kSizeFieldCount * kSizeFieldWidth + (kSizeFieldCount - 1);
inline constexpr std::uint64_t kFormatVersion = 1;

// The first payload byte of an R record; rewritten in place on delivery.
inline constexpr char kRcptPending = 'P';
inline constexpr char kRcptDone = 'D';

// Names an A record may carry.
inline constexpr std::string_view kAttrClientName = "client_name";
inline constexpr std::string_view kAttrClientAddress = "client_address";
inline constexpr std::string_view kAttrHeloName = "helo_name";
inline constexpr std::string_view kAttrProtocolName = "protocol_name";
inline constexpr std::string_view kAttrSaslUsername = "sasl_username";
inline constexpr std::string_view kAttrLogIdent = "log_ident";
inline constexpr std::string_view kAttrErrorsTo = "errors_to";
// Written by cleanup in the extracted segment (header/body_checks and
// smtpd access actions, content_filter).
inline constexpr std::string_view kAttrRedirect = "redirect";  // REDIRECT: deliver to this address instead
inline constexpr std::string_view kAttrFilter = "filter";      // FILTER: "transport:nexthop" overrides routing
// Cleanup stream only (smtpd's access HOLD action): cleanup commits the file into hold/.
inline constexpr std::string_view kAttrHold = "hold";
// The body type: smtpd's BODY=8BITMIME / BODY=7BIT in the envelope, and
// cleanup's finding (a Content-Transfer-Encoding of 8bit or binary) in
// the extracted segment. "8bit" anywhere wins, as Postfix's encoding.
inline constexpr std::string_view kAttrEncoding = "encoding";
inline constexpr std::string_view kEncoding7Bit = "7bit";
inline constexpr std::string_view kEncoding8Bit = "8bit";
inline constexpr std::string_view kKnownAttributes[] = {kAttrClientName,   kAttrClientAddress, kAttrHeloName,
                                                       kAttrProtocolName, kAttrSaslUsername,  kAttrLogIdent,
                                                       kAttrErrorsTo,     kAttrRedirect,      kAttrFilter,
                                                       kAttrHold,         kAttrEncoding};

inline constexpr std::size_t kMaxAddressLength = 4096;
inline constexpr std::size_t kMaxAttributeLength = 4096;  // whole "name=value"
inline constexpr std::size_t kMaxEnvidLength = 100;       // RFC 3461

enum class Segment { kEnvelope, kContent, kExtracted, kDone };

// Which records each segment allows (the segment-ending record included).
constexpr bool record_allowed_in(Segment segment, RecordType type) {
    switch (segment) {
        case Segment::kEnvelope:
            switch (type) {
                case RecordType::kSize: case RecordType::kArrivalTime: case RecordType::kSender:
                case RecordType::kAttribute: case RecordType::kRecipient: case RecordType::kOrigRecipient:
                case RecordType::kDsnOrcpt: case RecordType::kDsnNotify: case RecordType::kDsnRet:
                case RecordType::kDsnEnvid: case RecordType::kContentStart:
                    return true;
                default:
                    return false;
            }
        case Segment::kContent:
            return type == RecordType::kNormal || type == RecordType::kContinued ||
                   type == RecordType::kExtractedStart;
        case Segment::kExtracted:
            switch (type) {
                case RecordType::kAttribute: case RecordType::kRecipient: case RecordType::kOrigRecipient:
                case RecordType::kDsnOrcpt: case RecordType::kDsnNotify: case RecordType::kEnd:
                    return true;
                default:
                    return false;
            }
        case Segment::kDone:
            return false;
    }
    return false;
}

constexpr bool is_known_record_type(std::uint8_t byte) {
    switch (byte) {
        case 'C': case 'T': case 'S': case 'A': case 'R': case 'O': case 'o': case 'n': case 'r': case 'e':
        case 'M': case 'N': case 'L': case 'X': case 'E':
            return true;
        default:
            return false;
    }
}

}  // namespace mailroom::queue
