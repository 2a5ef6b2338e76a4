// smtp_command.cc - see smtp_command.h.
//
// Description
//   The parser works on std::string_view slices of the caller's line and
//   copies only the fields it returns. Every loop is bounded by the line,
//   which is itself bounded by line_length_limit before anything else.
#include "lib/smtp/smtp_command.h"

#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>

#include "lib/util/strings.h"

namespace mailroom::smtp {
namespace {

using util::iequals;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

// Collapses runs of blanks into one space (Postfix joins HELO arguments).
std::string collapse_blanks(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool in_blank = false;
    for (char c : s) {
        if (is_blank(c)) {
            in_blank = true;
            continue;
        }
        if (in_blank && !out.empty()) out.push_back(' ');
        in_blank = false;
        out.push_back(c);
    }
    return out;
}

CommandError err(int code, std::string dsn, std::string text,
                 CommandError::Kind kind = CommandError::Kind::kRecoverable) {
    return CommandError{code, std::move(dsn), std::move(text), kind};
}

CommandError bad_syntax() { return err(500, "5.5.2", "Error: bad syntax"); }

struct VerbEntry {
    std::string_view name;
    Verb verb;
};

constexpr std::array<VerbEntry, 14> kVerbs = {{
    {"HELO", Verb::kHelo},
    {"EHLO", Verb::kEhlo},
    {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt},
    {"DATA", Verb::kData},
    {"BDAT", Verb::kBdat},
    {"RSET", Verb::kRset},
    {"NOOP", Verb::kNoop},
    {"QUIT", Verb::kQuit},
    {"VRFY", Verb::kVrfy},
    {"ETRN", Verb::kEtrn},
    {"STARTTLS", Verb::kStartTls},
    {"AUTH", Verb::kAuth},
    {"HELP", Verb::kHelp},
}};

Verb lookup_verb(std::string_view text) {
    for (const auto& e : kVerbs) {
        if (iequals(e.name, text)) return e.verb;
    }
    return Verb::kUnknown;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// Decimal without overflow; nullopt when not all digits or too large.
std::optional<uint64_t> parse_u64(std::string_view s) {
    if (!all_digits(s) || s.size() > 20) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

// Validates the inside of <...> after source-route removal: no control
// characters, no unquoted white space or angle brackets, balanced quotes.
bool valid_mailbox_text(std::string_view a) {
    bool quoted = false;
    for (size_t i = 0; i < a.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(a[i]);
        if (c < 0x20 || c == 0x7f) return false;
        if (quoted) {
            if (c == '\\') {
                if (i + 1 >= a.size()) return false;
                ++i;
                continue;
            }
            if (c == '"') quoted = false;
            continue;
        }
        if (c == '"') {
            quoted = true;
            continue;
        }
        if (c == ' ' || c == '<' || c == '>' || c == '\\') return false;
    }
    return !quoted;
}

// Removes "@a,@b:" from "@a,@b:user@d"; nullopt when the route is malformed.
std::optional<std::string_view> strip_source_route(std::string_view a) {
    if (a.empty() || a.front() != '@') return a;
    size_t colon = a.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view route = a.substr(0, colon);
    // Each hop is "@domain", separated by commas.
    size_t pos = 0;
    while (pos < route.size()) {
        if (route[pos] != '@') return std::nullopt;
        size_t comma = route.find(',', pos);
        size_t end = comma == std::string_view::npos ? route.size() : comma;
        if (end - pos < 2) return std::nullopt;
        pos = comma == std::string_view::npos ? route.size() : comma + 1;
        if (comma != std::string_view::npos && pos >= route.size()) return std::nullopt;
    }
    return a.substr(colon + 1);
}

}  // namespace

std::string_view verb_name(Verb verb) {
    for (const auto& e : kVerbs) {
        if (e.verb == verb) return e.name;
    }
    return "UNKNOWN";
}

std::string CommandError::reply() const {
    std::string out = std::to_string(code);
    out.push_back(' ');
    if (!dsn.empty()) {
        out += dsn;
        out.push_back(' ');
    }
    out += text;
    return out;
}

std::string xtext_encode(std::string_view text) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (c < 33 || c > 126 || c == '+' || c == '=') {
            out += '+';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::optional<std::string> xtext_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            if (i + 2 >= text.size()) return std::nullopt;
            int hi = hex(text[i + 1]);
            int lo = hex(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
            continue;
        }
        if (c < '!' || c > '~' || c == '=') return std::nullopt;
        out.push_back(static_cast<char>(c));
    }
    return out;
}

std::optional<AddressParse> parse_path(std::string_view text, bool strict) {
    text = trim_blanks(text);
    if (text.empty()) return std::nullopt;
    AddressParse out;
    if (text.front() != '<') {
        if (strict) return std::nullopt;
        // Bare address: up to the first blank.
        size_t end = 0;
        while (end < text.size() && !is_blank(text[end])) ++end;
        std::string_view word = text.substr(0, end);
        if (word.find('<') != std::string_view::npos || word.find('>') != std::string_view::npos) {
            return std::nullopt;
        }
        auto stripped = strip_source_route(word);
        if (!stripped || !valid_mailbox_text(*stripped) || stripped->empty()) return std::nullopt;
        out.address = std::string(*stripped);
        out.rest = std::string(trim_blanks(text.substr(end)));
        return out;
    }
    // Bracketed: find the closing '>' outside quotes.
    bool quoted = false;
    size_t close = std::string_view::npos;
    for (size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '\\') {
                ++i;
                continue;
            }
            if (c == '"') quoted = false;
            continue;
        }
        if (c == '"') {
            quoted = true;
            continue;
        }
        if (c == '>') {
            close = i;
            break;
        }
    }
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view inside = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (!after.empty() && !is_blank(after.front())) return std::nullopt;
    auto stripped = strip_source_route(inside);
    if (!stripped || !valid_mailbox_text(*stripped)) return std::nullopt;
    // "<@a:>" is a route to nothing.
    if (stripped->empty() && !inside.empty()) return std::nullopt;
    out.address = std::string(*stripped);
    out.rest = std::string(trim_blanks(after));
    return out;
}

