// record.h - the typed-record codec and the segment checker (pure).
//
// Summary
//   append_record() encodes one record; decode_record() decodes the first
//   record of a byte buffer and says whether it got one, needs more bytes or
//   found a corrupt record. SegmentChecker validates a sequence of records
//   against the segment rules and payload layouts of record_format.h. Both
//   are pure (no I/O) so that the queue file reader, cleanup's input stream,
//   postcat and the fuzz corpus use exactly the same checks.
//
// Description
//   Error texts name the problem and the byte offset of the record where it
//   was found (offsets are relative to what the caller fed in).
//
// Thread safety
//   The free functions are pure and thread-safe; a SegmentChecker or
//   RecordStreamDecoder belongs to one stream and one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/queue/record_format.h"
#include "lib/util/result.h"

namespace mailroom::queue {

// "C", "T", ...: the type letter for messages.
std::string record_type_name(std::uint8_t type);

// Bytes taken by the size field for a payload of `length` bytes.
std::size_t size_field_length(std::size_t length);
std::size_t encoded_record_length(std::size_t payload_length);

// Appends one record to *out. Fails (and appends nothing) when the payload is
// longer than kMaxPayload.
Status append_record(std::string* out, RecordType type, std::string_view payload);

struct DecodedRecord {
    RecordType type = RecordType::kEnd;
    std::string_view payload;  // points into the decoded buffer
    std::size_t length = 0;    // bytes the whole record takes
};

enum class DecodeStep { kRecord, kNeedMore, kError };

// Decodes the record at the start of `bytes`. kNeedMore means the buffer
// ends inside the record (or is empty); kError sets *error.
DecodeStep decode_record(std::string_view bytes, DecodedRecord* out, std::string* error);

// Decodes only the header (type and size) at the start of `bytes`:
// kRecord sets *type, *size and *header_length; kNeedMore when the header
// is incomplete. Same errors as decode_record().
DecodeStep decode_record_header(std::string_view bytes, RecordType* type, std::size_t* size,
                                std::size_t* header_length, std::string* error);

// The size record's fields.
struct SizeFields {
    std::uint64_t content_offset = 0;
    std::uint64_t extracted_offset = 0;
    std::uint64_t message_size = 0;
    std::uint64_t recipient_count = 0;
    std::uint64_t format_version = kFormatVersion;
};

// Always kSizePayloadLength bytes (values are clamped to 15 digits).
std::string format_size_payload(const SizeFields& fields);
Result<SizeFields> parse_size_payload(std::string_view payload);

// Payload syntax checks, one per record type; "" means fine, otherwise the
// reason. Exposed for writers that want to refuse bad input early.
std::string check_payload(RecordType type, std::string_view payload);

enum class StreamKind {
    kQueueFile,      // starts with a C record
    kCleanupStream,  // what smtpd/pickup send to cleanup: no C record
};

// Validates records in file order. Feed every record with its offset;
// finish() at end of input says whether the sequence was complete.
class SegmentChecker {
public:
    explicit SegmentChecker(StreamKind kind) : kind_(kind) {}

    Status check(RecordType type, std::string_view payload, std::uint64_t offset);
    Status finish(std::uint64_t offset) const;

    Segment segment() const { return segment_; }
    std::uint64_t records() const { return records_; }

private:
    Status fail(std::uint64_t offset, RecordType type, const std::string& why) const;

    StreamKind kind_;
    Segment segment_ = Segment::kEnvelope;
    std::uint64_t records_ = 0;
    bool seen_time_ = false;
    bool seen_sender_ = false;
    bool seen_ret_ = false;
    bool seen_envid_ = false;
    bool pending_orig_ = false;   // O seen, waiting for its R
    bool pending_orcpt_ = false;  // o seen
    bool pending_notify_ = false; // n seen
    bool in_long_line_ = false;   // L seen, waiting for N
};

// Incremental decoder for a record stream arriving over a socket (the
// smtpd/pickup -> cleanup stream), for event-loop daemons: feed bytes as
// they arrive; each kRecord hands out one checked record. Records are
// checked against the segment rules as they come, so a peer that breaks
// them is stopped at the first bad record. Memory is bounded by one record
// (kMaxPayload). After kError the decoder stays failed.
class RecordStreamDecoder {
public:
    enum class Step { kNeedMore, kRecord, kError };

    explicit RecordStreamDecoder(StreamKind kind = StreamKind::kCleanupStream) : checker_(kind) {}

    // Consumes bytes up to the end of one record; *consumed says how many.
    // After kRecord, type() and payload() hold the record until the next feed().
    Step feed(std::string_view bytes, std::size_t* consumed);
    RecordType type() const { return type_; }
    const std::string& payload() const { return payload_; }
    // Stream offset of the current record (or of the error).
    std::uint64_t record_offset() const { return record_offset_; }
    Segment segment() const { return checker_.segment(); }
    // True once the end marker has been decoded.
    bool complete() const { return checker_.segment() == Segment::kDone; }
    // At end of input: ok only if the stream was complete and nothing is pending.
    Status finish() const;
    const Error& error() const { return error_; }

private:
    Step fail(std::string message);

    SegmentChecker checker_;
    std::string header_;   // header bytes collected so far
    bool have_header_ = false;
    std::size_t size_ = 0;
    RecordType type_ = RecordType::kEnd;
    std::string payload_;
    std::uint64_t offset_ = 0;         // bytes consumed so far
    std::uint64_t record_offset_ = 0;  // where the current record started
    bool failed_ = false;
    Error error_;
};

// Segment name for messages: "envelope", "content", "extracted", "end".
const char* segment_name(Segment segment);

}  // namespace mailroom::queue
