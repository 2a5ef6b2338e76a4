// result.h - value-or-error returns for every fallible call at a boundary.
//
// Summary
//   Result<T> holds either a T or an Error; Status is Result<void>. Both are
//   [[nodiscard]] so a caller cannot silently drop a failure. Errors carry a
//   human-readable message (already naming the file/line or peer when the
//   producer knows it) and a kind that tells a temporary failure (try again
//   later) from a permanent one. A caller that must choose by cause reads
//   sys_errno (the errno of the failed system call) or code (a cause the
//   producer names, such as a corrupt queue file), never the message text,
//   which is for people and whose strerror() wording varies by C library.
//
// Description
//   No exceptions cross a module boundary: parsers, file access, tables and
//   peers return these. Access to value() on an error, or error() on a value,
//   is a broken invariant and aborts.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mailroom {

enum class ErrorKind {
    kPermanent,  // bad input, bad configuration: retrying will not help
    kTemporary,  // resource or peer unavailable: try again later
};

// Causes a caller acts on that are not an errno value.
enum class ErrorCode : std::uint8_t {
    kNone,         // the kind (and sys_errno, if set) is all there is
    kCorruptFile,  // a queue file failed its checks (lib/queue/queue_file.h)
    kOverQuota,    // a mailbox quota would be exceeded (virtual_mailbox_limit, maildirsize)
    kNonExistent,    // the named mail folder does not exist (IMAP [NONEXISTENT])
    kAlreadyExists,  // the named mail folder exists already (IMAP [ALREADYEXISTS])
    kCannot,         // the operation can never be done on that object (IMAP [CANNOT])
    kLimit,          // a store limit such as keywords per folder (IMAP [LIMIT])
    kExpunged,       // the message was expunged by another session (IMAP [EXPUNGEISSUED])
};

struct Error {
    std::string message;
    ErrorKind kind = ErrorKind::kPermanent;
    int sys_errno = 0;  // errno of the failed system call; 0 when none
    ErrorCode code = ErrorCode::kNone;

    bool temporary() const { return kind == ErrorKind::kTemporary; }
    bool is(ErrorCode c) const { return code == c; }
    // The same error with `prefix` put before its message (kind, errno and
    // code kept), for callers that add context.
    Error prefixed(std::string_view prefix) const {
        Error e = *this;
        e.message.insert(0, prefix);
        return e;
    }
};

inline Error make_error(std::string message) { return Error{std::move(message), ErrorKind::kPermanent}; }
inline Error make_temp_error(std::string message) { return Error{std::move(message), ErrorKind::kTemporary}; }
// An error from a failed system call: its errno travels with the text.
inline Error make_sys_error(std::string message, int err, ErrorKind kind = ErrorKind::kPermanent) {
    return Error{std::move(message), kind, err};
}
inline Error make_coded_error(ErrorCode code, std::string message, ErrorKind kind = ErrorKind::kPermanent) {
    return Error{std::move(message), kind, 0, code};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        if (!ok()) std::abort();
        return std::get<0>(v_);
    }
    const T& value() const& {
        if (!ok()) std::abort();
        return std::get<0>(v_);
    }
    T&& value() && {
        if (!ok()) std::abort();
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const {
        if (ok()) std::abort();
        return std::get<1>(v_);
    }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : ok_(false), error_(std::move(error)) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const {
        if (ok_) std::abort();
        return error_;
    }

private:
    bool ok_ = true;
    Error error_;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace mailroom
