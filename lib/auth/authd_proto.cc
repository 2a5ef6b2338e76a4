// authd_proto.cc - see authd_proto.h.
#include "lib/auth/authd_proto.h"

#include <algorithm>
#include <cstdint>

#include "lib/util/base64.h"

namespace mailroom::auth {

namespace {

bool has_any(std::string_view s, std::string_view bad) { return s.find_first_of(bad) != std::string_view::npos; }

bool has_control(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) < ' ') return true;
    }
    return false;
}

const std::string_view kLineBreak("\n\0", 2);

template <class T>
std::optional<T> parse_id(std::string_view s) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 0xffffffffu) return std::nullopt;
    return static_cast<T>(v);
}

// Splits off the text up to the next `sep` (the whole rest without one).
std::string_view take_field(std::string_view* rest, char sep, bool* found = nullptr) {
    size_t at = rest->find(sep);
    std::string_view field = rest->substr(0, at);
    if (found) *found = at != std::string_view::npos;
    *rest = at == std::string_view::npos ? std::string_view() : rest->substr(at + 1);
    return field;
}

std::string_view skip_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

// Gathers the bytes up to the next LF into *line (which may hold the start
// of the line from earlier calls); *used counts what it took, the LF too.
// Lines are bounded by kMaxLine and may not hold a null byte.
enum class Gather { kNeedMore, kLine, kError };
Gather gather_line(std::string_view bytes, std::string* line, std::size_t* used, std::string* error,
                   const char* what) {
    size_t nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    if (piece.find('\0') != std::string_view::npos) {
        *error = std::string("null byte in an authd ") + what;
        return Gather::kError;
    }
    if (line->size() + piece.size() >= kMaxLine) {
        *error = std::string("authd ") + what + " line too long";
        return Gather::kError;
    }
    line->append(piece);
    *used = nl == std::string_view::npos ? piece.size() : nl + 1;
    return nl == std::string_view::npos ? Gather::kNeedMore : Gather::kLine;
}

}  // namespace

Request make_pre_request(std::string service, std::string user) {
    Request r;
    r.type = RequestType::kPre;
    r.service = std::move(service);
    r.user = std::move(user);
    return r;
}

Request make_login_request(std::string service, std::string_view user, std::string_view password) {
    Request r;
    r.type = RequestType::kAuth;
    r.service = std::move(service);
    r.authtype = "login";
    r.authdata.append(user).append("\n").append(password).append("\n");
    return r;
}

Request make_cram_request(std::string service, std::string authtype, std::string_view challenge,
                          std::string_view response) {
    Request r;
    r.type = RequestType::kAuth;
    r.service = std::move(service);
    r.authtype = std::move(authtype);
    r.authdata = util::base64_encode(challenge) + "\n" + util::base64_encode(response) + "\n";
    return r;
}

std::optional<std::pair<std::string, std::string>> parse_login_data(std::string_view data) {
    bool found = false;
    std::string_view user = take_field(&data, '\n', &found);
    if (!found || user.empty()) return std::nullopt;
    std::string_view password = take_field(&data, '\n', &found);
    if (!data.empty()) return std::nullopt;
    return std::make_pair(std::string(user), std::string(password));
}

std::optional<std::pair<std::string, std::string>> parse_cram_data(std::string_view data) {
    bool found = false;
    std::string_view challenge = take_field(&data, '\n', &found);
    if (!found) return std::nullopt;
    std::string_view response = take_field(&data, '\n', &found);
    if (!data.empty()) return std::nullopt;
    auto c = util::base64_decode(challenge);
    auto r = util::base64_decode(response);
    if (!c || !r || c->empty() || r->empty()) return std::nullopt;
    return std::make_pair(std::move(*c), std::move(*r));
}

