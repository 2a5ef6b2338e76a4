// pop3_command.cc - see pop3_command.h.
#include "pop3d/pop3_command.h"

#include <charconv>
#include <vector>

namespace mailroom::pop3d {
namespace {

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        if (i == s.size()) break;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ') ++j;
        out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

bool number(std::string_view s, std::uint32_t* out) {
    if (s.empty() || s.size() > 10) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v > 0x7fffffffu) return false;
    *out = static_cast<std::uint32_t>(v);
    return true;
}

Pop3ParseResult fail(std::string text) {
    Pop3ParseResult r;
    r.error = std::move(text);
    return r;
}

}  // namespace

std::string pop3_keyword(std::string_view line) {
    const auto sp = line.find(' ');
    std::string k = upper(line.substr(0, sp == std::string_view::npos ? line.size() : sp));
    if (k.size() > 16) k.resize(16);
    for (char& c : k)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    return k;
}

Pop3ParseResult parse_pop3_command(std::string_view line) {
    if (line.size() > kMaxPop3Line) return fail("Input line too long.");
    for (char c : line)
        if (c == '\0' || c == '\r' || c == '\n') return fail("Invalid characters in command.");
    const auto w = words(line);
    if (w.empty()) return fail("Unknown command: ");
    const std::string key = upper(w[0]);
    Pop3Command cmd;
    const std::size_t nargs = w.size() - 1;
    auto no_args = [&](Pop3Verb v) -> Pop3ParseResult {
        if (nargs != 0) return fail("Noise after " + key + " command.");
        cmd.verb = v;
        return Pop3ParseResult{cmd, {}};
    };
    // LIST, UIDL: an optional message number; RETR, DELE: a required one.
    auto msg_arg = [&](Pop3Verb v, bool required) -> Pop3ParseResult {
        cmd.verb = v;
        if (nargs == 0) {
            if (required) return fail("Message number required.");
            return Pop3ParseResult{cmd, {}};
        }
        if (nargs > 1) return fail("Noise after message number: " + std::string(w[2]));
        std::uint32_t n = 0;
        if (!number(w[1], &n)) return fail("Invalid message number: " + std::string(w[1].substr(0, 32)));
        cmd.msg = n;
        return Pop3ParseResult{cmd, {}};
    };
    if (key == "USER") {
        if (nargs != 1) return fail(nargs == 0 ? "USER: Missing username." : "USER: Noise after username.");
        cmd.verb = Pop3Verb::kUser;
        cmd.arg = std::string(w[1]);
        return {cmd, {}};
    }
    if (key == "PASS") {
        cmd.verb = Pop3Verb::kPass;
        if (line.size() > 5) cmd.arg = std::string(line.substr(5));
        if (cmd.arg.empty()) return fail("PASS: Missing password.");
        return {cmd, {}};
    }
    if (key == "APOP") {
        if (nargs != 2) return fail("APOP: Invalid parameters.");
        cmd.verb = Pop3Verb::kApop;
        cmd.arg = std::string(w[1]);
        cmd.arg2 = std::string(w[2]);
        return {cmd, {}};
    }
    if (key == "AUTH") {
        cmd.verb = Pop3Verb::kAuth;
        if (nargs == 0) return {cmd, {}};  // RFC 5034: list the mechanisms
        if (nargs > 2) return fail("AUTH: Noise after initial response.");
        cmd.arg = upper(w[1]);
        if (nargs == 2) {
            cmd.has_arg2 = true;
            cmd.arg2 = w[2] == "=" ? std::string() : std::string(w[2]);
        }
        return {cmd, {}};
    }
    if (key == "CAPA") return no_args(Pop3Verb::kCapa);
    if (key == "STLS") return no_args(Pop3Verb::kStls);
    if (key == "QUIT") return no_args(Pop3Verb::kQuit);
    if (key == "STAT") return no_args(Pop3Verb::kStat);
    if (key == "NOOP") return no_args(Pop3Verb::kNoop);
    if (key == "RSET") return no_args(Pop3Verb::kRset);
    if (key == "LIST") return msg_arg(Pop3Verb::kList, false);
    if (key == "UIDL") return msg_arg(Pop3Verb::kUidl, false);
    if (key == "RETR") return msg_arg(Pop3Verb::kRetr, true);
    if (key == "DELE") return msg_arg(Pop3Verb::kDele, true);
    if (key == "TOP") {
        cmd.verb = Pop3Verb::kTop;
        if (nargs != 2) return fail("TOP: Invalid parameters.");
        std::uint32_t n = 0;
        if (!number(w[1], &n)) return fail("Invalid message number: " + std::string(w[1].substr(0, 32)));
        cmd.msg = n;
        if (!number(w[2], &cmd.lines)) return fail("Invalid number of lines: " + std::string(w[2].substr(0, 32)));
        return {cmd, {}};
    }
    return fail("Unknown command: " + pop3_keyword(line));
}

}  // namespace mailroom::pop3d
