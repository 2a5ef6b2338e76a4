// attr.h - attribute records: the data model, the encoder and the strict decoder.
//
// Summary
//   An AttrList is an ordered list of named values (string, integer or a
//   nested AttrList). encode_record() turns one into bytes; decode_record()
//   turns bytes into one and fails on anything not exactly one well-formed
//   record. AttrDecoder does the same incrementally for event-loop daemons:
//   feed bytes as they arrive, get need-more, one record, or an error.
//   The wire format is attr_format.h / docs/ipc-format.md.
//
// Description
//   All functions here are pure: no I/O, no globals. Errors are permanent
//   (a peer that sends a malformed record is broken) and say what was wrong
//   and at which byte offset of the record.
//
//   Strict access: require_attrs() checks a decoded list against a table of
//   AttrSpec rows (name, type, required): a missing required attribute, a
//   wrong type or a name the table does not know all fail. The get_*()
//   accessors then fetch values by name with the same error texts.
//
// Thread safety
//   The free functions are pure and thread-safe; an AttrDecoder belongs to
//   one connection and one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/ipc/attr_format.h"
#include "lib/util/result.h"

namespace mailroom::ipc {

class AttrList;

enum class AttrType { kString, kInteger, kList };

// Returns "string", "integer" or "list" for error messages.
const char* attr_type_name(AttrType type);

struct Attr {
    std::string name;
    std::variant<std::string, std::int64_t, std::vector<Attr>> value;

    AttrType type() const { return static_cast<AttrType>(value.index()); }
};

// An ordered list of attributes. Adding does not check names or sizes; the
// encoder does, so a bad list cannot reach the wire.
class AttrList {
public:
    AttrList() = default;
    explicit AttrList(std::vector<Attr> attrs) : attrs_(std::move(attrs)) {}

    AttrList& add(std::string name, std::string value);
    AttrList& add(std::string name, const char* value) { return add(std::move(name), std::string(value)); }
    AttrList& add_int(std::string name, std::int64_t value);
    AttrList& add_list(std::string name, AttrList list);

    // The first attribute with this name, or nullptr.
    const Attr* find(std::string_view name) const;
    const std::vector<Attr>& attrs() const { return attrs_; }
    std::vector<Attr>& mutable_attrs() { return attrs_; }
    std::size_t size() const { return attrs_.size(); }
    bool empty() const { return attrs_.empty(); }

    friend bool operator==(const AttrList& a, const AttrList& b);

private:
    std::vector<Attr> attrs_;
};

bool operator==(const Attr& a, const Attr& b);

// True for 1..kMaxNameLength bytes of [a-z0-9_].
bool is_valid_attr_name(std::string_view name);

// Encodes one record. Fails on a bad or duplicate name, a string holding a
// NUL or longer than kMaxStringLength, too many attributes, too deep a
// nesting or a result longer than kMaxRecordBytes.
Result<std::string> encode_record(const AttrList& list);

// Decodes exactly one record from `bytes`: a truncated record, bytes left
// after it, and every format violation fail.
Result<AttrList> decode_record(std::string_view bytes);

// Incremental decoder. Usage:
//   AttrDecoder d;  size_t used;
//   switch (d.feed(bytes, &used)) { ... }   // bytes[used..] belong to later records
// After kRecord, take() returns the record and resets the decoder for the
// next one. After kError the decoder stays failed (error() says why) until
// reset(). Memory is bounded by kMaxRecordBytes.
class AttrDecoder {
public:
    enum class Step { kNeedMore, kRecord, kError };

    AttrDecoder();

    // Consumes bytes up to the end of the current record. `*consumed` is
    // set to the number of bytes used (all of them for kNeedMore).
    Step feed(std::string_view bytes, std::size_t* consumed);
    AttrList take();
    const Error& error() const { return error_; }
    bool failed() const { return failed_; }
    void reset();
    // Bytes of the current, unfinished record seen so far.
    std::size_t pending_bytes() const { return record_bytes_; }

private:
    enum class State { kName, kTag, kString, kInteger };
    struct Frame {
        std::vector<Attr> attrs;
        std::string name;  // the name of this list in its parent (unused at depth 0)
    };

    Step fail(std::string message);
    Step finish_attr(Attr attr);

    State state_ = State::kName;
    std::vector<Frame> stack_;
    std::string name_;
    std::string value_;
    std::size_t record_bytes_ = 0;
    AttrList done_;
    bool failed_ = false;
    Error error_;
};

// Strict access to decoded lists.
struct AttrSpec {
    std::string_view name;
    AttrType type;
    bool required = true;
};

// Fails on a missing required attribute, a wrong type, or (unless
// allow_unknown) a name not in `specs`. `what` names the record in errors
// ("cleanup request").
Status require_attrs(const AttrList& list, std::span<const AttrSpec> specs, std::string_view what,
                     bool allow_unknown = false);

// Typed lookups: missing or wrong type is an error naming the attribute.
Result<std::string> get_string(const AttrList& list, std::string_view name);
Result<std::int64_t> get_int(const AttrList& list, std::string_view name);
Result<AttrList> get_list(const AttrList& list, std::string_view name);

// Debug rendering: name=value pairs, nested lists in braces, strings made
// printable. For log lines and test failure messages.
std::string attr_list_to_string(const AttrList& list);

}  // namespace mailroom::ipc
