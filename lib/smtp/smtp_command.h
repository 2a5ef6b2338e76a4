// smtp_command.h - the pure parser from one SMTP command line to a value.
//
// Summary
//   parse_command(line, options) takes one command line as received (the
//   bytes before CRLF, CRLF already removed) and returns either a Command
//   (verb plus its decoded arguments) or a CommandError that carries the
//   exact Postfix reply to send ("501 5.5.4 Syntax: MAIL FROM:<address>").
//   It does no I/O, keeps no state and never throws, so the session, the
//   unit tests and the fuzz corpus drive it directly.
//
// Description
//   Verbs are case-insensitive. HELO/EHLO take the rest of the line as the
//   host name. MAIL FROM:/RCPT TO: take an address in angle brackets
//   (source routes "<@a,@b:user@d>" are stripped, quoted local parts are
//   kept as written, "<>" is the null sender) followed by ESMTP parameters:
//   MAIL: SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH; RCPT: NOTIFY, ORCPT.
//   xtext values (ENVID, ORCPT, AUTH) are decoded. White space after the
//   colon is accepted ("MAIL FROM: <a@b>"), as Postfix's tokenizer does.
//   With strict_rfc821_envelopes = no (the default) an address without
//   angle brackets ("mail from:hadoop", as typed in the seed) is accepted;
//   with yes it is "501 5.1.7 Bad sender address syntax" (5.1.3 for RCPT).
//   Whether a command is allowed in the current session state (HELO
//   first, MAIL before RCPT, ...) is not the parser's business.
//
// Diagnostics
//   CommandError::kind tells a recoverable error (reply, then read the
//   next command) from a fatal one (the input is out of sync - a line over
//   line_length_limit - and the session should reply and stop reading
//   this line; Postfix then continues with the next line).
//
// Security
//   All input is hostile. The line is bounded by line_length_limit before
//   any parsing; each field is bounded by the line; numbers are checked
//   for overflow; NUL and other control bytes are rejected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "lib/config/config.h"
#include "lib/util/result.h"

namespace mailroom::smtp {

enum class Verb {
    kHelo,
    kEhlo,
    kMail,
    kRcpt,
    kData,
    kBdat,
    kRset,
    kNoop,
    kQuit,
    kVrfy,
    kEtrn,
    kStartTls,
    kAuth,
    kHelp,
    kUnknown,
};

// The verb's canonical upper-case name ("MAIL"); "UNKNOWN" for kUnknown.
std::string_view verb_name(Verb verb);

enum class BodyType { kDefault, k7Bit, k8BitMime, kBinaryMime };
enum class DsnRet { kDefault, kFull, kHdrs };

// NOTIFY= bits (RFC 3461). kNever excludes the others.
enum DsnNotify : unsigned {
    kNotifyNone = 0,
    kNotifySuccess = 1u << 0,
    kNotifyDelay = 1u << 1,
    kNotifyFailure = 1u << 2,
    kNotifyNever = 1u << 3,
};

// The queue file's NOTIFY text of DsnNotify bits: "NEVER", or
// "SUCCESS,FAILURE,DELAY" (those set, in that order); "" for none.
std::string dsn_notify_text(unsigned notify);

struct MailParams {
    std::optional<uint64_t> size;   // SIZE=n
    BodyType body = BodyType::kDefault;
    bool smtputf8 = false;          // SMTPUTF8
    DsnRet ret = DsnRet::kDefault;  // RET=FULL|HDRS
    std::string envid;              // ENVID=, xtext-decoded
    std::optional<std::string> auth;  // AUTH=, xtext-decoded ("<>" kept)
};

struct RcptParams {
    unsigned notify = kNotifyNone;  // DsnNotify bits
    std::string orcpt_type;         // ORCPT=type;... ("rfc822")
    std::string orcpt_address;      // xtext-decoded
};

struct Command {
    Verb verb = Verb::kUnknown;
    std::string verb_text;  // the verb as sent (for logging unknown commands)
    std::string argument;   // the text after the verb, trimmed (HELO name, VRFY, ETRN, HELP, QUIT)
    // MAIL / RCPT
    std::string address;    // without angle brackets and source route; "" = null sender
    MailParams mail;
    RcptParams rcpt;
    // BDAT
    uint64_t bdat_size = 0;
    bool bdat_last = false;
    // AUTH
    std::string auth_mechanism;                // upper-cased
    std::optional<std::string> auth_initial;   // "=" means present and empty
};

struct CommandError {
    enum class Kind { kRecoverable, kFatal };
    int code = 500;
    std::string dsn;   // "5.5.2", or "" when Postfix sends none
    std::string text;  // "Error: bad syntax"
    Kind kind = Kind::kRecoverable;

    // The reply line without CRLF: "501 5.5.4 Syntax: MAIL FROM:<address>".
    std::string reply() const;
    bool fatal() const { return kind == Kind::kFatal; }
};

// Either a Command or a CommandError; never both, never neither.
class [[nodiscard]] ParseResult {
public:
    ParseResult(Command c) : v_(std::move(c)) {}
    ParseResult(CommandError e) : v_(std::move(e)) {}
    bool ok() const { return v_.index() == 0; }
    const Command& command() const { return std::get<0>(v_); }
    const CommandError& error() const { return std::get<1>(v_); }

private:
    std::variant<Command, CommandError> v_;
};

struct ParseOptions {
    bool strict_rfc821_envelopes = false;  // strict_rfc821_envelopes
    size_t line_length_limit = 2048;       // line_length_limit
};

// strict_rfc821_envelopes and line_length_limit from main.cf.
Result<ParseOptions> parse_options_from_config(const config::Config& config);

ParseResult parse_command(std::string_view line, const ParseOptions& options = {});

// Decodes RFC 3461 xtext ("+2B" -> "+"); nullopt on bad syntax (a '+'
// without two upper-case hex digits, or a byte outside '!'..'~', or '=').
std::optional<std::string> xtext_decode(std::string_view text);
// RFC 3461 xtext: '+', '=' and bytes outside '!'..'~' become "+HH".
std::string xtext_encode(std::string_view text);

// Extracts the address from the text after "FROM:"/"TO:" (the bracketed
// form, or in non-strict mode a bare word); exposed for tests. On success
// *rest gets the parameter text after the address.
struct AddressParse {
    std::string address;
    std::string rest;
};
std::optional<AddressParse> parse_path(std::string_view text, bool strict);

}  // namespace mailroom::smtp
