// imap_bodystructure_fuzz.cc - see imap_bodystructure_fuzz.h.
#include "imap_bodystructure_fuzz.h"

#include <cstdint>
#include <vector>

#include "lib/imap/fetch_structure.h"
#include "lib/imap/message_part.h"
#include "lib/imap/section.h"

namespace mailroom::fuzz {

namespace {

// Checks an IMAP parenthesised list: "" when well formed, else why not.
// *max_depth gets the deepest nesting.
std::string check_list(std::string_view s, int* max_depth) {
    int depth = 0;
    *max_depth = 0;
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == '"') {
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\') ++i;
                if (i < s.size() && (s[i] == '\r' || s[i] == '\n' || static_cast<unsigned char>(s[i]) >= 0x80))
                    return "quoted string with CR, LF or 8-bit";
                ++i;
            }
            if (i >= s.size()) return "unterminated quoted string";
            ++i;
        } else if (c == '{') {
            std::size_t close = s.find('}', i);
            if (close == std::string_view::npos || s.substr(close + 1, 2) != "\r\n") return "malformed literal";
            std::uint64_t n = 0;
            for (std::size_t k = i + 1; k < close; ++k) {
                if (s[k] < '0' || s[k] > '9') return "malformed literal length";
                n = n * 10 + static_cast<std::uint64_t>(s[k] - '0');
            }
            i = close + 3 + n;
            if (i > s.size()) return "literal longer than the string";
        } else {
            if (c == '(') *max_depth = std::max(*max_depth, ++depth);
            if (c == ')' && --depth < 0) return "unbalanced ')'";
            if (c == '\r' || c == '\n') return "CR or LF outside a literal";
            ++i;
        }
    }
    return depth == 0 ? "" : "unbalanced '('";
}

void check_sizes(const imap::ParsedMessage& msg, const imap::MessagePart& p, std::vector<std::uint32_t>* path,
                 std::string* broken) {
    if (!broken->empty()) return;
    if (!path->empty()) {
        imap::Section s;
        s.part = *path;
        const imap::MessagePart* found = imap::find_part(msg, *path);
        if (found) {
            std::string body = imap::extract_section_of(msg, s);
            if (body.size() != found->body_size) *broken = "BODY[part] size differs from BODYSTRUCTURE";
        }
    }
    const imap::MessagePart* below = &p;
    if (p.is_message() && !p.children.empty()) below = p.children[0].get();
    if (!below->is_multipart() || path->size() > 60) return;
    for (std::size_t k = 0; k < below->children.size() && k < 50; ++k) {
        path->push_back(static_cast<std::uint32_t>(k + 1));
        check_sizes(msg, *below->children[k], path, broken);
        path->pop_back();
    }
}

}  // namespace

FuzzVerdict fuzz_imap_bodystructure(std::string_view bytes) {
    FuzzVerdict v;
    imap::ParsedMessage msg = imap::parse_message(bytes);
    std::string bs = imap::imap_bodystructure_of(msg, true);
    std::string body = imap::imap_bodystructure_of(msg, false);
    std::string env = imap::imap_envelope(bytes);
    int depth = 0;
    for (const std::string* s : {&bs, &body, &env}) {
        std::string why = check_list(*s, &depth);
        if (!why.empty()) {
            v.broken = why;
            return v;
        }
        // Each level is at most a multipart list plus an attached message's
        // envelope and address lists.
        if (depth > 3 * imap::kMaxDepth + 10) {
            v.broken = "nesting beyond the bound";
            return v;
        }
    }
    std::string crlf = imap::to_crlf(bytes);
    if (imap::imap_bodystructure(crlf) != bs) v.broken = "CRLF and LF give different BODYSTRUCTURE";
    else if (imap::imap_envelope(crlf) != env) v.broken = "CRLF and LF give different ENVELOPE";
    if (!v.broken.empty()) return v;
    std::vector<std::uint32_t> path;
    check_sizes(msg, *msg.root, &path, &v.broken);
    if (!v.broken.empty()) return v;
    v.valid = !msg.truncated;
    if (!v.valid) v.error = "nesting or part limit reached";
    return v;
}

}  // namespace mailroom::fuzz

#ifdef MAILROOM_LIBFUZZER
#include <cstdlib>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto v = mailroom::fuzz::fuzz_imap_bodystructure(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!v.broken.empty()) std::abort();
    return 0;
}
#endif