namespace {

// Splits "NAME=VALUE" (VALUE may be absent).
struct Param {
    std::string_view name;
    std::optional<std::string_view> value;
    std::string_view text;
};

Param split_param(std::string_view word) {
    Param p;
    p.text = word;
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
        p.name = word;
    } else {
        p.name = word.substr(0, eq);
        p.value = word.substr(eq + 1);
    }
    return p;
}

template <class Fn>
std::optional<CommandError> for_each_word(std::string_view rest, Fn&& fn) {
    size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && is_blank(rest[i])) ++i;
        size_t start = i;
        while (i < rest.size() && !is_blank(rest[i])) ++i;
        if (i > start) {
            if (auto e = fn(rest.substr(start, i - start))) return e;
        }
    }
    return std::nullopt;
}

CommandError unsupported(std::string_view text) {
    return err(555, "5.5.4", "Unsupported option: " + std::string(text));
}

bool all_printable(std::string_view s) {
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return false;
    }
    return true;
}

// MAIL FROM parameters, with Postfix's replies: a repeated RET or ENVID
// is reported as bad syntax, a repeated SIZE or BODY simply wins, and
// anything unknown (including BODY=<other> and SMTPUTF8=<value>) is
// "555 5.5.4 Unsupported option".
std::optional<CommandError> parse_mail_params(std::string_view rest, MailParams* mp) {
    bool have_ret = false, have_envid = false, have_auth = false;
    return for_each_word(rest, [&](std::string_view word) -> std::optional<CommandError> {
        Param p = split_param(word);
        if (iequals(p.name, "BODY") && p.value && iequals(*p.value, "8BITMIME")) {
            mp->body = BodyType::k8BitMime;
        } else if (iequals(p.name, "BODY") && p.value && iequals(*p.value, "7BIT")) {
            mp->body = BodyType::k7Bit;
        } else if (iequals(p.name, "BODY") && p.value && iequals(*p.value, "BINARYMIME")) {
            mp->body = BodyType::kBinaryMime;
        } else if (iequals(p.name, "SIZE") && p.value) {
            if (!all_digits(*p.value)) return err(501, "5.5.4", "Bad message size syntax");
            auto v = parse_u64(*p.value);
            if (!v || *v > static_cast<uint64_t>(INT64_MAX)) {
                return err(552, "5.3.4", "Message size exceeds file system imposed limit");
            }
            mp->size = *v;
        } else if (iequals(p.name, "SMTPUTF8") && !p.value) {
            mp->smtputf8 = true;
        } else if (iequals(p.name, "AUTH") && p.value) {
            if (have_auth) return err(503, "5.5.4", "Error: multiple AUTH= options");
            have_auth = true;
            if (*p.value == "<>") {
                mp->auth = std::string("<>");
            } else {
                auto v = xtext_decode(*p.value);
                if (!v || v->empty()) return err(501, "5.5.4", "Bad AUTH parameter syntax");
                mp->auth = std::move(*v);
            }
        } else if (iequals(p.name, "RET") && p.value) {
            if (have_ret) return err(501, "5.5.4", "Bad RET parameter syntax");
            have_ret = true;
            if (iequals(*p.value, "FULL")) {
                mp->ret = DsnRet::kFull;
            } else if (iequals(*p.value, "HDRS")) {
                mp->ret = DsnRet::kHdrs;
            } else {
                return err(501, "5.5.4", "Bad RET parameter syntax");
            }
        } else if (iequals(p.name, "ENVID") && p.value) {
            auto v = have_envid || p.value->size() > 100 ? std::nullopt : xtext_decode(*p.value);
            if (!v || !all_printable(*v)) return err(501, "5.5.4", "Bad ENVID parameter syntax");
            have_envid = true;
            mp->envid = std::move(*v);
        } else {
            return unsupported(p.text);
        }
        return std::nullopt;
    });
}

