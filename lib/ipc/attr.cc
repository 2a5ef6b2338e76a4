// attr.cc - see attr.h.
#include "lib/ipc/attr.h"

#include <charconv>
#include <cstring>

#include "lib/log/log.h"
#include "lib/util/strings.h"

namespace mailroom::ipc {

namespace {

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// Canonical signed decimal: "0", or an optional '-' then 1-9 then digits.
bool parse_canonical_int(std::string_view s, std::int64_t* out) {
    if (s.empty() || s.size() > kMaxIntegerDigits) return false;
    std::string_view digits = s[0] == '-' ? s.substr(1) : s;
    if (digits.empty()) return false;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
    }
    if (digits[0] == '0' && (digits.size() > 1 || s[0] == '-')) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size();
}

Status encode_list(const std::vector<Attr>& attrs, std::size_t depth, std::string* out) {
    if (attrs.size() > kMaxAttrsPerList) {
        return make_error(util::format("cannot encode attribute record: %zu attributes in one list (limit %zu)",
                                       attrs.size(), kMaxAttrsPerList));
    }
    for (std::size_t i = 0; i < attrs.size(); ++i) {
        const Attr& a = attrs[i];
        if (!is_valid_attr_name(a.name)) {
            return make_error(util::format("cannot encode attribute record: bad attribute name \"%s\"",
                                           log::log_printable(a.name.substr(0, kMaxNameLength + 8)).c_str()));
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (attrs[j].name == a.name) {
                return make_error(
                    util::format("cannot encode attribute record: duplicate attribute \"%s\"", a.name.c_str()));
            }
        }
        out->append(a.name);
        out->push_back('\0');
        switch (a.type()) {
            case AttrType::kString: {
                const std::string& s = std::get<std::string>(a.value);
                if (s.find('\0') != std::string::npos) {
                    return make_error(util::format(
                        "cannot encode attribute record: string attribute \"%s\" contains a NUL byte", a.name.c_str()));
                }
                if (s.size() > kMaxStringLength) {
                    return make_error(util::format(
                        "cannot encode attribute record: string attribute \"%s\" is %zu bytes (limit %zu)",
                        a.name.c_str(), s.size(), kMaxStringLength));
                }
                out->push_back(kAttrTagString);
                out->append(s);
                out->push_back('\0');
                break;
            }
            case AttrType::kInteger:
                out->push_back(kAttrTagInteger);
                out->append(std::to_string(std::get<std::int64_t>(a.value)));
                out->push_back('\0');
                break;
            case AttrType::kList:
                if (depth + 1 > kMaxNestingDepth) {
                    return make_error(util::format(
                        "cannot encode attribute record: list attribute \"%s\" nested deeper than %zu levels",
                        a.name.c_str(), kMaxNestingDepth));
                }
                out->push_back(kAttrTagList);
                if (Status st = encode_list(std::get<std::vector<Attr>>(a.value), depth + 1, out); !st) return st;
                break;
        }
        if (out->size() > kMaxRecordBytes) {
            return make_error(util::format("cannot encode attribute record: longer than %zu bytes", kMaxRecordBytes));
        }
    }
    out->push_back('\0');
    if (out->size() > kMaxRecordBytes) {
        return make_error(util::format("cannot encode attribute record: longer than %zu bytes", kMaxRecordBytes));
    }
    return ok_status();
}

void render(const std::vector<Attr>& attrs, std::string* out) {
    bool first = true;
    for (const Attr& a : attrs) {
        if (!first) out->append(", ");
        first = false;
        out->append(log::log_printable(a.name));
        out->push_back('=');
        switch (a.type()) {
            case AttrType::kString:
                out->append(log::log_printable(std::get<std::string>(a.value)));
                break;
            case AttrType::kInteger:
                out->append(std::to_string(std::get<std::int64_t>(a.value)));
                break;
            case AttrType::kList:
                out->push_back('{');
                render(std::get<std::vector<Attr>>(a.value), out);
                out->push_back('}');
                break;
        }
    }
}

}  // namespace

const char* attr_type_name(AttrType type) {
    switch (type) {
        case AttrType::kString: return "string";
        case AttrType::kInteger: return "integer";
        case AttrType::kList: return "list";
    }
    return "unknown";
}

bool operator==(const Attr& a, const Attr& b) { return a.name == b.name && a.value == b.value; }
bool operator==(const AttrList& a, const AttrList& b) { return a.attrs_ == b.attrs_; }

AttrList& AttrList::add(std::string name, std::string value) {
    attrs_.push_back(Attr{std::move(name), std::move(value)});
    return *this;
}

AttrList& AttrList::add_int(std::string name, std::int64_t value) {
    attrs_.push_back(Attr{std::move(name), value});
    return *this;
}

