// authd_proto.h - the courier-authlib authdaemond protocol: requests and replies.
//
// Summary
//   Pure encoders and incremental decoders for both directions of the
//   protocol that courier's authdaemond speaks on its UNIX socket, so that
//   authd can serve courier's own clients (Cyrus SASL's authdaemond
//   pwcheck method, maildrop, courier-imap) and mailroom's servers can be
//   its clients. docs/auth.md describes the wire format in prose.
//
// Description
//   One request per connection; the server closes after its reply.
//   Requests (every line ends in LF):
//     PRE . SERVICE USER            user lookup ("." = any module; the
//                                   user is the rest of the line)
//     AUTH LEN                      LEN bytes follow:
//       SERVICE\nAUTHTYPE\nDATA     login:    DATA = "USER\nPASSWORD\n"
//                                   cram-md5, cram-sha1:
//                                   DATA = "CHALLENGE-B64\nRESPONSE-B64\n"
//     PASSWD SERVICE\tUSER\tOLD\tNEW
//     ENUMERATE
//   Newer courier clients put "NAME=VALUE" lines (TCPREMOTEIP=...) before
//   the command line; they are decoded into Request::meta.
//   Replies to PRE and AUTH: "NAME=VALUE" lines (USERNAME UID GID HOME
//   ADDRESS NAME MAILDIR QUOTA PASSWD PASSWD2 OPTIONS, in that order) then
//   ".", or the single line "FAIL". A temporary failure is a connection
//   closed with no reply. PASSWD gets "OK" or "FAIL". ENUMERATE gets
//   "NAME\tUID\tGID\tHOME\tMAILDIR\tOPTIONS" lines ("#" starts a comment)
//   and ".".
//
//   Bounds: a line is at most kMaxLine bytes, an AUTH body at most
//   kMaxAuthLength, a reply at most kMaxReply bytes (ENUMERATE
//   kMaxEnumerate); beyond them decoding fails.
//
// Thread safety
//   Pure functions; a decoder object is used by one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::auth {

inline constexpr std::size_t kMaxLine = 8192;
inline constexpr std::size_t kMaxAuthLength = 16384;
inline constexpr std::size_t kMaxMetaLines = 16;
inline constexpr std::size_t kMaxReply = 65536;
inline constexpr std::size_t kMaxEnumerate = 64 * 1024 * 1024;

// A user as authdaemond describes one.
struct AuthUser {
    std::string username;      // USERNAME: the system account to run as (may be empty)
    std::string address;       // ADDRESS: the login name / mail address
    std::string name;          // NAME: the full name
    std::string home;          // HOME
    std::string maildir;       // MAILDIR (empty: $HOME/Maildir)
    std::string quota;         // QUOTA: maildir quota ("1073741824S")
    std::string options;       // OPTIONS: "disableimap=1,..."
    std::string passwd;        // PASSWD: the crypted password (may be empty)
    std::string clear_passwd;  // PASSWD2: the clear-text password (may be empty)
    std::optional<uid_t> uid;  // UID
    std::optional<gid_t> gid;  // GID

    bool operator==(const AuthUser&) const = default;
};

enum class RequestType { kPre, kAuth, kPasswd, kEnumerate };

struct Request {
    RequestType type = RequestType::kPre;
    std::vector<std::pair<std::string, std::string>> meta;  // NAME=VALUE lines before the command
    std::string module = ".";  // PRE: the module asked, "." for any
    std::string service;       // PRE, AUTH, PASSWD
    std::string user;          // PRE, PASSWD
    std::string authtype;      // AUTH: "login", "cram-md5", "cram-sha1", ...
    std::string authdata;      // AUTH: everything after the authtype line
    std::string old_password;  // PASSWD
    std::string new_password;  // PASSWD

    bool operator==(const Request&) const = default;
};

// Builders for the common requests.
Request make_pre_request(std::string service, std::string user);
Request make_login_request(std::string service, std::string_view user, std::string_view password);
// challenge and response are the raw bytes; they travel base64-encoded.
Request make_cram_request(std::string service, std::string authtype, std::string_view challenge,
                          std::string_view response);

// AUTH login data "USER\nPASSWORD\n" -> {user, password}.
std::optional<std::pair<std::string, std::string>> parse_login_data(std::string_view authdata);
// AUTH cram-* data "CHALLENGE-B64\nRESPONSE-B64\n" -> decoded {challenge, response}.
std::optional<std::pair<std::string, std::string>> parse_cram_data(std::string_view authdata);

// The bytes of a request; an error when a field cannot travel (a line
// break inside one, a space in a PRE module or service, a tab in a PASSWD
// field, or beyond the bounds above).
Result<std::string> encode_request(const Request& request);

// Reads one request from a stream, fed in chunks of any size.
class RequestDecoder {
public:
    enum class Step { kNeedMore, kRequest, kError };

    // Consumes bytes up to the end of one request; *used says how many.
    // kRequest: take() has it (bytes after it are not consumed).
    Step feed(std::string_view bytes, std::size_t* used);
    Request take() { return std::move(request_); }
    const Error& error() const { return error_; }

private:
    Step fail(std::string message);
    Step command(std::string_view line);
    Step auth_body();

    std::string line_;
    std::string body_;
    std::size_t body_length_ = 0;
    bool in_body_ = false;
    bool done_ = false;
    Request request_;
    Error error_;
};

// A whole request: every byte must belong to it.
Result<Request> decode_request(std::string_view bytes);

// One entry of an ENUMERATE reply.
struct EnumEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
    std::string maildir;
    std::string options;

    bool operator==(const EnumEntry&) const = default;
};

struct Reply {
    enum class Kind {
        kUser,       // PRE/AUTH success: `user`
        kFail,       // "FAIL"
        kOk,         // PASSWD success
        kEnumerate,  // ENUMERATE: `entries`
        kTempFail,   // no reply: the server closes the connection
    };
    Kind kind = Kind::kFail;
    AuthUser user;
    std::vector<EnumEntry> entries;

    bool operator==(const Reply&) const = default;
};

// The bytes of a reply to a request of type `to` (kTempFail: none). NAME
// is cut at its first comma, as courier keeps only the first GECOS field.
// An error when a value holds a line break (or a tab, in ENUMERATE) or the
// kind does not answer `to`.
Result<std::string> encode_reply(RequestType to, const Reply& reply);

// Reads the reply to a request of type `to`. A connection that ends
// before the reply is complete is a temporary failure: the caller decides
// that at end of input (finish()).
class ReplyDecoder {
public:
    enum class Step { kNeedMore, kReply, kError };

    explicit ReplyDecoder(RequestType to) : to_(to) {}
    Step feed(std::string_view bytes, std::size_t* used);
    // At end of input: kReply with a kTempFail reply when nothing or only
    // part of a reply came (courier's temporary failure), else the step.
    Step finish();
    Reply take() { return std::move(reply_); }
    const Error& error() const { return error_; }

private:
    Step fail(std::string message);
    Step line(std::string_view text);

    RequestType to_;
    std::string line_;
    std::size_t total_ = 0;
    bool done_ = false;
    Reply reply_;
    Error error_;
};

// A whole reply: every byte must belong to it. An empty input, or one
// that stops before the end, is kTempFail.
Result<Reply> decode_reply(RequestType to, std::string_view bytes);

}  // namespace mailroom::auth