Result<std::string> encode_request(const Request& r) {
    std::string out;
    if (r.meta.size() > kMaxMetaLines) return make_error("too many NAME=VALUE lines in an authd request");
    for (const auto& [name, value] : r.meta) {
        if (name.empty() || has_any(name, "= ") || has_control(name) || has_control(value))
            return make_error("bad NAME=VALUE line in an authd request");
        out.append(name).append("=").append(value).append("\n");
    }
    switch (r.type) {
        case RequestType::kPre:
            if (r.module.empty() || r.service.empty() || r.user.empty() || r.user.front() == ' ' ||
                has_any(r.module, std::string_view(" \n\0", 3)) || has_any(r.service, std::string_view(" \n\0", 3)) ||
                has_any(r.user, kLineBreak))
                return make_error("authd PRE request: bad module, service or user name");
            out.append("PRE ").append(r.module).append(" ").append(r.service).append(" ").append(r.user).append("\n");
            break;
        case RequestType::kAuth: {
            if (has_any(r.service, kLineBreak) || has_any(r.authtype, kLineBreak) ||
                r.authdata.find('\0') != std::string::npos)
                return make_error("authd AUTH request: a line break or null byte inside a field");
            std::string body = r.service + "\n" + r.authtype + "\n" + r.authdata;
            if (body.size() > kMaxAuthLength) return make_error("authd AUTH request too long");
            out.append("AUTH ").append(std::to_string(body.size())).append("\n").append(body);
            break;
        }
        case RequestType::kPasswd:
            if (has_control(r.service) || has_control(r.user) || has_control(r.old_password) ||
                has_control(r.new_password))
                return make_error("authd PASSWD request: a control character inside a field");
            out.append("PASSWD ")
                .append(r.service).append("\t").append(r.user).append("\t")
                .append(r.old_password).append("\t").append(r.new_password).append("\n");
            break;
        case RequestType::kEnumerate:
            out.append("ENUMERATE\n");
            break;
    }
    if (r.type != RequestType::kAuth) {
        // Every line, also the command, must fit the server's line buffer.
        size_t start = 0;
        while (start < out.size()) {
            size_t nl = out.find('\n', start);
            if (nl - start >= kMaxLine) return make_error("authd request line too long");
            start = nl + 1;
        }
    }
    return out;
}

RequestDecoder::Step RequestDecoder::fail(std::string message) {
    error_ = make_error(std::move(message));
    done_ = true;
    return Step::kError;
}

RequestDecoder::Step RequestDecoder::command(std::string_view line) {
    std::string_view rest = line;
    std::string_view verb = take_field(&rest, ' ');
    rest = skip_spaces(rest);
    if (verb.find('=') != std::string_view::npos) {
        // NAME=VALUE before the command (courier's request meta data).
        if (request_.meta.size() >= kMaxMetaLines) return fail("too many NAME=VALUE lines before the request");
        std::string_view value = line;
        std::string_view name = take_field(&value, '=');
        if (name.empty() || has_control(line)) return fail("malformed NAME=VALUE line before the request");
        request_.meta.emplace_back(std::string(name), std::string(value));
        return Step::kNeedMore;
    }
    if (verb == "PRE") {
        bool found = false;
        std::string_view module = take_field(&rest, ' ', &found);
        rest = skip_spaces(rest);
        std::string_view service = take_field(&rest, ' ', &found);
        rest = skip_spaces(rest);
        if (module.empty() || service.empty() || !found || rest.empty()) return fail("malformed PRE request");
        request_.type = RequestType::kPre;
        request_.module.assign(module);
        request_.service.assign(service);
        request_.user.assign(rest);
        done_ = true;
        return Step::kRequest;
    }
    if (verb == "AUTH") {
        auto length = parse_id<std::uint32_t>(rest);
        if (!length) return fail("malformed AUTH request length");
        if (*length > kMaxAuthLength) return fail("AUTH request too long");
        request_.type = RequestType::kAuth;
        body_length_ = *length;
        in_body_ = true;
        if (body_length_ == 0) return auth_body();
        return Step::kNeedMore;
    }
    if (verb == "PASSWD") {
        for (char c : rest) {
            if (c != '\t' && static_cast<unsigned char>(c) < ' ') return fail("control character in a PASSWD request");
        }
        bool found = false;
        request_.type = RequestType::kPasswd;
        request_.service.assign(take_field(&rest, '\t', &found));
        if (!found) return fail("malformed PASSWD request");
        request_.user.assign(take_field(&rest, '\t', &found));
        if (!found) return fail("malformed PASSWD request");
        request_.old_password.assign(take_field(&rest, '\t', &found));
        if (!found) return fail("malformed PASSWD request");
        request_.new_password.assign(take_field(&rest, '\t'));  // a further field is ignored, as courier does
        done_ = true;
        return Step::kRequest;
    }
    if (verb == "ENUMERATE") {
        request_.type = RequestType::kEnumerate;
        done_ = true;
        return Step::kRequest;
    }
    return fail("unknown authd request");
}

RequestDecoder::Step RequestDecoder::auth_body() {
    std::string_view rest = body_;
    bool found = false;
    std::string_view service = take_field(&rest, '\n', &found);
    if (!found) return fail("malformed AUTH request: no service line");
    std::string_view authtype = take_field(&rest, '\n', &found);
    if (!found) return fail("malformed AUTH request: no authentication type line");
    request_.service.assign(service);
    request_.authtype.assign(authtype);
    request_.authdata.assign(rest);
    done_ = true;
    return Step::kRequest;
}