AttrList& AttrList::add_list(std::string name, AttrList list) {
    attrs_.push_back(Attr{std::move(name), std::move(list.attrs_)});
    return *this;
}

const Attr* AttrList::find(std::string_view name) const {
    for (const Attr& a : attrs_) {
        if (a.name == name) return &a;
    }
    return nullptr;
}

bool is_valid_attr_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (char c : name) {
        if (!is_name_char(c)) return false;
    }
    return true;
}

Result<std::string> encode_record(const AttrList& list) {
    std::string out;
    if (Status st = encode_list(list.attrs(), 0, &out); !st) return st.error();
    return out;
}

// ---- incremental decoder ----

AttrDecoder::AttrDecoder() { reset(); }

void AttrDecoder::reset() {
    state_ = State::kName;
    stack_.clear();
    stack_.emplace_back();
    name_.clear();
    value_.clear();
    record_bytes_ = 0;
    done_ = AttrList();
    failed_ = false;
    error_ = Error();
}

AttrList AttrDecoder::take() {
    AttrList out = std::move(done_);
    reset();
    return out;
}

AttrDecoder::Step AttrDecoder::fail(std::string message) {
    failed_ = true;
    error_ = make_error(util::format("malformed attribute record at byte %zu: %s",
                                     record_bytes_ == 0 ? 0 : record_bytes_ - 1, message.c_str()));
    return Step::kError;
}

AttrDecoder::Step AttrDecoder::finish_attr(Attr attr) {
    Frame& top = stack_.back();
    for (const Attr& a : top.attrs) {
        if (a.name == attr.name) return fail(util::format("duplicate attribute \"%s\"", attr.name.c_str()));
    }
    if (top.attrs.size() >= kMaxAttrsPerList) {
        return fail(util::format("more than %zu attributes in one list", kMaxAttrsPerList));
    }
    top.attrs.push_back(std::move(attr));
    return Step::kNeedMore;
}

AttrDecoder::Step AttrDecoder::feed(std::string_view bytes, std::size_t* consumed) {
    *consumed = 0;
    if (failed_) return Step::kError;
    if (!done_.empty() || (stack_.empty())) {
        // A finished record was not taken; callers must take() first.
        return fail("decoder fed again before take()");
    }
    std::size_t i = 0;
    while (i < bytes.size()) {
        // Fast path: copy a run of string bytes at once.
        if (state_ == State::kString) {
            const char* start = bytes.data() + i;
            const void* nul = std::memchr(start, '\0', bytes.size() - i);
            std::size_t run = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - start) : bytes.size() - i;
            if (value_.size() + run > kMaxStringLength) {
                record_bytes_ += kMaxStringLength - value_.size() + 1;
                *consumed = i;
                return fail(util::format("string attribute \"%s\" longer than %zu bytes", name_.c_str(),
                                         kMaxStringLength));
            }
            if (record_bytes_ + run > kMaxRecordBytes) {
                record_bytes_ = kMaxRecordBytes + 1;  // the first byte over the limit
                *consumed = i;
                return fail(util::format("record longer than %zu bytes", kMaxRecordBytes));
            }
            value_.append(start, run);
            record_bytes_ += run;
            i += run;
            if (!nul) break;
        }
        char c = bytes[i++];
        ++record_bytes_;
        *consumed = i;
        if (record_bytes_ > kMaxRecordBytes) return fail(util::format("record longer than %zu bytes", kMaxRecordBytes));
        switch (state_) {
            case State::kName:
                if (c != '\0') {
                    if (!is_name_char(c)) {
                        return fail(util::format("bad character 0x%02x in attribute name",
                                                 static_cast<unsigned>(static_cast<unsigned char>(c))));
                    }
                    if (name_.size() >= kMaxNameLength) {
                        return fail(util::format("attribute name longer than %zu bytes", kMaxNameLength));
                    }
                    name_.push_back(c);
                    break;
                }
                if (!name_.empty()) {
                    state_ = State::kTag;
                    break;
                }
                // An empty name ends the current list.
                if (stack_.size() == 1) {
                    done_ = AttrList(std::move(stack_.back().attrs));
                    stack_.clear();
                    return Step::kRecord;
                } else {
                    Frame frame = std::move(stack_.back());
                    stack_.pop_back();
                    if (finish_attr(Attr{std::move(frame.name), std::move(frame.attrs)}) == Step::kError) {
                        return Step::kError;
                    }
                }
                break;
            case State::kTag:
                if (c == kAttrTagString) {
                    state_ = State::kString;
                    value_.clear();
                } else if (c == kAttrTagInteger) {
                    state_ = State::kInteger;
                    value_.clear();
                } else if (c == kAttrTagList) {
                    for (const Attr& a : stack_.back().attrs) {
                        if (a.name == name_) return fail(util::format("duplicate attribute \"%s\"", name_.c_str()));
                    }
                    if (stack_.size() > kMaxNestingDepth) {
                        return fail(util::format("list attribute \"%s\" nested deeper than %zu levels",
                                                 name_.c_str(), kMaxNestingDepth));
                    }
                    stack_.emplace_back();
                    stack_.back().name = std::move(name_);
                    name_.clear();
                    state_ = State::kName;
                } else {
                    return fail(util::format("unknown value tag 0x%02x for attribute \"%s\"",
                                             static_cast<unsigned>(static_cast<unsigned char>(c)), name_.c_str()));
                }
                break;
            case State::kString:
                // Only reached with c == NUL (the fast path ate the rest).
                state_ = State::kName;
                if (finish_attr(Attr{std::move(name_), std::move(value_)}) == Step::kError) return Step::kError;
                name_.clear();
                value_.clear();
                break;
            case State::kInteger:
                if (c != '\0') {
                    if (value_.size() >= kMaxIntegerDigits) {
                        return fail(util::format("integer attribute \"%s\" longer than %zu characters",
                                                 name_.c_str(), kMaxIntegerDigits));
                    }
                    value_.push_back(c);
                    break;
                }
                {
                    std::int64_t v = 0;
                    if (!parse_canonical_int(value_, &v)) {
                        return fail(util::format("integer attribute \"%s\" has bad value \"%s\"", name_.c_str(),
                                                 log::log_printable(value_).c_str()));
                    }
                    state_ = State::kName;
                    if (finish_attr(Attr{std::move(name_), v}) == Step::kError) return Step::kError;
                    name_.clear();
                    value_.clear();
                }
                break;
        }
    }
    *consumed = bytes.size();
    return Step::kNeedMore;
}