std::optional<unsigned> parse_notify(std::string_view v) {
    if (v.empty()) return std::nullopt;
    unsigned bits = 0;
    size_t pos = 0;
    while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        std::string_view item = v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos);
        if (iequals(item, "NEVER")) {
            bits |= kNotifyNever;
        } else if (iequals(item, "SUCCESS")) {
            bits |= kNotifySuccess;
        } else if (iequals(item, "DELAY")) {
            bits |= kNotifyDelay;
        } else if (iequals(item, "FAILURE")) {
            bits |= kNotifyFailure;
        } else {
            return std::nullopt;
        }
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    if ((bits & kNotifyNever) && bits != kNotifyNever) return std::nullopt;
    return bits;
}

// RCPT TO parameters. A repeated NOTIFY or ORCPT is bad syntax.
std::optional<CommandError> parse_rcpt_params(std::string_view rest, RcptParams* rp) {
    bool have_notify = false, have_orcpt = false;
    return for_each_word(rest, [&](std::string_view word) -> std::optional<CommandError> {
        Param p = split_param(word);
        if (iequals(p.name, "NOTIFY") && p.value) {
            auto bits = have_notify ? std::nullopt : parse_notify(*p.value);
            if (!bits) return err(501, "5.5.4", "Error: Bad NOTIFY parameter syntax");
            have_notify = true;
            rp->notify = *bits;
        } else if (iequals(p.name, "ORCPT") && p.value) {
            CommandError bad = err(501, "5.5.4", "Error: Bad ORCPT parameter syntax");
            size_t semi = p.value->find(';');
            if (have_orcpt || semi == std::string_view::npos || semi == 0 || p.value->size() > 500) return bad;
            auto addr = xtext_decode(p.value->substr(semi + 1));
            if (!addr) return bad;
            have_orcpt = true;
            rp->orcpt_type = std::string(p.value->substr(0, semi));
            rp->orcpt_address = std::move(*addr);
        } else {
            return unsupported(p.text);
        }
        return std::nullopt;
    });
}

