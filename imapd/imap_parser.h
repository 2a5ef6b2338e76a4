// imap_parser.h - the IMAP command wire parser (RFC 3501 §9, RFC 9051,
// RFC 7888 LITERAL+/LITERAL-, RFC 3516 literal8).
//
// Summary
//   Two halves. ImapFramer assembles one command from the connection: it
//   is fed whole lines (CRLF removed) and, after a line that ends in a
//   literal announcement ({n}, {n+}, ~{n}), the literal's n raw bytes. It
//   says when a synchronising literal needs the "+ " continuation, when a
//   literal or the command is too big (imap_max_line_length counts the
//   command's text outside APPEND's message literals; a message literal
//   may be up to max_literal), and when the command is complete.
//   parse_imap_command() then turns the assembled text into a tag, a
//   command name (upper case) and a tree of arguments: atoms, quoted
//   strings, literals and nested parenthesised lists. Atoms keep FETCH's
//   section syntax whole (BODY.PEEK[HEADER.FIELDS (From To)]<0.100>).
//   Sequence sets and string quoting are lib/imap's (sequence_set.h,
//   imap_string.h).
//
// Description
//   Pure functions and a small state object: no I/O. Every error is a text
//   for a tagged BAD (or NO [TOOBIG]) and the session goes on. The tag is
//   known as soon as the first line starts, so even an over-long command
//   is answered with its tag.
//
// Thread safety
//   None needed: values only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::imapd {

// imap_max_line_length's default (Dovecot's 64k).
constexpr std::size_t kDefaultMaxLine = 65536;
// LITERAL-: non-synchronising literals up to this size (RFC 7888).
constexpr std::size_t kLiteralMinusMax = 4096;

struct ImapArg {
    enum class Type { kAtom, kQuoted, kLiteral, kList, kNil };
    Type type = Type::kAtom;
    std::string value;          // atom text, string contents
    std::vector<ImapArg> list;  // kList
    bool literal8 = false;      // ~{n}

    bool is_string() const { return type == Type::kQuoted || type == Type::kLiteral; }
    // atom, quoted or literal (an astring); NIL is not.
    bool is_astring() const { return type == Type::kAtom || is_string(); }
};

struct ImapCommand {
    std::string tag;
    std::string name;  // upper case; "UID FETCH" etc. stay two args: name "UID", args[0] "FETCH"
    std::vector<ImapArg> args;
};

struct ImapParseResult {
    std::optional<ImapCommand> command;
    std::string tag;    // set when a tag could be read, also on error
    std::string error;  // for "tag BAD <error>"
};

// Parses one assembled command (lines joined by CRLF, each literal's bytes
// right after the CRLF that follows its announcement).
ImapParseResult parse_imap_command(std::string_view text);

// A valid IMAP tag: astring chars except '+'.
bool valid_tag(std::string_view tag);

// The trailing literal announcement of a line: {n}, {n+}, ~{n}, ~{n+}.
struct LiteralAnnouncement {
    std::uint64_t size = 0;
    bool nonsync = false;
    bool literal8 = false;
};
std::optional<LiteralAnnouncement> trailing_literal(std::string_view line);

class ImapFramer {
public:
    struct Limits {
        std::size_t max_line = kDefaultMaxLine;           // command text (imap_max_line_length)
        std::size_t max_literal = 50 * 1024 * 1024;       // APPEND's message (APPENDLIMIT)
        bool literal_plus = true;                         // LITERAL+ (false: LITERAL-, <= 4096)
    };
    enum class Step {
        kNeedLine,      // read the next line and call line()
        kNeedLiteral,   // read literal_remaining() raw bytes and call literal()
        kContinue,      // send "+ OK" then read the literal
        kComplete,      // text() is a whole command: parse it, then reset()
        kSkipLiteral,   // throw literal_remaining() bytes away with skip(), then the line's rest
        kError,         // answer "tag <error_reply()>", reset(); skip the rest of the line
    };

    explicit ImapFramer(Limits limits) : limits_(limits) {}
    void set_limits(Limits limits) { limits_ = limits; }

    // A whole line (no CRLF). `complete` false: the line was cut at the
    // channel's line bound (too long).
    Step line(std::string_view line, bool complete = true);
    // Raw literal bytes (up to literal_remaining()).
    Step literal(std::string_view bytes);
    // Bytes of a refused non-synchronising literal thrown away.
    Step skip(std::size_t n);

    std::size_t literal_remaining() const { return literal_left_; }
    const std::string& text() const { return text_; }
    std::string take_text() { return std::move(text_); }
    const std::string& tag() const { return tag_; }
    // "BAD ..." or "NO [TOOBIG] ..." (without the tag).
    const std::string& error_reply() const { return error_; }
    // After kError: the rest of the client's current line is to be dropped
    // (the line was cut, or a refused literal's command goes on after it).
    bool skip_rest() const { return skip_rest_; }
    // The bytes awaited are a refused literal's (skip(), not literal()).
    bool skipping() const { return skip_rest_ && literal_left_ > 0; }
    // A command is being assembled (lines or literal bytes still to come).
    bool in_progress() const { return !text_.empty() || literal_left_ > 0; }
    void reset();

private:
    Step fail(std::string reply, bool skip_rest);
    bool is_append() const;

    Limits limits_;
    std::string text_;
    std::string tag_;
    std::string error_;
    std::size_t literal_left_ = 0;
    std::size_t text_bytes_ = 0;  // counted against max_line
    bool skip_rest_ = false;
};

// Case-insensitive ASCII compare.
bool iequals(std::string_view a, std::string_view b);
std::string upper(std::string_view s);

}  // namespace mailroom::imapd
