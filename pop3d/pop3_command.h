// pop3_command.h - the POP3 command parser (RFC 1939, 2449, 2595, 5034).
//
// Summary
//   parse_pop3_command() takes one command line (without its CRLF) and
//   returns the command and its checked arguments, or the -ERR text to
//   answer. Pure: no I/O, no session state, so the unit tests and the fuzz
//   target (tests/fuzz/pop3_command_fuzz.h) drive it directly. Which
//   commands the current state allows is the session's business.
//
// Description
//   Keywords are case-insensitive; arguments are separated by single or
//   repeated spaces. PASS keeps everything after "PASS " as the password
//   (spaces included, as Dovecot does). Message numbers are decimal,
//   1..2^31-1; TOP's line count 0..2^31-1. AUTH takes a mechanism and an
//   optional initial response (RFC 5034's SASL-IR; "=" is an empty one).
//   Lines longer than kMaxPop3Line are refused before parsing by the
//   session, and here.
//
// Thread safety
//   Reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::pop3d {

// RFC 2449: a command line is at most 255 octets; SASL responses and
// long passwords need more, so the session allows this much.
inline constexpr std::size_t kMaxPop3Line = 8192;

enum class Pop3Verb {
    kUser, kPass, kApop, kAuth, kCapa, kStls, kQuit,
    kStat, kList, kRetr, kDele, kNoop, kRset, kTop, kUidl,
};

struct Pop3Command {
    Pop3Verb verb = Pop3Verb::kNoop;
    std::string arg;                 // USER name, PASS password, APOP name, AUTH mechanism (upper case)
    std::string arg2;                // APOP digest, AUTH initial response
    bool has_arg2 = false;           // AUTH: an initial response was given
    std::optional<std::uint32_t> msg;  // LIST, RETR, DELE, TOP, UIDL: message number
    std::uint32_t lines = 0;         // TOP: how many body lines
};

struct Pop3ParseResult {
    std::optional<Pop3Command> command;
    std::string error;  // the text after "-ERR " when there is no command
};

Pop3ParseResult parse_pop3_command(std::string_view line);

// The keyword of a line, upper-cased and cut to 16 bytes (for logs).
std::string pop3_keyword(std::string_view line);

}  // namespace mailroom::pop3d
