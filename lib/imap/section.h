// section.h - FETCH BODY[section]<partial>, RFC822.*, BINARY[section] (RFC 3501 6.4.5, RFC 3516).
//
// Summary
//   parse_section() reads the text between '[' and ']' ("", "HEADER",
//   "TEXT", "1.2", "1.2.MIME", "HEADER.FIELDS (A B)",
//   "1.HEADER.FIELDS.NOT (...)"); parse_partial() reads "<origin.count>".
//   extract_section() returns the bytes of a section in CRLF:
//     ""                  the whole message
//     HEADER / TEXT       header block (with its blank line) / body of
//                         the message, or of the message/rfc822 part named
//                         by the part number
//     HEADER.FIELDS (..)  only the listed fields (or all but them, .NOT),
//                         in message order, followed by the blank line
//     n.n                 the body of that part (for a message/rfc822
//                         part its whole message; a non-multipart
//                         message's part 1 is its body)
//     n.n.MIME            the MIME header of that part
//   A part number that does not exist gives "" (as Dovecot answers).
//
//   extract_binary() gives the content-transfer-decoded body of a part
//   (BINARY[n], RFC 3516): base64 and quoted-printable decoded, identity
//   encodings as they are; any other encoding is kUnknownCte, which the
//   server answers with NO [UNKNOWN-CTE]. Identity-encoded parts, multiparts,
//   attached messages and BINARY[] (the whole message) come out as in
//   BODY[]. HEADER, TEXT, MIME and HEADER.FIELDS are refused (kBadSection):
//   RFC 3516 allows only part numbers. A base64 part is raw bytes; a
//   quoted-printable part has its hard line breaks as CRLF.
//
//   apply_partial() cuts <origin.count> out of a result; the FETCH reply
//   names the section as BODY[..]<origin>.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/imap/message_part.h"

namespace mailroom::imap {

struct Section {
    enum class Text { kNone, kHeader, kHeaderFields, kHeaderFieldsNot, kText, kMime };
    std::vector<std::uint32_t> part;  // "1.2" is {1, 2}; empty for the message itself
    Text text = Text::kNone;
    std::vector<std::string> fields;  // HEADER.FIELDS list, upper-cased

    // The section spec as the FETCH reply echoes it ("1.HEADER.FIELDS (FROM TO)").
    std::string to_string() const;
};

// nullopt when `spec` is not a valid section-spec (BAD for the server).
std::optional<Section> parse_section(std::string_view spec);

struct Partial {
    std::uint64_t origin = 0;
    std::uint64_t count = 0;
};
// "<0.100>" (with the angle brackets) -> {0, 100}; nullopt when malformed
// or count is 0 (RFC 3501 requires nz-number).
std::optional<Partial> parse_partial(std::string_view text);
// The bytes [origin, origin+count) of `data`, clipped to its length.
std::string apply_partial(std::string_view data, const Partial& p);

// BODY[section] (and RFC822 = BODY[], RFC822.HEADER = BODY[HEADER],
// RFC822.TEXT = BODY[TEXT]).
std::string extract_section(std::string_view message, const Section& section);
std::string extract_section_of(const ParsedMessage& msg, const Section& section);

enum class BinaryStatus { kOk, kUnknownCte, kBadSection };
struct BinaryResult {
    BinaryStatus status = BinaryStatus::kOk;
    std::string data;     // the decoded content
    std::string encoding; // the unknown encoding for kUnknownCte
};
// BINARY[section]; BINARY.SIZE is result.data.size().
BinaryResult extract_binary(std::string_view message, const Section& section);
BinaryResult extract_binary_of(const ParsedMessage& msg, const Section& section);

// A whole FETCH attribute naming a section, as the client wrote it:
// "BODY[1.2]", "BODY.PEEK[HEADER.FIELDS (A B)]<0.100>", "BINARY[1]",
// "BINARY.PEEK[2]<5.10>", "BINARY.SIZE[1]" (case-insensitive).
// nullopt when it is none of these or malformed (BAD for the server);
// BINARY with a non-numeric section is refused here too.
struct FetchSection {
    enum class Kind { kBody, kBinary, kBinarySize };
    Kind kind = Kind::kBody;
    bool peek = false;  // .PEEK: do not set \Seen
    Section section;
    std::optional<Partial> partial;

    // The name of the item in the FETCH reply: "BODY[1.2]<0>",
    // "BINARY[1]", "BINARY.SIZE[1]" (no .PEEK; a partial shows its origin).
    std::string reply_name() const;
};
std::optional<FetchSection> parse_fetch_section(std::string_view att);

// The part a part-number path names, or nullptr when there is none.
const MessagePart* find_part(const ParsedMessage& msg, const std::vector<std::uint32_t>& path);

}  // namespace mailroom::imap
