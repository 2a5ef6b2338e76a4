// message_part.h - the MIME part tree of one message, by offsets into its bytes.
//
// Summary
//   parse_message() reads a whole message (LF or CRLF line ends, as the
//   mail store keeps it) into a tree of MessagePart: for each part the
//   byte ranges of its header and body, its Content-* fields, and its
//   children (the parts of a multipart, or the one message of a
//   message/rfc822 part). Nothing is copied but the parsed field values;
//   the tree holds offsets into the caller's buffer, which must outlive
//   it. This is what ENVELOPE, BODYSTRUCTURE, section extraction, SEARCH
//   and SORT read.
//
// Description
//   Structure follows RFC 2045/2046 as Dovecot reads it: a multipart
//   without a boundary parameter has one empty part; a missing
//   closing boundary ends the multipart at the end of its enclosing body;
//   boundary lines of an outer multipart end inner ones; a multipart with
//   no parts at all gets one empty part (so BODYSTRUCTURE always has a
//   body). Defaults: text/plain; charset=us-ascii, or message/rfc822 in
//   multipart/digest. message/rfc822 and message/global bodies are parsed
//   as messages (only when the encoding is an identity one; otherwise the
//   attached message is empty).
//
//   Sizes and line counts are those IMAP reports (and Dovecot counts):
//   bytes as sent in CRLF (a bare LF counts two), lines as the number of
//   line ends in the body.
//
// Limits
//   Nesting deeper than kMaxDepth is not parsed further (the part becomes
//   a leaf); at most kMaxParts parts per message; header fields over
//   kMaxHeaderField bytes are cut when parsed (the bytes stay as they are).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::imap {

inline constexpr int kMaxDepth = 50;
inline constexpr std::size_t kMaxParts = 10000;
inline constexpr std::size_t kMaxHeaderField = 65536;

// A parameter list as written (values unquoted).
using Params = std::vector<std::pair<std::string, std::string>>;

struct MessagePart {
    // Byte ranges in the message buffer: [header_begin, body_begin) is the
    // header including the empty line that ends it; [body_begin, body_end)
    // is the body (for a part of a multipart, without the line break that
    // belongs to the following boundary line).
    std::size_t header_begin = 0;
    std::size_t body_begin = 0;
    std::size_t body_end = 0;

    // Content-Type: type and subtype lower-cased (for decisions) and as
    // written (for BODYSTRUCTURE, as Dovecot echoes them); its parameters
    // with names as written; whether the header had a Content-Type at all.
    std::string type = "text";
    std::string subtype = "plain";
    std::string type_raw = "text";
    std::string subtype_raw = "plain";
    Params params;
    bool has_content_type = false;
    std::optional<std::string> id;           // Content-ID
    std::optional<std::string> description;  // Content-Description
    std::string encoding = "7bit";           // Content-Transfer-Encoding, lower-cased
    std::string encoding_raw = "7bit";       // ... as written
    bool has_encoding = false;
    std::optional<std::string> md5;          // Content-MD5
    std::optional<std::string> disposition;  // Content-Disposition type, as written
    Params disposition_params;
    std::vector<std::string> language;       // Content-Language
    std::optional<std::string> location;     // Content-Location

    // IMAP sizes (CRLF counted): header incl. its blank line, and body.
    std::uint64_t header_size = 0;
    std::uint64_t body_size = 0;
    std::uint64_t body_lines = 0;

    // Children: parts of a multipart, or the single message of a
    // message/rfc822 (whose own part is children[0], with header_begin at
    // this part's body_begin).
    std::vector<std::unique_ptr<MessagePart>> children;
    bool is_multipart() const { return type == "multipart"; }
    // message/rfc822 or message/global: children[0] is the attached
    // message (empty when the encoding is not an identity one, as Dovecot
    // has it, since an encoded message is not looked into).
    bool is_message() const;

    // The value of a parameter (name compared case-insensitively), or nullptr.
    const std::string* param(std::string_view name) const;
};

struct ParsedMessage {
    std::string_view bytes;  // the message the offsets point into
    std::unique_ptr<MessagePart> root;
    bool truncated = false;  // kMaxDepth or kMaxParts stopped the parse
};

ParsedMessage parse_message(std::string_view bytes);

// The size of `s` when every bare LF is sent as CRLF.
std::uint64_t crlf_size(std::string_view s);
// `s` with every line end (LF or CRLF) written as CRLF.
std::string to_crlf(std::string_view s);

// The header fields of a header block, one entry per field: name as
// written and the raw value (after the colon, continuation lines kept,
// trailing line end removed).
struct HeaderField {
    std::string_view name;
    std::string_view value;
    std::string_view raw;  // the whole field including its line end(s)
};
std::vector<HeaderField> parse_header_fields(std::string_view header);
// The first field named `name` (case-insensitive), unfolded (line ends
// removed) or nullopt.
std::optional<std::string> header_value(std::string_view header, std::string_view name);
// All fields named `name`, unfolded.
std::vector<std::string> header_values(std::string_view header, std::string_view name);

// A parameter list after ';' (Content-Type, Content-Disposition): names
// as written, quoted values unquoted; RFC 2231 continuations joined
// ("title*0*", "title*1*" give one "title*" still carrying its
// charset'lang' prefix and %-escapes; "title*0", "title*1" give "title").
Params parse_params(std::string_view text);

}  // namespace mailroom::imap
