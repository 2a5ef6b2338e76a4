// search.cc - see search.h.
#include "lib/imap/search.h"

#include "lib/imap/decode.h"
#include "lib/imap/imap_date.h"
#include "lib/imap/message_part.h"
#include "lib/util/strings.h"

namespace mailroom::imap {

namespace {

using Op = SearchKey::Op;

struct KeyName {
    const char* name;
    Op op;
    enum Arg { kNone, kString, kDate, kNumber, kKeyword } arg;
};

constexpr KeyName kKeys[] = {
    {"ALL", Op::kAll, KeyName::kNone},           {"ANSWERED", Op::kAnswered, KeyName::kNone},
    {"BCC", Op::kBcc, KeyName::kString},         {"BEFORE", Op::kBefore, KeyName::kDate},
    {"BODY", Op::kBody, KeyName::kString},       {"CC", Op::kCc, KeyName::kString},
    {"DELETED", Op::kDeleted, KeyName::kNone},   {"DRAFT", Op::kDraft, KeyName::kNone},
    {"FLAGGED", Op::kFlagged, KeyName::kNone},   {"FROM", Op::kFrom, KeyName::kString},
    {"KEYWORD", Op::kKeyword, KeyName::kKeyword}, {"LARGER", Op::kLarger, KeyName::kNumber},
    {"NEW", Op::kNew, KeyName::kNone},           {"OLD", Op::kOld, KeyName::kNone},
    {"ON", Op::kOn, KeyName::kDate},             {"RECENT", Op::kRecent, KeyName::kNone},
    {"SEEN", Op::kSeen, KeyName::kNone},         {"SENTBEFORE", Op::kSentBefore, KeyName::kDate},
    {"SENTON", Op::kSentOn, KeyName::kDate},     {"SENTSINCE", Op::kSentSince, KeyName::kDate},
    {"SINCE", Op::kSince, KeyName::kDate},       {"SMALLER", Op::kSmaller, KeyName::kNumber},
    {"SUBJECT", Op::kSubject, KeyName::kString}, {"TEXT", Op::kText, KeyName::kString},
    {"TO", Op::kTo, KeyName::kString},           {"UNANSWERED", Op::kUnanswered, KeyName::kNone},
    {"UNDELETED", Op::kUndeleted, KeyName::kNone}, {"UNDRAFT", Op::kUndraft, KeyName::kNone},
    {"UNFLAGGED", Op::kUnflagged, KeyName::kNone}, {"UNKEYWORD", Op::kUnkeyword, KeyName::kKeyword},
    {"UNSEEN", Op::kUnseen, KeyName::kNone},
};

bool parse_number(std::string_view s, std::uint64_t* out) {
    if (s.empty() || s.size() > 20) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (next / 10 != v) return false;
        v = next;
    }
    *out = v;
    return true;
}

struct Builder {
    const std::vector<SearchArg>& args;
    std::size_t keys = 0;
    std::string error;

    bool fail(std::string why) {
        if (error.empty()) error = std::move(why);
        return false;
    }

    const SearchArg* next(std::size_t* pos) { return *pos < args.size() ? &args[(*pos)++] : nullptr; }

    // A string argument: atom or string.
    bool string_arg(std::size_t* pos, std::string* out, const char* key) {
        const SearchArg* a = next(pos);
        if (!a || a->kind == SearchArg::Kind::kList) return fail(std::string("Missing argument for ") + key);
        *out = a->text;
        return true;
    }

    bool key(const SearchArg& a, std::size_t* pos, int depth, SearchKey* out);