// Splits "FROM:rest" / "TO:rest" (case-insensitive). Blanks between the
// keyword and the colon are a syntax error in both modes; blanks after
// the colon are skipped by parse_path().
std::optional<std::string_view> after_keyword(std::string_view arg, std::string_view keyword) {
    if (arg.size() < keyword.size() || !iequals(arg.substr(0, keyword.size()), keyword)) return std::nullopt;
    return arg.substr(keyword.size());
}

ParseResult parse_mail_or_rcpt(Command cmd, std::string_view arg, const ParseOptions& options) {
    bool is_mail = cmd.verb == Verb::kMail;
    std::string_view keyword = is_mail ? "FROM:" : "TO:";
    CommandError syntax = is_mail ? err(501, "5.5.4", "Syntax: MAIL FROM:<address>")
                                  : err(501, "5.5.4", "Syntax: RCPT TO:<address>");
    CommandError bad_addr = is_mail ? err(501, "5.1.7", "Bad sender address syntax")
                                    : err(501, "5.1.3", "Bad recipient address syntax");
    auto rest = after_keyword(arg, keyword);
    if (!rest) return syntax;
    std::string_view path_text = *rest;
    if (trim_blanks(path_text).empty()) return syntax;
    auto path = parse_path(path_text, options.strict_rfc821_envelopes);
    if (!path) return bad_addr;
    if (!is_mail && path->address.empty()) return bad_addr;
    cmd.address = std::move(path->address);
    std::optional<CommandError> perr =
        is_mail ? parse_mail_params(path->rest, &cmd.mail) : parse_rcpt_params(path->rest, &cmd.rcpt);
    if (perr) return std::move(*perr);
    return cmd;
}

// Host name syntax for ETRN: dot-separated labels of letters, digits,
// '-' and '_' (the full check lives in smtpd_check's valid_hostname).
bool valid_etrn_domain(std::string_view d) {
    if (d.empty() || d.size() > 255 || d.front() == '.' || d.back() == '.') return false;
    bool prev_dot = false;
    for (char c : d) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '.') {
            if (prev_dot) return false;
            prev_dot = true;
            continue;
        }
        prev_dot = false;
        if (!std::isalnum(u) && c != '-' && c != '_') return false;
    }
    return true;
}

