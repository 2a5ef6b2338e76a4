// smtpd_input_fuzz.cc - see smtpd_input_fuzz.h.
#include "smtpd_input_fuzz.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "lib/smtp/smtp_command.h"
#include "lib/smtp/smtp_data.h"

namespace mailroom::fuzz {

namespace {

using smtp::DataDecoder;
using smtp::LineEnd;
using smtp::LinePiece;

bool has_line_bytes(const std::string& s) {
    return s.find('\0') != std::string::npos || s.find('\r') != std::string::npos ||
           s.find('\n') != std::string::npos;
}

// Checks one command line under one option set; returns an invariant
// violation or "".
std::string check_command(std::string_view line, const smtp::ParseOptions& o) {
    auto r = smtp::parse_command(line, o);
    auto again = smtp::parse_command(line, o);
    if (r.ok() != again.ok()) return "parse_command is not deterministic";
    if (r.ok()) {
        const auto& c = r.command();
        if (has_line_bytes(c.address) || has_line_bytes(c.argument) || has_line_bytes(c.verb_text))
            return "a parsed command carries CR, LF or NUL";
        if (c.address != again.command().address || c.verb != again.command().verb)
            return "parse_command is not deterministic";
        if (line.size() > o.line_length_limit) return "a line over line_length_limit was parsed";
        return "";
    }
    const auto& e = r.error();
    if (e.code < 400 || e.code >= 600) return "an error reply that is not 4xx or 5xx";
    std::string reply = e.reply();
    if (has_line_bytes(reply)) return "an error reply carries CR, LF or NUL";
    if (reply.size() >= 512) return "an error reply of 512 bytes or more";
    if (reply.size() < 4 || reply.compare(0, 3, std::to_string(e.code)) != 0 || reply[3] != ' ')
        return "an error reply does not start with its code";
    if (!e.dsn.empty() && e.dsn[0] != reply[0]) return "the DSN class does not follow the reply code";
    return "";
}

struct Event {
    DataDecoder::Kind kind;
    std::string text;
    bool continued;
    bool operator==(const Event&) const = default;
};

// Runs `bytes` through take_line()/DataDecoder as a DATA section, feeding
// `step` bytes at a time (0 = all at once). Stops at the end of the message.
// *end_at gets the number of bytes consumed up to and including the end, or
// npos when the message did not end.
std::string run_data(std::string_view bytes, size_t step, size_t limit, std::vector<Event>* out,
                     size_t* end_at) {
    DataDecoder decoder;
    std::string buffer;
    size_t fed = 0, consumed_total = 0;
    *end_at = std::string::npos;
    bool prev_crlf = true;  // the DATA line ended in CRLF
    while (true) {
        LinePiece piece;
        if (!smtp::take_line(buffer, limit, &piece)) {
            if (fed == bytes.size()) return "";
            size_t n = step == 0 ? bytes.size() - fed : std::min(step, bytes.size() - fed);
            buffer.append(bytes.substr(fed, n));
            fed += n;
            continue;
        }
        if (piece.text.size() > limit) return "take_line returned a piece over its limit";
        if (piece.consumed == 0 || piece.consumed > buffer.size()) return "take_line consumed a wrong count";
        auto o = decoder.feed(piece);
        bool was_prev_crlf = prev_crlf;
        prev_crlf = piece.end == LineEnd::kCrlf;
        if (o.kind == DataDecoder::Kind::kEnd) {
            if (piece.text != "." || piece.end != LineEnd::kCrlf || !was_prev_crlf)
                return "DATA ended somewhere else than at <CR><LF>.<CR><LF>";
        }
        out->push_back(Event{o.kind, std::string(o.text), o.continued});
        buffer.erase(0, piece.consumed);
        consumed_total += piece.consumed;
        if (o.kind == DataDecoder::Kind::kEnd) {
            *end_at = consumed_total;
            return "";
        }
    }
}

// Where <CR><LF>.<CR><LF> first ends in `bytes`, the DATA line's CRLF
// counting as the first CRLF; npos when nowhere.
size_t expected_end(std::string_view bytes) {
    if (bytes.substr(0, 3) == ".\r\n") return 3;
    size_t at = bytes.find("\r\n.\r\n");
    return at == std::string_view::npos ? at : at + 5;
}

}  // namespace

FuzzVerdict fuzz_smtpd_input(std::string_view bytes) {
    FuzzVerdict v;
    smtp::ParseOptions lenient;
    smtp::ParseOptions strict;
    strict.strict_rfc821_envelopes = true;
    smtp::ParseOptions tiny;
    tiny.line_length_limit = 16;

    // Every line as a command line.
    size_t start = 0;
    while (start <= bytes.size()) {
        size_t nl = bytes.find('\n', start);
        std::string_view line = bytes.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        for (const auto* o : {&lenient, &strict, &tiny}) {
            std::string broken = check_command(line, *o);
            if (!broken.empty()) {
                v.broken = broken;
                return v;
            }
        }
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }

    // The whole input as a DATA section, whole and a byte at a time.
    for (size_t limit : {size_t{2}, size_t{7}, size_t{2048}}) {
        std::vector<Event> whole, bytewise;
        size_t end_whole = 0, end_bytewise = 0;
        std::string broken = run_data(bytes, 0, limit, &whole, &end_whole);
        if (broken.empty()) broken = run_data(bytes, 1, limit, &bytewise, &end_bytewise);
        if (!broken.empty()) {
            v.broken = broken;
            return v;
        }
        if (end_whole != end_bytewise) {
            v.broken = "the end of DATA depends on how the bytes arrive";
            return v;
        }
        if (end_whole != expected_end(bytes)) {
            v.broken = "DATA did not end exactly at the first <CR><LF>.<CR><LF>";
            return v;
        }
        // Pieces may be cut differently when bytes trickle in, but the
        // content they make up must not differ.
        std::string joined_whole, joined_bytewise;
        for (const auto& e : whole) joined_whole += e.text + (e.continued ? "" : "\n");
        for (const auto& e : bytewise) joined_bytewise += e.text + (e.continued ? "" : "\n");
        if (joined_whole != joined_bytewise) {
            v.broken = "DATA content depends on how the bytes arrive";
            return v;
        }
    }
    v.valid = true;
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_smtpd_input(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