    bool list(const std::vector<SearchArg>& items, int depth, SearchKey* out) {
        out->op = Op::kAnd;
        Builder sub{items, keys, {}};
        std::size_t pos = 0;
        while (pos < items.size()) {
            SearchKey k;
            const SearchArg& a = items[pos++];
            if (!sub.key(a, &pos, depth + 1, &k)) return fail(sub.error);
            out->children.push_back(std::move(k));
        }
        keys = sub.keys;
        return true;
    }
};

bool Builder::key(const SearchArg& a, std::size_t* pos, int depth, SearchKey* out) {
    if (depth > kMaxSearchDepth) return fail("Search program nested too deeply");
    if (++keys > kMaxSearchKeys) return fail("Search program too long");
    if (a.kind == SearchArg::Kind::kList) {
        if (a.list.empty()) return fail("Empty search list");
        return list(a.list, depth, out);
    }
    if (a.kind == SearchArg::Kind::kString) return fail("Unknown search key");
    std::string name = a.text;
    for (char& c : name)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    for (const KeyName& k : kKeys) {
        if (name != k.name) continue;
        out->op = k.op;
        switch (k.arg) {
            case KeyName::kNone:
                return true;
            case KeyName::kString:
                if (!string_arg(pos, &out->value, k.name)) return false;
                out->folded = fold_case(utf8_or_latin1(out->value));
                return true;
            case KeyName::kKeyword:
                return string_arg(pos, &out->value, k.name);
            case KeyName::kDate: {
                std::string d;
                if (!string_arg(pos, &d, k.name)) return false;
                auto day = parse_search_date(d);
                if (!day) return fail("Invalid search date");
                out->day = *day;
                return true;
            }
            case KeyName::kNumber: {
                std::string n;
                if (!string_arg(pos, &n, k.name)) return false;
                if (!parse_number(n, &out->number)) return fail("Invalid search number");
                return true;
            }
        }
    }
    if (name == "HEADER") {
        out->op = Op::kHeader;
        if (!string_arg(pos, &out->header, "HEADER") || !string_arg(pos, &out->value, "HEADER")) return false;
        out->folded = fold_case(utf8_or_latin1(out->value));
        return true;
    }
    if (name == "NOT" || name == "OR") {
        out->op = name == "NOT" ? Op::kNot : Op::kOr;
        for (int n = name == "NOT" ? 1 : 2; n > 0; --n) {
            const SearchArg* sub = next(pos);
            if (!sub) return fail("Missing argument for " + name);
            SearchKey k;
            if (!key(*sub, pos, depth + 1, &k)) return false;
            out->children.push_back(std::move(k));
        }
        return true;
    }
    if (name == "UID") {
        out->op = Op::kUid;
        const SearchArg* s = next(pos);
        std::optional<SequenceSet> set;
        if (s && s->kind == SearchArg::Kind::kAtom) set = SequenceSet::parse(s->text, true);
        if (!set) return fail("Invalid UID set");
        out->set = std::move(*set);
        return true;
    }
    if (name == "MODSEQ") {
        out->op = Op::kModseq;
        // MODSEQ [entry-name entry-type-req] mod-sequence-valzer
        const SearchArg* s = next(pos);
        if (s && s->kind == SearchArg::Kind::kString) {
            const SearchArg* type = next(pos);
            std::string t = type ? util::lowercase(type->text) : "";
            if (!type || type->kind != SearchArg::Kind::kAtom || (t != "priv" && t != "shared" && t != "all"))
                return fail("Invalid MODSEQ entry type");
            out->value = s->text;
            s = next(pos);
        }
        if (!s || s->kind != SearchArg::Kind::kAtom || !parse_number(s->text, &out->number))
            return fail("Invalid MODSEQ value");
        return true;
    }
    auto set = SequenceSet::parse(a.text, true);
    if (!set) return fail("Unknown search key: " + a.text.substr(0, 64));
    out->op = Op::kSequence;
    out->set = std::move(*set);
    return true;
}

bool has_keyword(const MessageMeta& m, std::string_view k) {
    for (const std::string& kw : m.keywords)
        if (util::iequals(kw, k)) return true;
    return false;
}

bool in_saved(const std::vector<std::uint32_t>& saved, std::uint32_t uid) {
    for (std::uint32_t u : saved)
        if (u == uid) return true;
    return false;
}

}  // namespace

bool SearchKey::needs_bytes() const {
    switch (op) {
        case Op::kBcc: case Op::kBody: case Op::kCc: case Op::kFrom: case Op::kHeader:
        case Op::kSentBefore: case Op::kSentOn: case Op::kSentSince: case Op::kSubject:
        case Op::kText: case Op::kTo:
            return true;
        default:
            break;
    }
    for (const SearchKey& c : children)
        if (c.needs_bytes()) return true;
    return false;
}

