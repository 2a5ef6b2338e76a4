// mime_parser.h - a streaming MIME structure parser (RFC 2045, 2046).
//
// Summary
//   MimeParser takes a message line by line (pieces of long lines
//   allowed) and reports, through callbacks, what each line is:
//     header()      one whole logical header (continuation lines joined
//                   by "\n"), with its class: kPrimary (the message's own
//                   header), kMultipart (the header of a multipart body
//                   part) or kNested (the header of an attached
//                   message/rfc822 message);
//     header_end()  a header block is over (before the line that ends it);
//     body()        every other line or piece of a line: the empty line
//                   after a header, body text, preambles, epilogues and
//                   boundary lines.
//   Nothing but the current header is held: at most header_size_limit
//   bytes of it (the excess is dropped, as Postfix does), and one
//   boundary string per open multipart.
//
// Description
//   Content-Type decides the structure: multipart/* with a boundary
//   parameter opens a level whose "--boundary" lines start part headers
//   and whose "--boundary--" line closes it (a closing boundary of an
//   outer level closes the inner ones too); message/rfc822 (and a part of
//   multipart/digest without a Content-Type) makes the header that
//   follows kNested. Only identity encodings (none, 7bit, 8bit, binary)
//   are looked into. Boundaries longer than boundary_length_limit are cut
//   to that length and compared as a prefix. A level beyond
//   nesting_limit is not opened: errors() gets kErrNesting and the rest is
//   plain body. With `disabled` (disable_mime_input_processing) only the
//   primary header is recognised; everything after it is body.
//
//   Lines may end with CR (CRLF input): a trailing CR is ignored when
//   matching boundaries and header syntax, and passed on unchanged.
//
// Security
//   Input is hostile: memory is bounded as above, every level costs one
//   bounded boundary string, and the nesting depth is limited.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::mime {

enum class HeaderClass { kPrimary, kMultipart, kNested };

// Bits of MimeParser::errors().
inline constexpr unsigned kErrNesting = 1u << 0;       // nesting_limit exceeded
inline constexpr unsigned kErrTruncHeader = 1u << 1;   // a header over header_size_limit was cut

struct MimeLimits {
    int nesting_limit = 100;                  // mime_nesting_limit
    std::size_t boundary_length_limit = 2048; // mime_boundary_length_limit
    std::size_t header_size_limit = 102400;   // header_size_limit
    bool disabled = false;                    // disable_mime_input_processing
};

struct MimeCallbacks {
    std::function<void(HeaderClass cls, std::string header)> header;
    std::function<void(HeaderClass cls)> header_end;
    std::function<void(std::string_view piece, bool line_end)> body;
};

// The parts of a Content-Type value (lower-cased type and subtype; the
// boundary as written).
struct ContentType {
    std::string type;
    std::string subtype;
    std::string boundary;
};
ContentType parse_content_type(std::string_view value);

// The field name of a header line ("Subject"), or "" when the line does
// not start a header.
std::string_view header_name(std::string_view line);

// Structured-field scanning (RFC 2045 tokens, RFC 5322 CFWS), shared with
// lib/imap: whether c is a token character; skip white space, line breaks
// and (nested) comments from *i; read the token at *i (maybe empty).
bool is_token_char(char c);
void skip_cfws(std::string_view s, std::size_t* i);
std::string read_token(std::string_view s, std::size_t* i);

// The "; name=value" parameters of a structured field from offset `i` on,
// in order: names as written, quoted values unquoted (line breaks
// dropped); junk between parameters skipped; at most kMaxParameters.
inline constexpr std::size_t kMaxParameters = 1000;
std::vector<std::pair<std::string, std::string>> parse_parameters(std::string_view value, std::size_t i);

class MimeParser {
public:
    MimeParser(MimeLimits limits, MimeCallbacks callbacks);

    // One piece of a line; `line_end` marks the piece that ends it.
    void feed(std::string_view piece, bool line_end);
    // The input is over: a header in progress is reported.
    void finish();

    unsigned errors() const { return errors_; }
    // The depth of open levels (multiparts and nested messages).
    int depth() const { return static_cast<int>(levels_.size()); }

private:
    enum class State { kHeader, kBody };
    struct Level {
        std::string boundary;  // "" for a nested message
        bool digest = false;   // multipart/digest: parts default to message/rfc822
    };

    void header_line(std::string line);
    void flush_header();
    void end_header_block();
    void body_line_start(std::string_view piece, bool line_end);
    void open_level(Level level);

    MimeLimits limits_;
    MimeCallbacks cb_;
    State state_ = State::kHeader;
    HeaderClass class_ = HeaderClass::kPrimary;
    std::vector<Level> levels_;
    bool line_start_ = true;
    bool body_passthrough_ = false;  // the rest of the current line is body
    std::string line_;               // the header line being collected
    std::string header_;             // the logical header being collected
    bool continuation_ = false;     // the line being collected continues a header
    bool line_dropped_ = false;     // part of it went over header_size_limit
    // What the current header block declared.
    ContentType ctype_;
    bool identity_encoding_ = true;
    bool digest_part_ = false;  // the block is a part of multipart/digest
    unsigned errors_ = 0;
};

}  // namespace mailroom::mime
