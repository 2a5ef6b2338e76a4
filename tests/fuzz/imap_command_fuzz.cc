// imap_command_fuzz.cc - see imap_command_fuzz.h.
#include "imap_command_fuzz.h"

#include <cstdint>

#include "imapd/imap_parser.h"

namespace mailroom::fuzz {
namespace {

bool one_line(const std::string& s) {
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

void check_parse(std::string_view text, FuzzVerdict* v) {
    using namespace mailroom::imapd;
    const ImapParseResult r = parse_imap_command(text);
    if (r.command.has_value() == !r.error.empty()) {
        v->broken = "exactly one of command and error must be set";
        return;
    }
    if (!r.command) {
        if (!one_line(r.error)) v->broken = "error text is not one line";
        if (v->error.empty()) v->error = r.error;
        return;
    }
    const ImapCommand& c = *r.command;
    if (!valid_tag(c.tag)) v->broken = "invalid tag accepted";
    if (c.name != upper(c.name)) v->broken = "command name not upper case";
    // The keyword's case does not matter.
    std::string flipped(text);
    const std::size_t start = flipped.find(' ') + 1;
    for (std::size_t i = start; i < flipped.size() && flipped[i] != ' '; ++i) {
        char& ch = flipped[i];
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
        else if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    }
    const ImapParseResult f = parse_imap_command(flipped);
    if (!f.command || f.command->name != c.name || f.command->args.size() != c.args.size())
        v->broken = "keyword case changes the parse";
}

}  // namespace

FuzzVerdict fuzz_imap_command(std::string_view bytes) {
    using namespace mailroom::imapd;
    FuzzVerdict v;
    ImapFramer::Limits limits;
    limits.max_line = 4096;
    limits.max_literal = 8192;
    ImapFramer framer(limits);
    std::size_t pos = 0, commands = 0;
    bool bad = false;
    while (pos < bytes.size() && v.broken.empty()) {
        std::size_t lf = bytes.find('\n', pos);
        std::string_view line = bytes.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
        pos = lf == std::string_view::npos ? bytes.size() : lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto step = framer.line(line, true);
        while (step == ImapFramer::Step::kContinue || step == ImapFramer::Step::kNeedLiteral ||
               step == ImapFramer::Step::kSkipLiteral) {
            const std::size_t want = framer.literal_remaining();
            const std::size_t have = std::min(want, bytes.size() - pos);
            if (have > want) v.broken = "literal read past its size";
            std::string_view chunk = bytes.substr(pos, have);
            pos += have;
            step = step == ImapFramer::Step::kSkipLiteral ? framer.skip(chunk.size()) : framer.literal(chunk);
            if (have < want) break;  // input ended inside the literal
        }
        if (step == ImapFramer::Step::kError) {
            if (!one_line(framer.error_reply())) v.broken = "framer error is not one line";
            if (framer.error_reply().rfind("BAD", 0) != 0 && framer.error_reply().rfind("NO [TOOBIG]", 0) != 0)
                v.broken = "framer error is neither BAD nor NO [TOOBIG]";
            if (framer.skip_rest() && pos < bytes.size()) {
                std::size_t nl = bytes.find('\n', pos);
                pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
            }
            framer.reset();
            bad = true;
            continue;
        }
        if (step == ImapFramer::Step::kComplete) {
            ++commands;
            FuzzVerdict one;
            check_parse(framer.text(), &one);
            if (!one.broken.empty()) v.broken = one.broken;
            if (!one.error.empty()) {
                bad = true;
                if (v.error.empty()) v.error = one.error;
            }
            framer.reset();
        }
    }
    if (v.broken.empty() && commands > 0 && !bad && !framer.in_progress()) v.valid = true;
    if (!v.valid && v.error.empty() && v.broken.empty()) v.error = "incomplete command";
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
#include <cstdlib>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_imap_command(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