RequestDecoder::Step RequestDecoder::feed(std::string_view bytes, std::size_t* used) {
    *used = 0;
    if (done_) return error_.message.empty() ? Step::kRequest : Step::kError;
    while (*used < bytes.size()) {
        std::string_view rest = bytes.substr(*used);
        if (in_body_) {
            size_t n = std::min(rest.size(), body_length_ - body_.size());
            if (rest.substr(0, n).find('\0') != std::string_view::npos) return fail("null byte in an authd request");
            body_.append(rest.substr(0, n));
            *used += n;
            if (body_.size() == body_length_) return auth_body();
            continue;
        }
        std::size_t n = 0;
        std::string why;
        Gather g = gather_line(rest, &line_, &n, &why, "request");
        if (g == Gather::kError) return fail(why);
        *used += n;
        if (g == Gather::kNeedMore) return Step::kNeedMore;
        std::string line = std::move(line_);
        line_.clear();
        Step step = command(line);
        if (step != Step::kNeedMore) return step;
    }
    return Step::kNeedMore;
}

Result<Request> decode_request(std::string_view bytes) {
    RequestDecoder d;
    std::size_t used = 0;
    auto step = d.feed(bytes, &used);
    if (step == RequestDecoder::Step::kError) return d.error();
    if (step == RequestDecoder::Step::kNeedMore) return make_error("incomplete authd request");
    if (used != bytes.size()) return make_error("bytes after the authd request");
    return d.take();
}

Result<std::string> encode_reply(RequestType to, const Reply& reply) {
    if (reply.kind == Reply::Kind::kTempFail) return std::string();
    std::string out;
    switch (to) {
        case RequestType::kPre:
        case RequestType::kAuth: {
            if (reply.kind == Reply::Kind::kFail) return std::string("FAIL\n");
            if (reply.kind != Reply::Kind::kUser) return make_error("authd reply kind does not answer PRE/AUTH");
            const AuthUser& u = reply.user;
            auto field = [&](const char* name, const std::string& value, bool always) -> bool {
                if (value.empty() && !always) return true;
                if (has_any(value, kLineBreak)) return false;
                out.append(name).append("=").append(value).append("\n");
                return true;
            };
            bool ok = field("USERNAME", u.username, false);
            if (u.uid) out.append("UID=").append(std::to_string(*u.uid)).append("\n");
            if (u.gid) out.append("GID=").append(std::to_string(*u.gid)).append("\n");
            ok = ok && field("HOME", u.home, true) && field("ADDRESS", u.address, false) &&
                 field("NAME", u.name, false) && field("MAILDIR", u.maildir, false) &&
                 field("QUOTA", u.quota, false) && field("PASSWD", u.passwd, false) &&
                 field("PASSWD2", u.clear_passwd, false) && field("OPTIONS", u.options, false);
            if (!ok) return make_error("authd reply: a line break or null byte inside a value");
            out.append(".\n");
            break;
        }
        case RequestType::kPasswd:
            if (reply.kind == Reply::Kind::kOk) return std::string("OK\n");
            if (reply.kind == Reply::Kind::kFail) return std::string("FAIL\n");
            return make_error("authd reply kind does not answer PASSWD");
        case RequestType::kEnumerate:
            if (reply.kind != Reply::Kind::kEnumerate) return make_error("authd reply kind does not answer ENUMERATE");
            for (const EnumEntry& e : reply.entries) {
                for (const std::string* s : {&e.name, &e.home, &e.maildir, &e.options}) {
                    if (has_control(*s) || s->find('#') != std::string::npos)
                        return make_error("authd ENUMERATE reply: a control character or # inside a field");
                }
                if (e.name.empty()) return make_error("authd ENUMERATE reply: an empty name");
                out.append(e.name).append("\t").append(std::to_string(e.uid)).append("\t")
                    .append(std::to_string(e.gid)).append("\t").append(e.home).append("\t")
                    .append(e.maildir).append("\t").append(e.options).append("\n");
            }
            out.append(".\n");
            break;
    }
    return out;
}

ReplyDecoder::Step ReplyDecoder::fail(std::string message) {
    error_ = make_error(std::move(message));
    done_ = true;
    return Step::kError;
}

