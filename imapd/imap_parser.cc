// imap_parser.cc - see imap_parser.h.
#include "imapd/imap_parser.h"

#include <cctype>

namespace mailroom::imapd {
namespace {

constexpr int kMaxDepth = 32;           // nested lists
constexpr std::size_t kMaxArgs = 10000; // arguments in one command

bool atom_char(unsigned char c) {
    if (c <= 0x20 || c == 0x7f) return false;
    return c != '(' && c != ')' && c != '{' && c != '"';
}

class Parser {
public:
    explicit Parser(std::string_view text) : s_(text) {}

    bool eof() const { return pos_ >= s_.size(); }
    char peek() const { return s_[pos_]; }

    ImapParseResult run() {
        ImapParseResult r;
        std::size_t sp = s_.find(' ');
        std::string_view tag = s_.substr(0, sp);
        if (tag.empty() || !valid_tag(tag)) {
            r.error = "Error in IMAP command received by server.";
            return r;
        }
        r.tag = std::string(tag);
        if (sp == std::string_view::npos) {
            r.error = "Error in IMAP command received by server.";
            return r;
        }
        pos_ = sp + 1;
        std::size_t start = pos_;
        while (!eof() && std::isalnum(static_cast<unsigned char>(peek()))) ++pos_;
        if (pos_ == start || (!eof() && peek() != ' ')) {
            r.error = "Error in IMAP command received by server.";
            return r;
        }
        ImapCommand cmd;
        cmd.tag = r.tag;
        cmd.name = upper(s_.substr(start, pos_ - start));
        while (!eof()) {
            if (peek() != ' ') return fail(r, cmd.name, "Missing space between arguments.");
            ++pos_;
            if (eof()) break;  // a trailing space, as some clients send
            ImapArg a;
            if (!value(&a, 0)) return fail(r, cmd.name, error_);
            cmd.args.push_back(std::move(a));
        }
        r.command = std::move(cmd);
        return r;
    }

private:
    ImapParseResult& fail(ImapParseResult& r, const std::string& name, const std::string& why) {
        r.error = "Error in IMAP command " + name + ": " + why;
        return r;
    }

    bool err(const char* why) {
        error_ = why;
        return false;
    }

    bool value(ImapArg* out, int depth) {
        if (++count_ > kMaxArgs) return err("Too many arguments.");
        const char c = peek();
        if (c == '(') return list(out, depth);
        if (c == '"') return quoted(out);
        if (c == '{' || (c == '~' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '{')) return literal(out);
        if (c == ')') return err("Unexpected ')'.");
        return atom(out);
    }

    bool list(ImapArg* out, int depth) {
        if (depth >= kMaxDepth) return err("Too deep list nesting.");
        out->type = ImapArg::Type::kList;
        ++pos_;
        bool first = true;
        for (;;) {
            if (eof()) return err("Missing ')'.");
            if (peek() == ')') {
                ++pos_;
                return true;
            }
            if (!first) {
                if (peek() != ' ') return err("Missing space in list.");
                ++pos_;
                if (eof()) return err("Missing ')'.");
                if (peek() == ')') continue;  // "(a )" is accepted
            }
            first = false;
            ImapArg a;
            if (!value(&a, depth + 1)) return false;
            out->list.push_back(std::move(a));
        }
    }

    bool quoted(ImapArg* out) {
        out->type = ImapArg::Type::kQuoted;
        ++pos_;
        for (;;) {
            if (eof()) return err("Missing '\"'.");
            char c = s_[pos_++];
            if (c == '"') return true;
            if (c == '\r' || c == '\n' || c == '\0') return err("Invalid characters in quoted string.");
            if (c == '\\') {
                if (eof()) return err("Missing '\"'.");
                c = s_[pos_++];
                if (c != '\\' && c != '"') return err("Invalid escape in quoted string.");
            }
            out->value.push_back(c);
        }
    }

    bool literal(ImapArg* out) {
        out->type = ImapArg::Type::kLiteral;
        if (peek() == '~') {
            out->literal8 = true;
            ++pos_;
        }
        ++pos_;  // '{'
        std::uint64_t n = 0;
        std::size_t digits = 0;
        while (!eof() && std::isdigit(static_cast<unsigned char>(peek()))) {
            n = n * 10 + static_cast<unsigned>(peek() - '0');
            if (++digits > 18) return err("Literal size too large.");
            ++pos_;
        }
        if (digits == 0) return err("Invalid literal size.");
        if (!eof() && peek() == '+') ++pos_;
        if (eof() || peek() != '}') return err("Invalid literal size.");
        ++pos_;
        if (s_.substr(pos_, 2) != "\r\n") return err("Missing CRLF after literal.");
        pos_ += 2;
        if (s_.size() - pos_ < n) return err("Literal shorter than announced.");
        out->value = std::string(s_.substr(pos_, n));
        pos_ += n;
        if (!out->literal8 && out->value.find('\0') != std::string::npos) return err("NUL in literal.");
        return true;
    }