bool SearchKey::has_modseq() const {
    if (op == Op::kModseq) return true;
    for (const SearchKey& c : children)
        if (c.has_modseq()) return true;
    return false;
}

SearchBuild build_search_from(const std::vector<SearchArg>& args, std::size_t pos) {
    SearchBuild r;
    if (pos >= args.size()) {
        r.error = "Missing search parameters";
        return r;
    }
    Builder b{args, 0, {}};
    SearchKey program;
    program.op = Op::kAnd;
    while (pos < args.size()) {
        SearchKey k;
        const SearchArg& a = args[pos++];
        if (!b.key(a, &pos, 1, &k)) {
            r.error = b.error;
            return r;
        }
        program.children.push_back(std::move(k));
    }
    r.key = std::move(program);
    return r;
}

SearchBuild build_search(const std::vector<SearchArg>& args) { return build_search_from(args, 0); }

bool search_charset_supported(std::string_view charset) {
    return util::iequals(charset, "UTF-8") || util::iequals(charset, "US-ASCII");
}

// What one message's evaluation has read so far.
struct SearchEvaluator::Cache {
    const BytesFn* bytes_fn = nullptr;
    bool loaded = false;
    std::string_view bytes;
    std::optional<ParsedMessage> parsed;
    std::optional<std::string> body_folded;
    std::optional<std::string> header_folded;
    std::optional<std::optional<ZonedTime>> sent;
    int plain = -1;         // plain_body() of the bytes, once (-1: not asked yet)
    std::string raw_upper;  // the bytes upper-cased, when plain

    std::string_view message() {
        if (!loaded) {
            loaded = true;
            bytes = (*bytes_fn)();
        }
        return bytes;
    }
    const ParsedMessage& msg() {
        if (!parsed) parsed = parse_message(message());
        return *parsed;
    }
    std::string_view header() {
        const MessagePart& r = *msg().root;
        return message().substr(0, r.body_begin);
    }
};

namespace {

std::string decoded_fields(std::string_view header, std::string_view name) {
    std::string out;
    for (const HeaderField& f : parse_header_fields(header)) {
        if (!name.empty() && !util::iequals(f.name, name)) continue;
        if (!out.empty()) out += '\n';
        if (name.empty()) {
            out.append(f.name);
            out += ": ";
        }
        out += fold_case(decode_header_value(f.value));
    }
    return out;
}

// The decoded header fields of every part: the message's, each MIME
// part's and each attached message's (TEXT searches them all, as Dovecot).
void collect_headers(std::string_view msg, const MessagePart& p, std::string* out) {
    if (out->size() > (std::size_t{64} << 20)) return;
    *out += decoded_fields(msg.substr(p.header_begin, p.body_begin - p.header_begin), "");
    *out += '\n';
    for (const auto& c : p.children) collect_headers(msg, *c, out);
}

// True when the message's decoded body text is the raw bytes themselves,
// upper-cased (fold_case of ASCII): every byte printable ASCII, TAB, CR or
// LF, no transfer encoding that changes bytes, no encoded words, no
// attached message (whose headers are searched decoded and unfolded), and
// only charsets that keep ASCII as it is. Anything else is left to the
// full parse; this only ever answers "cannot contain".
bool plain_body(std::string_view raw, std::string* upper) {
    upper->resize(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(raw[i]);
        if (c >= 0x7f || (c < 0x20 && c != '\t' && c != '\r' && c != '\n')) return false;
        (*upper)[i] = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    const std::string_view u(*upper);
    for (std::string_view token : {"=?", "BASE64", "QUOTED-PRINTABLE", "MESSAGE/", "UUENCODE", "X-UUE"})
        if (u.find(token) != std::string_view::npos) return false;
    for (std::size_t at = u.find("CHARSET"); at != std::string_view::npos; at = u.find("CHARSET", at + 7)) {
        std::string_view rest = u.substr(at + 7);
        while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) rest.remove_prefix(1);
        if (rest.empty() || rest[0] != '=') return false;
        rest.remove_prefix(1);
        while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '"')) rest.remove_prefix(1);
        if (!rest.starts_with("US-ASCII") && !rest.starts_with("UTF-8") && !rest.starts_with("ISO-8859-")) return false;
    }
    return true;
}