ReplyDecoder::Step ReplyDecoder::line(std::string_view text) {
    if (to_ == RequestType::kPasswd) {
        reply_.kind = text == "OK" ? Reply::Kind::kOk : Reply::Kind::kFail;
        done_ = true;
        return Step::kReply;
    }
    if (text == ".") {
        reply_.kind = to_ == RequestType::kEnumerate ? Reply::Kind::kEnumerate : Reply::Kind::kUser;
        done_ = true;
        return Step::kReply;
    }
    if (to_ == RequestType::kEnumerate) {
        // NAME\tUID\tGID\tHOME[\tMAILDIR[\tOPTIONS]]; "#" starts a comment;
        // lines that do not fit (and uid or gid 0) are skipped, as courier's
        // client does.
        std::string_view rest = text.substr(0, text.find('#'));
        bool found = false;
        EnumEntry e;
        e.name.assign(take_field(&rest, '\t', &found));
        if (!found || e.name.empty()) return Step::kNeedMore;
        auto uid = parse_id<uid_t>(take_field(&rest, '\t', &found));
        if (!found || !uid || *uid == 0) return Step::kNeedMore;
        auto gid = parse_id<gid_t>(take_field(&rest, '\t', &found));
        if (!found || !gid || *gid == 0) return Step::kNeedMore;
        e.uid = *uid;
        e.gid = *gid;
        e.home.assign(take_field(&rest, '\t', &found));
        if (found) e.maildir.assign(take_field(&rest, '\t', &found));
        if (found) e.options.assign(take_field(&rest, '\t', &found));
        if (has_control(e.name) || has_control(e.home) || has_control(e.maildir) || has_control(e.options))
            return Step::kNeedMore;
        reply_.entries.push_back(std::move(e));
        return Step::kNeedMore;
    }
    if (text == "FAIL") {
        reply_ = Reply{};
        reply_.kind = Reply::Kind::kFail;
        done_ = true;
        return Step::kReply;
    }
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) return Step::kNeedMore;  // not a NAME=VALUE line: skipped
    std::string_view name = text.substr(0, eq);
    std::string value(text.substr(eq + 1));
    AuthUser& u = reply_.user;
    if (name == "USERNAME") {
        u.username = std::move(value);
    } else if (name == "UID") {
        auto id = parse_id<uid_t>(value);
        if (!id) return fail("authd reply: bad UID");
        u.uid = *id;
    } else if (name == "GID") {
        auto id = parse_id<gid_t>(value);
        if (!id) return fail("authd reply: bad GID");
        u.gid = *id;
    } else if (name == "HOME") {
        u.home = std::move(value);
    } else if (name == "ADDRESS") {
        u.address = std::move(value);
    } else if (name == "NAME") {
        u.name = std::move(value);
    } else if (name == "MAILDIR") {
        u.maildir = std::move(value);
    } else if (name == "QUOTA") {
        u.quota = std::move(value);
    } else if (name == "PASSWD") {
        u.passwd = std::move(value);
    } else if (name == "PASSWD2") {
        u.clear_passwd = std::move(value);
    } else if (name == "OPTIONS") {
        u.options = std::move(value);
    }
    return Step::kNeedMore;
}

ReplyDecoder::Step ReplyDecoder::feed(std::string_view bytes, std::size_t* used) {
    *used = 0;
    if (done_) return error_.message.empty() ? Step::kReply : Step::kError;
    std::size_t limit = to_ == RequestType::kEnumerate ? kMaxEnumerate : kMaxReply;
    while (*used < bytes.size()) {
        std::string_view rest = bytes.substr(*used);
        std::size_t n = 0;
        std::string why;
        Gather g = gather_line(rest, &line_, &n, &why, "reply");
        if (g == Gather::kError) return fail(why);
        if (total_ + n > limit) return fail("authd reply too long");
        *used += n;
        total_ += n;
        if (g == Gather::kNeedMore) return Step::kNeedMore;
        std::string text = std::move(line_);
        line_.clear();
        Step step = line(text);
        if (step != Step::kNeedMore) return step;
    }
    return Step::kNeedMore;
}

ReplyDecoder::Step ReplyDecoder::finish() {
    if (done_) return error_.message.empty() ? Step::kReply : Step::kError;
    reply_ = Reply{};
    reply_.kind = Reply::Kind::kTempFail;
    done_ = true;
    return Step::kReply;
}

Result<Reply> decode_reply(RequestType to, std::string_view bytes) {
    ReplyDecoder d(to);
    std::size_t used = 0;
    auto step = d.feed(bytes, &used);
    if (step == ReplyDecoder::Step::kNeedMore) step = d.finish();
    if (step == ReplyDecoder::Step::kError) return d.error();
    if (used != bytes.size()) return make_error("bytes after the authd reply");
    return d.take();
}

}  // namespace mailroom::auth
