// smtp_client_text.cc - see smtp_client_text.h.
#include "lib/smtp/smtp_client_text.h"

#include <cctype>

#include "lib/util/strings.h"

namespace mailroom::smtp {

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

Result<bool> ReplyReader::feed(std::string_view line) {
    auto fail = [this, line](const char* why) -> Error {
        *this = ReplyReader();
        return make_error(util::format("malformed SMTP reply (%s): %s", why,
                                       std::string(line.substr(0, 100)).c_str()));
    };
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])))
        return fail("no reply code");
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 200 || code > 599) return fail("reply code out of range");
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return fail("bad separator");
    if (started_ && code != reply_.code) return fail("code changes inside a reply");
    if (reply_.lines.size() >= kMaxReplyLines) return fail("too many lines");
    bool last = line.size() == 3 || line[3] == ' ';
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
    // An enhanced status code counts when every line carries one of the
    // reply's class; otherwise the text is kept as sent.
    std::string_view word = text.substr(0, text.find(' '));
    if (!(valid_dsn(word) && word[0] == line[0])) all_dsn_ = false;
    if (!started_) {
        started_ = true;
        reply_.code = code;
    }
    reply_.lines.emplace_back(text);
    return last;
}

Reply ReplyReader::take() {
    Reply out = std::move(reply_);
    if (all_dsn_ && !out.lines.empty()) {
        out.dsn = out.lines.front().substr(0, out.lines.front().find(' '));
        for (auto& l : out.lines) {
            std::size_t sp = l.find(' ');
            l = sp == std::string::npos ? std::string() : l.substr(sp + 1);
        }
    }
    *this = ReplyReader();
    return out;
}

std::vector<EhloKeyword> parse_ehlo_keywords(const std::vector<std::string>& lines) {
    std::vector<EhloKeyword> out;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        auto words = util::split(lines[i], " \t");
        if (words.empty()) continue;
        EhloKeyword k;
        std::string first = upper(words[0]);
        // The old "AUTH=PLAIN LOGIN" form announces AUTH too.
        if (auto eq = first.find('='); eq != std::string::npos && first.compare(0, eq, "AUTH") == 0) {
            k.name = "AUTH";
            if (eq + 1 < first.size()) k.params.push_back(first.substr(eq + 1));
        } else {
            k.name = first;
        }
        for (std::size_t w = 1; w < words.size(); ++w) k.params.emplace_back(words[w]);
        out.push_back(std::move(k));
    }
    return out;
}

const EhloKeyword* find_ehlo_keyword(const std::vector<EhloKeyword>& keywords, std::string_view name) {
    std::string want = upper(name);
    for (const auto& k : keywords)
        if (k.name == want) return &k;
    return nullptr;
}

}  // namespace mailroom::smtp