    bool atom(ImapArg* out) {
        std::size_t start = pos_;
        int bracket = 0;
        while (!eof()) {
            const unsigned char c = static_cast<unsigned char>(peek());
            if (bracket > 0) {
                if (c == '\r' || c == '\n' || c == '\0') return err("Invalid characters in atom.");
                if (c == '[') ++bracket;
                else if (c == ']') --bracket;
                ++pos_;
                continue;
            }
            if (c == '[') {
                ++bracket;
                ++pos_;
                continue;
            }
            if (!atom_char(c)) break;
            ++pos_;
        }
        if (bracket > 0) return err("Missing ']'.");
        if (pos_ == start) return err("Invalid characters in atom.");
        out->value = std::string(s_.substr(start, pos_ - start));
        out->type = iequals(out->value, "NIL") ? ImapArg::Type::kNil : ImapArg::Type::kAtom;
        return true;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::size_t count_ = 0;
    std::string error_;
};

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > 256) return false;
    for (unsigned char c : tag) {
        if (!atom_char(c) || c == '+' || c == '%' || c == '*' || c == '\\' || c == '[' || c == ']') return false;
    }
    return true;
}

ImapParseResult parse_imap_command(std::string_view text) { return Parser(text).run(); }

std::optional<LiteralAnnouncement> trailing_literal(std::string_view line) {
    if (line.empty() || line.back() != '}') return std::nullopt;
    std::size_t open = line.rfind('{');
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view inner = line.substr(open + 1, line.size() - open - 2);
    LiteralAnnouncement a;
    if (!inner.empty() && inner.back() == '+') {
        a.nonsync = true;
        inner.remove_suffix(1);
    }
    if (inner.empty() || inner.size() > 18) return std::nullopt;
    for (char c : inner) {
        if (c < '0' || c > '9') return std::nullopt;
        a.size = a.size * 10 + static_cast<unsigned>(c - '0');
    }
    // A literal starts an argument: after a space or '(' (or '~').
    std::size_t before = open;
    if (before > 0 && line[before - 1] == '~') {
        a.literal8 = true;
        --before;
    }
    if (before == 0 || (line[before - 1] != ' ' && line[before - 1] != '(')) return std::nullopt;
    return a;
}

void ImapFramer::reset() {
    text_.clear();
    tag_.clear();
    error_.clear();
    literal_left_ = 0;
    text_bytes_ = 0;
    skip_rest_ = false;
}

ImapFramer::Step ImapFramer::fail(std::string reply, bool skip_rest) {
    error_ = std::move(reply);
    skip_rest_ = skip_rest;
    return Step::kError;
}

bool ImapFramer::is_append() const {
    std::size_t sp = text_.find(' ');
    if (sp == std::string::npos) return false;
    std::string_view rest = std::string_view(text_).substr(sp + 1);
    return rest.size() > 7 && iequals(rest.substr(0, 7), "APPEND ");
}

ImapFramer::Step ImapFramer::line(std::string_view l, bool complete) {
    if (text_.empty()) {
        std::size_t sp = l.find(' ');
        std::string_view tag = l.substr(0, sp);
        tag_ = valid_tag(tag) ? std::string(tag) : std::string("*");
    }
    text_bytes_ += l.size() + 2;
    if (!complete || text_bytes_ > limits_.max_line) {
        return fail("BAD Error in IMAP command received by server: Too long argument.", !complete);
    }
    auto lit = trailing_literal(l);
    text_ += l;
    if (!lit) return Step::kComplete;
    const bool message = is_append();
    const std::uint64_t limit = message ? limits_.max_literal : limits_.max_line - text_bytes_;
    if (lit->nonsync && !limits_.literal_plus && lit->size > kLiteralMinusMax) {
        skip_rest_ = true;
        literal_left_ = static_cast<std::size_t>(lit->size);
        error_ = "BAD [TOOBIG] Non-synchronizing literal over 4096 bytes: send it synchronizing.";
        return literal_left_ ? Step::kSkipLiteral : Step::kError;
    }
    if (lit->size > limit) {
        std::string reply = message ? "NO [TOOBIG] Mail size is too large." : "BAD [TOOBIG] Literal too large.";
        if (!lit->nonsync) {
            return fail(std::move(reply), false);  // the client waits for "+"
        }
        skip_rest_ = true;
        literal_left_ = static_cast<std::size_t>(lit->size);
        error_ = std::move(reply);
        return Step::kSkipLiteral;
    }
    if (!message) text_bytes_ += static_cast<std::size_t>(lit->size);
    text_ += "\r\n";
    literal_left_ = static_cast<std::size_t>(lit->size);
    if (lit->nonsync) return literal_left_ ? Step::kNeedLiteral : Step::kNeedLine;
    return Step::kContinue;
}

ImapFramer::Step ImapFramer::literal(std::string_view bytes) {
    std::size_t n = bytes.size() < literal_left_ ? bytes.size() : literal_left_;
    text_.append(bytes.data(), n);
    literal_left_ -= n;
    return literal_left_ ? Step::kNeedLiteral : Step::kNeedLine;
}

ImapFramer::Step ImapFramer::skip(std::size_t n) {
    literal_left_ -= n < literal_left_ ? n : literal_left_;
    if (literal_left_) return Step::kSkipLiteral;
    return Step::kError;  // error_ was set when the literal was refused
}

}  // namespace mailroom::imapd
