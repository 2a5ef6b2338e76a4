// anvil_proto.h - the client -> anvil protocol (connection counts and
// request rates), defined once.
//
// Summary
//   anvil keeps, per ident "service:client_address", the number of
//   simultaneous connections and the connection, message and recipient
//   rates over anvil_rate_time_unit. smtpd tells it about each event and
//   compares the answer with its limits. docs/anvil-protocol.md is the
//   prose specification.
//
// Description
//   On queue_directory/private/anvil, one long-lived connection per client
//   process:
//     anvil  -> client  announcement (protocol=anvil_protocol, version=1)
//     client -> anvil   request: request (string), ident (string)
//     anvil  -> client  reply:   status (integer, 0 = ok) and, by request,
//                                count, rate, mail, rcpt (integers)
//   repeated until the client closes. Requests may be pipelined; replies
//   come in request order. Connections a client registered and did not
//   disconnect are dropped when its connection to anvil closes.
//
//   Requests and their replies:
//     connect     status, count, rate   (count includes this connection)
//     disconnect  status
//     message     status, rate          (message rate, this one included)
//     recipient   status, rate          (recipient rate, this one included)
//     lookup      status, count, rate, mail, rcpt (changes nothing)
//
//   All functions here are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/ipc/attr.h"
#include "lib/util/result.h"

namespace mailroom::anvil {

// The master.cf service name (private/anvil).
inline constexpr std::string_view kServiceName = "anvil";

enum class RequestType { kConnect, kDisconnect, kMessage, kRecipient, kLookup };

// Request names (the only place they are spelled).
inline constexpr std::string_view kRequestConnect = "connect";
inline constexpr std::string_view kRequestDisconnect = "disconnect";
inline constexpr std::string_view kRequestMessage = "message";
inline constexpr std::string_view kRequestRecipient = "recipient";
inline constexpr std::string_view kRequestLookup = "lookup";

// Attribute names.
inline constexpr std::string_view kAttrRequest = "request";
inline constexpr std::string_view kAttrIdent = "ident";
inline constexpr std::string_view kAttrStatus = "status";
inline constexpr std::string_view kAttrCount = "count";
inline constexpr std::string_view kAttrRate = "rate";
inline constexpr std::string_view kAttrMail = "mail";
inline constexpr std::string_view kAttrRcpt = "rcpt";

inline constexpr std::int64_t kStatusOk = 0;
inline constexpr std::int64_t kStatusFail = 1;

// The longest ident anvil accepts (a service name, ':', an address).
inline constexpr std::size_t kMaxIdentLength = 512;

std::string_view request_name(RequestType type);
std::optional<RequestType> request_type(std::string_view name);

// "service:address", made printable ('?' for control bytes) as Postfix does.
std::string make_ident(std::string_view service, std::string_view address);

struct Request {
    RequestType type = RequestType::kLookup;
    std::string ident;
};

struct Reply {
    std::int64_t status = kStatusOk;
    std::int64_t count = 0;  // connect, lookup
    std::int64_t rate = 0;   // connect (connections), message, recipient, lookup (connections)
    std::int64_t mail = 0;   // lookup
    std::int64_t rcpt = 0;   // lookup
};

ipc::AttrList encode_request(const Request& request);
// Fails on a missing or unknown request, a missing ident, an ident longer
// than kMaxIdentLength, or an attribute the protocol does not know. An
// unknown request name is kept apart: `*unknown` receives it (the server
// answers kStatusFail and goes on).
Result<Request> decode_request(const ipc::AttrList& record, std::string* unknown = nullptr);

// The reply carries exactly the attributes of its request type.
ipc::AttrList encode_reply(RequestType type, const Reply& reply);
// A failed status may come without the other attributes.
Result<Reply> decode_reply(RequestType type, const ipc::AttrList& record);

}  // namespace mailroom::anvil