Result<AttrList> decode_record(std::string_view bytes) {
    AttrDecoder decoder;
    std::size_t used = 0;
    switch (decoder.feed(bytes, &used)) {
        case AttrDecoder::Step::kError:
            return decoder.error();
        case AttrDecoder::Step::kNeedMore:
            return make_error(util::format("truncated attribute record: %zu bytes, record not terminated",
                                           bytes.size()));
        case AttrDecoder::Step::kRecord:
            break;
    }
    if (used != bytes.size()) {
        return make_error(util::format("malformed attribute record: %zu bytes left over after the record",
                                       bytes.size() - used));
    }
    return decoder.take();
}

// ---- strict access ----

Status require_attrs(const AttrList& list, std::span<const AttrSpec> specs, std::string_view what,
                     bool allow_unknown) {
    std::string w(what);
    for (const AttrSpec& spec : specs) {
        const Attr* a = list.find(spec.name);
        if (a == nullptr) {
            if (spec.required) {
                return make_error(util::format("%s: missing required attribute \"%.*s\"", w.c_str(),
                                               static_cast<int>(spec.name.size()), spec.name.data()));
            }
            continue;
        }
        if (a->type() != spec.type) {
            return make_error(util::format("%s: attribute \"%s\" is a %s, expected a %s", w.c_str(), a->name.c_str(),
                                           attr_type_name(a->type()), attr_type_name(spec.type)));
        }
    }
    if (!allow_unknown) {
        for (const Attr& a : list.attrs()) {
            bool known = false;
            for (const AttrSpec& spec : specs) known = known || spec.name == a.name;
            if (!known) {
                return make_error(util::format("%s: unexpected attribute \"%s\"", w.c_str(),
                                               log::log_printable(a.name).c_str()));
            }
        }
    }
    return ok_status();
}

namespace {
Result<const Attr*> typed_find(const AttrList& list, std::string_view name, AttrType type) {
    const Attr* a = list.find(name);
    if (a == nullptr) {
        return make_error(util::format("missing required attribute \"%.*s\"", static_cast<int>(name.size()),
                                       name.data()));
    }
    if (a->type() != type) {
        return make_error(util::format("attribute \"%s\" is a %s, expected a %s", a->name.c_str(),
                                       attr_type_name(a->type()), attr_type_name(type)));
    }
    return a;
}
}  // namespace

Result<std::string> get_string(const AttrList& list, std::string_view name) {
    auto a = typed_find(list, name, AttrType::kString);
    if (!a) return a.error();
    return std::get<std::string>((*a)->value);
}

Result<std::int64_t> get_int(const AttrList& list, std::string_view name) {
    auto a = typed_find(list, name, AttrType::kInteger);
    if (!a) return a.error();
    return std::get<std::int64_t>((*a)->value);
}

Result<AttrList> get_list(const AttrList& list, std::string_view name) {
    auto a = typed_find(list, name, AttrType::kList);
    if (!a) return a.error();
    return AttrList(std::get<std::vector<Attr>>((*a)->value));
}

std::string attr_list_to_string(const AttrList& list) {
    std::string out;
    render(list.attrs(), &out);
    return out;
}

}  // namespace mailroom::ipc