// The needle is printable ASCII, so an ASCII-only body can be ruled out
// by a plain substring search of its upper-cased bytes.
bool ascii_needle(std::string_view needle) {
    if (needle.empty()) return false;
    for (char ch : needle) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f) return false;
    }
    return true;
}

void collect_body(std::string_view msg, const MessagePart& p, std::string* out) {
    if (out->size() > (std::size_t{64} << 20)) return;
    if (p.is_multipart()) {
        for (const auto& c : p.children) collect_body(msg, *c, out);
        return;
    }
    if (p.is_message() && !p.children.empty()) {
        const MessagePart& inner = *p.children[0];
        *out += decoded_fields(msg.substr(inner.header_begin, inner.body_begin - inner.header_begin), "");
        *out += '\n';
        collect_body(msg, inner, out);
        return;
    }
    std::string_view body = msg.substr(p.body_begin, p.body_end - p.body_begin);
    std::string data = decode_body(body, p.encoding);
    if (p.type == "text" || p.type == "message") {
        const std::string* cs = p.param("charset");
        auto u = to_utf8(data, cs ? *cs : "us-ascii");
        data = u ? std::move(*u) : repair_utf8(data);
    } else {
        data = repair_utf8(data);
    }
    *out += fold_case(data);
    *out += '\n';
}

}  // namespace

SearchEvaluator::SearchEvaluator(const SearchKey& program, SearchContext context)
    : program_(program), ctx_(std::move(context)) {
    note_bytes(program_);
}

bool SearchEvaluator::note_bytes(const SearchKey& k) {
    bool any = false;
    for (const SearchKey& c : k.children) any = note_bytes(c) || any;
    bool own = k.op != Op::kNot && k.op != Op::kOr && k.op != Op::kAnd && k.needs_bytes();
    needs_bytes_[&k] = any || own;
    return any || own;
}

bool SearchEvaluator::matches(const MessageMeta& meta, const BytesFn& bytes) {
    Cache c;
    c.bytes_fn = &bytes;
    bool r = eval(program_, meta, c);
    if (c.loaded) ++loaded_;
    return r;
}

bool SearchEvaluator::text_match(const SearchKey& k, Cache& c) {
    std::string_view needle = k.folded;
    switch (k.op) {
        case Op::kBody:
            if (!c.body_folded && ascii_needle(needle)) {
                // Most messages are plain text that lacks the word: a
                // scan of the bytes says so without parsing and decoding.
                if (c.plain < 0) c.plain = plain_body(c.message(), &c.raw_upper) ? 1 : 0;
                if (c.plain == 1 && c.raw_upper.find(needle) == std::string::npos) return false;
            }
            if (!c.body_folded) {
                c.body_folded.emplace();
                collect_body(c.message(), *c.msg().root, &*c.body_folded);
            }
            return contains_folded(*c.body_folded, needle);
        case Op::kText:
            if (!c.header_folded) {
                c.header_folded.emplace();
                collect_headers(c.message(), *c.msg().root, &*c.header_folded);
            }
            if (contains_folded(*c.header_folded, needle)) return true;
            if (!c.body_folded) {
                c.body_folded.emplace();
                collect_body(c.message(), *c.msg().root, &*c.body_folded);
            }
            return contains_folded(*c.body_folded, needle);
        case Op::kHeader: {
            if (k.value.empty()) {
                for (const HeaderField& f : parse_header_fields(c.header()))
                    if (util::iequals(f.name, k.header)) return true;
                return false;
            }
            return contains_folded(decoded_fields(c.header(), k.header), needle);
        }
        default: {
            const char* name = k.op == Op::kBcc ? "Bcc" : k.op == Op::kCc ? "Cc" : k.op == Op::kFrom ? "From"
                             : k.op == Op::kTo ? "To" : "Subject";
            std::vector<std::string> values = header_values(c.header(), name);
            for (const std::string& v : values)
                if (contains_folded(fold_case(decode_header_value(v)), needle)) return true;
            return false;
        }
    }
}