bool valid_sasl_mechanism(std::string_view m) {
    if (m.empty() || m.size() > 20) return false;
    for (char c : m) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

Result<ParseOptions> parse_options_from_config(const config::Config& config) {
    ParseOptions o;
    Result<bool> strict = config.get_bool("strict_rfc821_envelopes");
    if (!strict) return strict.error();
    Result<long long> limit = config.get_int("line_length_limit");
    if (!limit) return limit.error();
    o.strict_rfc821_envelopes = *strict;
    o.line_length_limit = static_cast<size_t>(*limit);
    return o;
}

ParseResult parse_command(std::string_view line, const ParseOptions& options) {
    // The bound comes first: nothing else looks at an over-long line.
    if (options.line_length_limit > 0 && line.size() > options.line_length_limit) {
        return err(500, "5.5.2", "Error: line too long", CommandError::Kind::kFatal);
    }
    for (char c : line) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u == 0 || u == '\r' || u == '\n') return bad_syntax();
    }
    std::string_view text = trim_blanks(line);
    if (text.empty()) return bad_syntax();

    size_t vend = 0;
    while (vend < text.size() && !is_blank(text[vend])) ++vend;
    Command cmd;
    std::string_view verb_text = text.substr(0, vend);
    std::string_view arg = trim_blanks(text.substr(vend));
    cmd.verb = lookup_verb(verb_text);
    cmd.verb_text = std::string(verb_text.substr(0, 64));
    if (cmd.verb == Verb::kUnknown) return err(502, "5.5.2", "Error: command not recognized");
    // No verb takes control bytes in its argument (tabs are blanks).
    for (char c : arg) {
        unsigned char u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) return bad_syntax();
    }

    switch (cmd.verb) {
    case Verb::kHelo:
    case Verb::kEhlo:
        if (arg.empty()) {
            return err(501, "", cmd.verb == Verb::kHelo ? "Syntax: HELO hostname" : "Syntax: EHLO hostname");
        }
        cmd.argument = collapse_blanks(arg);
        return cmd;
    case Verb::kMail:
    case Verb::kRcpt:
        return parse_mail_or_rcpt(std::move(cmd), arg, options);
    case Verb::kData:
        // The session checks the argument after the recipients, as Postfix
        // does ("DATA x" with no recipient is 503/554, not 501).
        cmd.argument = std::string(arg);
        return cmd;
    case Verb::kRset:
        if (!arg.empty()) return err(501, "5.5.4", "Syntax: RSET");
        return cmd;
    case Verb::kStartTls:
        if (!arg.empty()) return err(501, "5.5.4", "Syntax: STARTTLS");
        return cmd;
    case Verb::kBdat: {
        CommandError syntax = err(501, "5.5.4", "Syntax: BDAT count [LAST]");
        size_t e = 0;
        while (e < arg.size() && !is_blank(arg[e])) ++e;
        auto size = parse_u64(arg.substr(0, e));
        if (!size) return syntax;
        std::string_view tail = trim_blanks(arg.substr(e));
        if (!tail.empty()) {
            if (!iequals(tail, "LAST")) return syntax;
            cmd.bdat_last = true;
        }
        cmd.bdat_size = *size;
        return cmd;
    }
    case Verb::kNoop:
        // RFC 5321 4.1.1.9: NOOP may carry a string, which is ignored.
        return cmd;
    case Verb::kQuit:
    case Verb::kHelp:
        cmd.argument = std::string(arg);
        return cmd;
    case Verb::kVrfy: {
        if (arg.empty()) return err(501, "5.5.4", "Syntax: VRFY address");
        cmd.argument = std::string(arg);
        auto path = parse_path(arg, false);
        if (!path || !path->rest.empty() || path->address.empty()) {
            return err(501, "5.1.3", "Bad recipient address syntax");
        }
        cmd.address = std::move(path->address);
        return cmd;
    }
    case Verb::kEtrn: {
        // One argument: a domain, optionally after one non-alphanumeric
        // character ("@domain", "#queue").
        if (arg.empty() || arg.find_first_of(" \t") != std::string_view::npos) {
            return err(500, "", "Syntax: ETRN domain");
        }
        std::string_view domain = arg;
        if (!std::isalnum(static_cast<unsigned char>(domain.front()))) domain.remove_prefix(1);
        if (!valid_etrn_domain(domain)) return err(501, "", "Error: invalid parameter syntax");
        cmd.argument = std::string(arg);
        return cmd;
    }
    case Verb::kAuth: {
        CommandError syntax = err(501, "5.5.4", "Syntax: AUTH mechanism");
        size_t e = 0;
        while (e < arg.size() && !is_blank(arg[e])) ++e;
        std::string_view mech = arg.substr(0, e);
        std::string_view initial = trim_blanks(arg.substr(e));
        if (!valid_sasl_mechanism(mech)) return syntax;
        for (char c : initial) {
            if (is_blank(c)) return syntax;
        }
        cmd.auth_mechanism.reserve(mech.size());
        for (char c : mech) cmd.auth_mechanism.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
        if (!initial.empty()) cmd.auth_initial = std::string(initial);
        return cmd;
    }
    case Verb::kUnknown:
        break;
    }
    return err(502, "5.5.2", "Error: command not recognized");
}

std::string dsn_notify_text(unsigned notify) {
    if (notify & kNotifyNever) return "NEVER";
    std::string out;
    auto add = [&](const char* word) {
        if (!out.empty()) out += ',';
        out += word;
    };
    if (notify & kNotifySuccess) add("SUCCESS");
    if (notify & kNotifyFailure) add("FAILURE");
    if (notify & kNotifyDelay) add("DELAY");
    return out;
}

}  // namespace mailroom::smtp
