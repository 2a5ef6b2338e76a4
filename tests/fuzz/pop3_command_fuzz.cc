// pop3_command_fuzz.cc - see pop3_command_fuzz.h.
#include "pop3_command_fuzz.h"

#include <cstdint>

#include "pop3d/pop3_command.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_pop3_command(std::string_view bytes) {
    using namespace mailroom::pop3d;
    FuzzVerdict v;
    const Pop3ParseResult r = parse_pop3_command(bytes);
    if (r.command.has_value() == !r.error.empty()) {
        v.broken = "exactly one of command and error must be set";
        return v;
    }
    if (!r.command) {
        v.error = r.error;
        for (char c : r.error)
            if (c == '\r' || c == '\n' || c == '\0') v.broken = "error text is not one line";
        return v;
    }
    const Pop3Command& c = *r.command;
    if (c.msg && *c.msg > 0x7fffffffu) v.broken = "message number out of range";
    if (c.lines > 0x7fffffffu) v.broken = "line count out of range";
    if (c.verb == Pop3Verb::kAuth)
        for (char ch : c.arg)
            if (ch >= 'a' && ch <= 'z') v.broken = "AUTH mechanism not upper case";
    // The keyword's case does not matter.
    std::string flipped(bytes);
    for (std::size_t i = 0; i < flipped.size() && flipped[i] != ' '; ++i) {
        char& ch = flipped[i];
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
        else if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    }
    const Pop3ParseResult f = parse_pop3_command(flipped);
    if (!f.command || f.command->verb != c.verb || f.command->msg != c.msg || f.command->arg != c.arg)
        v.broken = "keyword case changes the parse";
    v.valid = v.broken.empty();
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
#include <cstdlib>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_pop3_command(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