bool SearchEvaluator::eval(const SearchKey& k, const MessageMeta& m, Cache& c) {
    auto sent_day = [&]() {
        if (!c.sent) {
            auto date = header_value(c.header(), "Date");
            c.sent = date ? parse_rfc5322_date(*date) : std::nullopt;
        }
        // Without a usable Date: the sent date is the epoch, as Dovecot has it.
        return *c.sent ? day_of((*c.sent)->utc, (*c.sent)->offset_min) : std::int64_t{0};
    };
    auto internal_day = [&]() { return day_of(m.internal_date, m.internal_tz_min); };
    switch (k.op) {
        case Op::kAll: return true;
        case Op::kAnswered: return m.flags & kFlagAnswered;
        case Op::kDeleted: return m.flags & kFlagDeleted;
        case Op::kDraft: return m.flags & kFlagDraft;
        case Op::kFlagged: return m.flags & kFlagFlagged;
        case Op::kRecent: return m.flags & kFlagRecent;
        case Op::kSeen: return m.flags & kFlagSeen;
        case Op::kUnanswered: return !(m.flags & kFlagAnswered);
        case Op::kUndeleted: return !(m.flags & kFlagDeleted);
        case Op::kUndraft: return !(m.flags & kFlagDraft);
        case Op::kUnflagged: return !(m.flags & kFlagFlagged);
        case Op::kUnseen: return !(m.flags & kFlagSeen);
        case Op::kNew: return (m.flags & kFlagRecent) && !(m.flags & kFlagSeen);
        case Op::kOld: return !(m.flags & kFlagRecent);
        case Op::kKeyword: return has_keyword(m, k.value);
        case Op::kUnkeyword: return !has_keyword(m, k.value);
        case Op::kLarger: return m.size > k.number;
        case Op::kSmaller: return m.size < k.number;
        case Op::kBefore: return internal_day() < k.day;
        case Op::kOn: return internal_day() == k.day;
        case Op::kSince: return internal_day() >= k.day;
        case Op::kSentBefore: return sent_day() < k.day;
        case Op::kSentOn: return sent_day() == k.day;
        case Op::kSentSince: return sent_day() >= k.day;
        case Op::kModseq: return m.modseq >= k.number;
        case Op::kSequence:
            if (k.set.saved()) return in_saved(ctx_.saved_uids, m.uid);
            return k.set.contains(m.seq, ctx_.max_seq);
        case Op::kUid:
            if (k.set.saved()) return in_saved(ctx_.saved_uids, m.uid);
            return k.set.contains(m.uid, ctx_.max_uid);
        case Op::kNot: return !eval(k.children[0], m, c);
        case Op::kOr: {
            // The key that needs no message text goes first.
            const SearchKey& a = k.children[0];
            const SearchKey& b = k.children[1];
            bool swap = needs_bytes(a) && !needs_bytes(b);
            return eval(swap ? b : a, m, c) || eval(swap ? a : b, m, c);
        }
        case Op::kAnd:
            for (int pass = 0; pass < 2; ++pass)
                for (const SearchKey& child : k.children)
                    if (needs_bytes(child) == (pass == 1) && !eval(child, m, c)) return false;
            return true;
        case Op::kBcc: case Op::kBody: case Op::kCc: case Op::kFrom: case Op::kHeader:
        case Op::kSubject: case Op::kText: case Op::kTo:
            return text_match(k, c);
    }
    return false;
}

std::vector<std::size_t> search_messages(const SearchKey& program, const SearchContext& context,
                                         const std::vector<MessageMeta>& metas,
                                         const std::function<std::string_view(std::size_t)>& bytes_of) {
    SearchEvaluator ev(program, context);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < metas.size(); ++i) {
        SearchEvaluator::BytesFn fn = [&bytes_of, i] { return bytes_of(i); };
        if (ev.matches(metas[i], fn)) out.push_back(i);
    }
    return out;
}

}  // namespace mailroom::imap
