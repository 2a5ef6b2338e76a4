// agent_text_fuzz.cc - see agent_text_fuzz.h.
#include "agent_text_fuzz.h"

#include "lib/address/address.h"
#include "lib/agent/agent_headers.h"
#include "lib/agent/agent_message.h"
#include "lib/util/strings.h"
#include "local/local_expand.h"
#include "pipe/pipe_args.h"

namespace mailroom::fuzz {

namespace {

std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out.push_back('\r');
        out.push_back(c);
    }
    return out;
}

std::size_t count_lines(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += c == '\n';
    if (!s.empty() && s.back() != '\n') ++n;
    return n;
}

}  // namespace

FuzzVerdict fuzz_agent_text(std::string_view bytes) {
    FuzzVerdict v;
    v.valid = true;

    // LineTransformer.
    agent::RenderOptions o;
    o.dot_stuff = o.from_quote = o.blank_line_end = true;
    o.eol = "\r\n";
    std::string whole, bytewise;
    {
        agent::LineTransformer t(o);
        t.feed(bytes, &whole);
        t.finish(&whole);
    }
    {
        agent::LineTransformer t(o);
        for (char c : bytes) t.feed(std::string_view(&c, 1), &bytewise);
        t.finish(&bytewise);
    }
    if (whole != bytewise) {
        v.broken = "LineTransformer depends on the chunking";
        return v;
    }
    if (whole.size() < 2 || whole.substr(whole.size() - 2) != "\r\n") {
        v.broken = "LineTransformer output does not end with the eol";
        return v;
    }
    std::size_t out_lines = 0;
    for (std::size_t i = 0; i + 1 < whole.size(); ++i) out_lines += whole[i] == '\r' && whole[i + 1] == '\n';
    if (out_lines != count_lines(bytes) + 1) {
        v.broken = "LineTransformer changed the number of lines";
        return v;
    }

    // Delivered-To loop check: LF and CRLF agree.
    std::string address = "user@example.com";
    if (auto at = bytes.find("Delivered-To:"); at != std::string_view::npos) {
        auto nl = bytes.find('\n', at);
        address = std::string(util::trim(bytes.substr(at + 13, nl == std::string_view::npos ? std::string_view::npos : nl - at - 13)));
    }
    if (address.find('\r') == std::string::npos &&
        agent::delivered_to_loop(bytes, address) != agent::delivered_to_loop(crlf(bytes), address)) {
        if (bytes.find('\r') == std::string_view::npos) {
            v.broken = "delivered_to_loop differs between LF and CRLF";
            return v;
        }
    }

    // Alias lists.
    for (const auto& e : local::parse_alias_list(bytes)) {
        if (e.empty()) {
            v.broken = "empty alias list element";
            return v;
        }
        if (util::is_space(e.front()) || util::is_space(e.back())) {
            bool quoted_space = bytes.find('"') != std::string_view::npos;
            if (!quoted_space) {
                v.broken = "untrimmed alias list element: " + e;
                return v;
            }
        }
    }

    // pipe argv expansion.
    std::vector<std::string> argv = util::split(bytes, " \t\r\n");
    pipe::MacroContext ctx;
    ctx.sender = "s@example.com";
    ctx.extension.delimiters = "+";
    std::vector<agent::JobRecipient> one = {{"u+e@example.com", ""}};
    auto expanded = pipe::expand_pipe_argv(argv, pipe::PipeFlags{}, ctx, one);
    if (expanded.ok()) {
        if (expanded->size() != argv.size()) {
            v.broken = "argv expansion changed the element count for one recipient";
            return v;
        }
        for (std::size_t i = 0; i < argv.size(); ++i)
            if (argv[i].find('$') == std::string::npos && (*expanded)[i] != argv[i]) {
                v.broken = "argv expansion changed a literal element";
                return v;
            }
    } else {
        v.valid = false;
        v.error = expanded.error().message;
    }
    (void)pipe::parse_pipe_args(argv);

    // Extension split gives back the local part.
    std::string local(bytes.substr(0, std::min<std::size_t>(bytes.size(), 64)));
    auto parts = address::split_extension(local, {"+-"});
    std::string back = parts.user + (parts.delimiter ? std::string(1, parts.delimiter) + parts.extension : "");
    if (back != local) {
        v.broken = "split_extension lost text";
        return v;
    }
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_agent_text(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) __builtin_trap();
    return 0;
}
#endif
